"""A sync handler that mints inside ``@ajwt.refresh`` continues the family, and nothing leaks after it."""

from __future__ import annotations

import asyncio
from typing import Any

import flask
import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, MemoryStore
from tests.conftest import REFRESH_SECRET, SECRET


class SuspendingStore:
    """The memory store behind a real suspension, as a network store (Redis) behaves."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0.001)
            return await method(*args, **kwargs)

        return call


def _claims(refresh: str) -> dict[str, Any]:
    return jwt.decode(refresh, options={"verify_signature": False})


def _ajwt(template: str, *, finder: Any = None) -> ApoJWT:
    ajwt = ApoJWT(SECRET, iss="i", server_audience=["a"], template=template, store=SuspendingStore())  # type: ignore[arg-type]
    ajwt.config_refresh(REFRESH_SECRET, refresh_finder=finder)
    return ajwt


def test_flask_sync_view_rotates_within_the_family_and_does_not_leak() -> None:
    ajwt = _ajwt("flask")
    app = flask.Flask(__name__)

    @app.post("/refresh")
    @ajwt.refresh
    def refresh(refresh_data: dict[str, Any]) -> dict[str, Any]:
        _, new_refresh = ajwt.create_token(sub="alice", refresh_data=refresh_data)
        return {"refresh": new_refresh}

    @app.post("/check")
    @ajwt.refresh
    def check(refresh_data: dict[str, Any]) -> dict[str, Any]:
        return {"data": refresh_data}

    @app.post("/login")
    def login() -> dict[str, Any]:
        access, new_refresh = ajwt.create_token(sub="alice")
        return {"access": access, "refresh": new_refresh}

    client = app.test_client()
    _, old = ajwt.create_token(sub="alice", refresh_data={"u": 1})
    csrf = ajwt.csrf_token(old)
    client.set_cookie(ajwt.refresh_cookie_name, old)
    client.set_cookie(ajwt.refresh_csrf_cookie_name, csrf)
    response = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
    assert response.status_code == 200
    assert _claims(response.json["refresh"])["fam"] == _claims(old)["fam"]
    # a refresh that mints nothing, then a plain login on the same thread: a new family, a fresh token
    _, other = ajwt.create_token(sub="alice")
    client.set_cookie(ajwt.refresh_cookie_name, other)
    client.set_cookie(ajwt.refresh_csrf_cookie_name, ajwt.csrf_token(other))
    assert client.post("/check", headers={ajwt.csrf_header_name: ajwt.csrf_token(other)}).status_code == 200
    minted = client.post("/login").json
    assert _claims(minted["refresh"])["fam"] != _claims(old)["fam"]
    assert _claims(minted["access"])["fresh"] is True


@pytest.mark.parametrize("handler_kind", ["def", "async def"])
def test_fastapi_handler_with_refresh_finder_rotates_within_the_family(handler_kind: str) -> None:
    def finder(request: Request, **_: Any) -> str:
        return request.cookies.get("refresh_token", "")

    ajwt = _ajwt("fastapi", finder=finder)
    app = FastAPI()

    if handler_kind == "def":

        @app.post("/refresh")
        @ajwt.refresh
        def refresh(request: Request, refresh_data: dict[str, Any]) -> dict[str, Any]:
            return {"refresh": ajwt.create_token(sub="alice", refresh_data=refresh_data)[1]}

    else:

        @app.post("/refresh")
        @ajwt.refresh
        async def refresh(request: Request, refresh_data: dict[str, Any]) -> dict[str, Any]:
            return {"refresh": ajwt.create_token(sub="alice", refresh_data=refresh_data)[1]}

    _, old = ajwt.create_token(sub="alice", refresh_data={"u": 1})
    csrf = ajwt.csrf_token(old)
    with TestClient(app) as client:
        client.cookies.set(ajwt.refresh_cookie_name, old)
        client.cookies.set(ajwt.refresh_csrf_cookie_name, csrf)
        response = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
    assert response.status_code == 200, response.text
    assert _claims(response.json()["refresh"])["fam"] == _claims(old)["fam"]

"""fastapi_apojwt.testing: real tokens in one call, clients authenticated without a login."""

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from flask import Flask

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.testing import (
    auth_headers,
    authenticate,
    create_test_context,
    create_test_token,
    create_test_tokens,
    unauthenticate,
)
from tests.apps import build_app, make_ajwt
from tests.conftest import REFRESH_SECRET


def test_create_test_token_carries_what_was_asked() -> None:
    ajwt = make_ajwt()
    ctx = ajwt.decode(create_test_token(ajwt, sub="alice", permissions=["a", "b"], data={"k": 1}))
    assert (ctx.sub, ctx.permissions, ctx.data, ctx.fresh) == ("alice", ("a", "b"), {"k": 1}, True)
    assert ajwt.decode(create_test_token(ajwt, fresh=False)).fresh is False


def test_tokens_with_and_without_refresh() -> None:
    ajwt = make_ajwt()
    access, refresh = create_test_tokens(ajwt, sub="bob")
    assert refresh is None
    assert ajwt.decode(access).sub == "bob"
    ajwt.config_refresh(REFRESH_SECRET)
    access, refresh = create_test_tokens(ajwt, sub="bob", refresh_data={"r": 1})
    assert refresh is not None
    assert ajwt.decode(create_test_token(ajwt, sub="carol")).sub == "carol"  # the access token alone


def test_auth_headers() -> None:
    ajwt = make_ajwt()
    headers = auth_headers(ajwt, sub="dan", permissions=["x"])
    assert list(headers) == ["Authorization"]
    assert headers["Authorization"].startswith("Bearer ")
    assert ajwt.decode(headers["Authorization"][7:]).permissions == ("x",)


def test_authenticate_each_kind_of_client() -> None:
    ajwt = make_ajwt()
    starlette_client = TestClient(FastAPI())
    token = authenticate(starlette_client, ajwt, sub="eve")
    assert starlette_client.headers["Authorization"] == f"Bearer {token}"
    unauthenticate(starlette_client)
    assert "Authorization" not in starlette_client.headers

    with httpx.Client() as http_client:
        authenticate(http_client, ajwt, sub="eve")
        assert http_client.headers["Authorization"].startswith("Bearer ")

    flask_client = Flask(__name__).test_client()
    token = authenticate(flask_client, ajwt, sub="eve")
    assert flask_client.environ_base["HTTP_AUTHORIZATION"] == f"Bearer {token}"
    unauthenticate(flask_client)
    assert "HTTP_AUTHORIZATION" not in flask_client.environ_base

    with pytest.raises(TypeError, match="test clients"):
        authenticate(object(), ajwt)


def _cookie_app(ajwt: ApoJWT) -> FastAPI:
    """The shared test app, plus an unsafe route (the CSRF double submit applies to it)."""
    app = build_app(ajwt)

    @app.post("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write"))]) -> dict[str, str]:
        return {"sub": ctx.sub}

    return app


def test_authenticate_a_cookie_based_app_sets_the_cookie_and_the_csrf_pair() -> None:
    ajwt = make_ajwt(token_location="cookies")
    client = TestClient(_cookie_app(ajwt))
    assert client.get("/me").status_code == 401
    authenticate(client, ajwt, sub="carol", permissions=["orders:write"])
    assert "authorization" not in client.headers
    assert client.get("/me").json() == {"sub": "carol"}
    assert client.post("/orders").json() == {"sub": "carol"}  # unsafe method: the CSRF pair passes
    unauthenticate(client, ajwt)
    assert client.get("/me").status_code == 401
    assert client.post("/orders").status_code == 401


def test_create_test_context_is_a_real_verified_context_for_dependency_overrides() -> None:
    ajwt = make_ajwt()
    app = _cookie_app(ajwt)
    ctx = create_test_context(ajwt, sub="dora", permissions=["orders:write"], data={"team": "a"})
    assert (ctx.sub, ctx.permissions, ctx.data, ctx.fresh) == ("dora", ("orders:write",), {"team": "a"}, True)
    assert ctx.has_permission("orders:write")
    app.dependency_overrides[ajwt.permission("orders:write")] = lambda: ctx
    assert TestClient(app).post("/orders").json() == {"sub": "dora"}
    assert TestClient(app).get("/me").status_code == 401  # only the overridden guard is bypassed


def test_a_cookie_based_instance_says_where_the_token_travels_when_none_is_sent() -> None:
    response = TestClient(_cookie_app(make_ajwt(token_location="cookies"))).get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "access_token cookie" in response.json()["detail"]
    assert "Authorization" not in response.json()["detail"]

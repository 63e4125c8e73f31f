"""Helpers for the tests that run the example app: start it on Redis; log in, refresh, log out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from tests.conftest import REFRESH_SECRET, SECRET
from tests.servers import UvicornServer, uvicorn_server

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}


@dataclass
class Session:
    """The tokens of one login, as a browser would hold them."""

    access: str
    refresh: str
    csrf: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    @property
    def refresh_headers(self) -> dict[str, str]:
        return {"Cookie": f"refresh_token={self.refresh}; csrf_refresh_token={self.csrf}", "X-CSRF-Token": self.csrf}


def example_app_env(redis_url: str, *, mirror: bool, **extra: str) -> dict[str, str]:
    """The environment of ``example_app.main:app`` with its state in Redis at ``redis_url`` (``extra`` on top).

    ``mirror=False`` (``APOJWT_REDIS_MIRROR=0``): every check asks Redis, for tests of exact
    cross-instance semantics; ``True``: the default deployment, revocation checks from the mirror.
    """
    return {
        "APOJWT_SECRET": SECRET,
        "APOJWT_REFRESH_SECRET": REFRESH_SECRET,
        "APOJWT_REDIS_URL": redis_url,
        "APOJWT_REDIS_MIRROR": "1" if mirror else "0",
        **extra,
    }


@contextlib.contextmanager
def example_app_on_redis(redis_url: str, *, mirror: bool, **extra: str) -> Iterator[UvicornServer]:
    """``example_app.main:app`` under uvicorn with :func:`example_app_env`."""
    with uvicorn_server(**example_app_env(redis_url, mirror=mirror, **extra)) as server:
        yield server


def login(client: httpx.Client, user: str = "bob") -> Session:
    response = client.post("/auth/login", json={"username": user, "password": PASSWORDS[user]})
    client.cookies.clear()
    assert response.status_code == 200, response.text
    return Session(
        response.json()["access_token"], response.cookies["refresh_token"], response.cookies["csrf_refresh_token"]
    )


def refresh(client: httpx.Client, session: Session) -> httpx.Response:
    """POST /auth/refresh; on success ``session`` now holds the rotated tokens."""
    response = client.post("/auth/refresh", headers=session.refresh_headers)
    client.cookies.clear()
    if response.status_code == 200:
        session.access = response.json()["access_token"]
        session.refresh = response.cookies["refresh_token"]
        session.csrf = response.cookies["csrf_refresh_token"]
    return response


def logout(client: httpx.Client, session: Session) -> httpx.Response:
    response = client.post("/auth/logout", headers=session.refresh_headers)
    client.cookies.clear()
    return response


def me(client: httpx.Client, session: Session | None) -> httpx.Response:
    response = client.get("/me", headers=session.bearer if session else {})
    client.cookies.clear()
    return response

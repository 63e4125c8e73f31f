"""The example application under a real uvicorn process on 127.0.0.1, hit with httpx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import UvicornServer

pytestmark = pytest.mark.e2e

USERS = {
    "alice": ("alice-password", ["orders:read"]),
    "bob": ("bob-password", ["orders:read", "orders:write"]),
    "root": ("root-password", ["admin"]),
}


@pytest.fixture(scope="module")
def http(example_server: UvicornServer) -> Iterator[httpx.Client]:
    with example_server.client() as client:
        yield client


def login(http: httpx.Client, user: str) -> str:
    response = http.post("/auth/login", json={"username": user, "password": USERS[user][0]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] > 0
    token = body["access_token"]
    assert isinstance(token, str)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tokens(http: httpx.Client) -> dict[str, str]:
    return {user: login(http, user) for user in USERS}


def test_me(http: httpx.Client, tokens: dict[str, str]) -> None:
    for user, (_, permissions) in USERS.items():
        body = http.get("/me", headers=bearer(tokens[user])).json()
        assert body["sub"] == user
        assert body["permissions"] == permissions


def test_bad_credentials(http: httpx.Client) -> None:
    for payload in (
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": "alice-password"},
        {"username": "alice", "password": "bob-password"},
        {"username": "", "password": ""},
    ):
        response = http.post("/auth/login", json=payload)
        assert response.status_code == 401
        assert "access_token" not in response.text


def test_bad_credentials_401_carries_a_challenge(http: httpx.Client) -> None:
    response = http.post("/auth/login", json={"username": "alice", "password": "wrong"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"  # RFC 9110 §15.5.2


def test_oauth2_password_form(http: httpx.Client) -> None:
    form = {"grant_type": "password", "username": "bob", "password": "bob-password"}
    response = http.post("/auth/token", data=form)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["token_type"] == "bearer"
    token = response.json()["access_token"]
    assert http.get("/me", headers=bearer(token)).json()["sub"] == "bob"
    # RFC 6749 §5.2 errors, no longer FastAPI's 401 {"detail"} and 422.
    bad = http.post("/auth/token", data={**form, "password": "nope"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    assert bad.headers["cache-control"] == "no-store"
    other = http.post("/auth/token", data={"grant_type": "client_credentials"})
    assert other.status_code == 400
    assert other.json()["error"] == "unsupported_grant_type"
    missing = http.post("/auth/token", data={"username": "bob", "password": "bob-password"})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("user", "method", "path", "status"),
    [
        ("alice", "GET", "/orders", 200),
        ("alice", "POST", "/orders", 403),
        ("alice", "GET", "/admin", 403),
        ("bob", "GET", "/orders", 200),
        ("bob", "POST", "/orders", 201),
        ("bob", "GET", "/admin", 403),
        ("root", "GET", "/orders", 200),
        ("root", "POST", "/orders", 201),
        ("root", "GET", "/admin", 200),
    ],
)
def test_permissions(
    http: httpx.Client, tokens: dict[str, str], user: str, method: str, path: str, status: int
) -> None:
    kwargs: dict[str, Any] = {"json": {"item": "tea", "quantity": 1}} if method == "POST" else {}
    response = http.request(method, path, headers=bearer(tokens[user]), **kwargs)
    assert response.status_code == status, response.text
    if status == 403:
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="insufficient_scope"')
        assert "scope=" in challenge
        assert list(response.json()) == ["detail"]
    if method == "POST" and status == 201:
        assert response.json()["owner"] == user


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/me"), ("GET", "/orders"), ("POST", "/orders"), ("GET", "/admin")]
)
def test_no_token_is_401(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert list(response.json()) == ["detail"]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/me"), ("GET", "/orders"), ("POST", "/orders"), ("GET", "/admin")]
)
def test_bad_token_is_401(http: httpx.Client, tokens: dict[str, str], method: str, path: str) -> None:
    forged = tokens["alice"][:-4] + ("AAAA" if not tokens["alice"].endswith("AAAA") else "BBBB")
    for token in ("garbage", forged):
        response = http.request(method, path, headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        assert token not in response.text


def test_hostile_headers_never_500(http: httpx.Client) -> None:
    for headers in (
        {"Authorization": "Bearer " + "A" * 20000},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Cookie": "refresh_token=%%%; csrf_refresh_token=\x7f"},
    ):
        assert http.get("/orders", headers=headers).status_code < 500


def test_openapi_security_on_exactly_the_protected_routes(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    for path, method in (("/me", "get"), ("/orders", "get"), ("/orders", "post"), ("/admin", "get")):
        operation = schema["paths"][path][method]
        assert operation["security"], (path, method)
        assert "401" in operation["responses"]
    assert schema["paths"]["/orders"]["get"]["x-permissions"]["all_of"] == ["orders:read"]
    assert schema["paths"]["/admin"]["get"]["responses"]["403"]
    for path in ("/auth/login", "/auth/token", "/health"):
        for operation in schema["paths"].get(path, {}).values():
            assert "security" not in operation, path
    assert any(s.get("scheme") == "bearer" for s in schema["components"]["securitySchemes"].values())

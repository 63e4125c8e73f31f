"""fastapi_apojwt.oauth2 through FastAPI's TestClient: a token endpoint of its own, and the example app's."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.oauth2 import OAuth2Error, oauth2_error_handler, token_response
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


def token_app(*, register: bool = True) -> FastAPI:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    app = FastAPI()
    if register:
        app.add_exception_handler(OAuth2Error, oauth2_error_handler)

    @app.exception_handler(StarletteHTTPException)
    async def detail_handler(request: Any, exc: StarletteHTTPException) -> JSONResponse:
        # An app-wide HTTPException handler must not shadow the OAuth2Error one (the more specific class wins).
        return JSONResponse({"detail": exc.detail, "custom": True}, status_code=exc.status_code, headers=exc.headers)

    @app.post("/token")
    async def token(
        grant_type: Annotated[str | None, Form()] = None,
        username: Annotated[str | None, Form()] = None,
        password: Annotated[str | None, Form()] = None,
        client_id: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        if client_id == "unknown":
            raise OAuth2Error("invalid_client", "Unknown client.")
        if client_id == "quiet":
            raise OAuth2Error("invalid_client", "Unknown client.", status_code=400)
        if grant_type is None:
            raise OAuth2Error("invalid_request", "grant_type is missing.", uri="https://docs.example.com/token")
        if grant_type != "password":
            raise OAuth2Error("unsupported_grant_type")
        if (username, password) != ("alice", "alice-password"):
            raise OAuth2Error("invalid_grant", "Incorrect username or password.")
        access = ajwt.create_token(sub="alice", permissions=["orders:read"])
        return token_response(str(access), expires_in=900, refresh_token="opaque-refresh", scope=["orders:read"])

    @app.get("/boom")
    async def boom() -> None:
        raise HTTPException(418, "teapot")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(token_app())


def test_success(client: TestClient) -> None:
    response = client.post("/token", data={"grant_type": "password", "username": "alice", "password": "alice-password"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "orders:read"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("data", "status", "expected"),
    [
        (
            {"grant_type": "password", "username": "alice", "password": "nope"},
            400,
            {"error": "invalid_grant", "error_description": "Incorrect username or password."},
        ),
        ({"grant_type": "client_credentials"}, 400, {"error": "unsupported_grant_type"}),
        (
            {},
            400,
            {
                "error": "invalid_request",
                "error_description": "grant_type is missing.",
                "error_uri": "https://docs.example.com/token",
            },
        ),
        ({"client_id": "quiet"}, 400, {"error": "invalid_client", "error_description": "Unknown client."}),
        ({"client_id": "unknown"}, 401, {"error": "invalid_client", "error_description": "Unknown client."}),
    ],
)
def test_errors(client: TestClient, data: dict[str, str], status: int, expected: dict[str, str]) -> None:
    response = client.post("/token", data=data)
    assert response.status_code == status
    assert response.json() == expected
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    if status == 401:
        assert response.headers["www-authenticate"] == 'Basic realm="oauth2"'
    else:
        assert "www-authenticate" not in response.headers


def test_invalid_client_challenge_follows_the_clients_scheme(client: TestClient) -> None:
    basic = client.post("/token", data={"client_id": "unknown"}, auth=("unknown", "secret"))
    assert basic.headers["www-authenticate"] == 'Basic realm="oauth2"'
    other = client.post("/token", data={"client_id": "unknown"}, headers={"Authorization": "Bearer abc"})
    assert other.status_code == 401
    assert other.headers["www-authenticate"] == 'Bearer realm="oauth2"'


def test_other_http_exceptions_keep_their_handler(client: TestClient) -> None:
    assert client.get("/boom").json() == {"detail": "teapot", "custom": True}


def test_without_the_handler_status_and_headers_still_hold() -> None:
    """Unregistered, an OAuth2Error is an HTTPException: the app's handler renders it, status and headers kept."""
    client = TestClient(token_app(register=False))
    bad = client.post("/token", data={"grant_type": "password", "username": "alice", "password": "nope"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": "Incorrect username or password.", "custom": True}
    assert bad.headers["cache-control"] == "no-store"
    unknown = client.post("/token", data={"client_id": "unknown"})
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == 'Basic realm="oauth2"'


def test_plain_fastapi_default_handler_without_registration() -> None:
    app = FastAPI()

    @app.post("/token")
    async def token() -> None:
        raise OAuth2Error("unsupported_grant_type")

    response = TestClient(app).post("/token")
    assert response.status_code == 400
    assert response.json() == {"detail": "unsupported_grant_type"}
    assert response.headers["cache-control"] == "no-store"


def test_refresh_cookies_on_a_token_response() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ajwt.config_refresh(REFRESH_SECRET)
    app = FastAPI()

    @app.post("/token")
    async def token() -> JSONResponse:
        access, refresh = ajwt.create_token(sub="alice")
        response = token_response(access, expires_in=int(ajwt.exp_period))
        ajwt.set_refresh_cookies(response, refresh)
        return response

    response = TestClient(app).post("/token")
    assert response.status_code == 200
    assert "refresh_token" in response.cookies
    assert "csrf_refresh_token" in response.cookies
    assert "refresh_token" not in response.json()
    assert response.headers["cache-control"] == "no-store"


# -- the example app's /auth/token, in-process -------------------------------------------------


@pytest.fixture(scope="module")
def example() -> TestClient:
    from example_app.main import app

    return TestClient(app)


def password_grant(username: str = "bob", password: str = "bob-password", **extra: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password, **extra}


def test_example_token_success(example: TestClient) -> None:
    response = example.post("/auth/token", data=password_grant(scope=""))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "orders:read orders:write"
    assert body["expires_in"] > 0
    assert "refresh_token" not in body  # it stays in its HttpOnly cookie
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert "refresh_token" in response.cookies
    assert "csrf_refresh_token" in response.cookies
    me = example.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["sub"] == "bob"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (password_grant(password="nope"), "invalid_grant"),
        (password_grant(username="nobody"), "invalid_grant"),
        (password_grant(username="", password=""), "invalid_grant"),
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "abc"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "abc"}, "unsupported_grant_type"),
        ({"grant_type": "PASSWORD", "username": "bob", "password": "bob-password"}, "unsupported_grant_type"),
        ({"username": "bob", "password": "bob-password"}, "invalid_request"),  # grant_type missing
        ({"grant_type": "", "username": "bob", "password": "bob-password"}, "invalid_request"),
        ({"grant_type": "password", "username": "bob"}, "invalid_request"),
        ({"grant_type": "password", "password": "bob-password"}, "invalid_request"),
        ({}, "invalid_request"),
    ],
)
def test_example_token_errors(example: TestClient, data: dict[str, str], error: str) -> None:
    response = example.post("/auth/token", data=data)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error
    assert set(body) <= {"error", "error_description", "error_uri"}
    assert "access_token" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


FORM = "application/x-www-form-urlencoded"
GOOD_FORM = b"grant_type=password&username=bob&password=bob-password"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"grant_type": "password", "username": "bob", "password": "bob-password"}', "application/json"),
        (GOOD_FORM, None),  # no Content-Type at all
        (GOOD_FORM, "text/plain"),
        (
            b"--x\r\nContent-Disposition: form-data; name=username\r\n\r\nbob\r\n--x--\r\n",
            "multipart/form-data; boundary=x",
        ),
        (b"grant_type=password&grant_type=password&username=bob&password=bob-password", FORM),
        (b"grant_type=password&username=bob&username=alice&password=bob-password", FORM),
        (b"&".join(b"f%d=1" % i for i in range(50)), FORM),  # more fields than a token request has
        (b"username=" + b"a" * 10_000, FORM),  # a field larger than a token request needs
        (b"%%%&&&===\xff\xfe", FORM),
        (b"grant_type=password&username=%ff%fe&password=%00", FORM),
    ],
)
def test_example_token_never_answers_422(example: TestClient, content: bytes, content_type: str | None) -> None:
    """Whatever the body, the answer is an RFC 6749 error, never FastAPI's 422."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = example.post("/auth/token", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
    assert response.headers["cache-control"] == "no-store"


def test_example_charset_parameter_is_fine(example: TestClient) -> None:
    response = example.post(
        "/auth/token",
        content=b"grant_type=password&username=bob&password=bob-password",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 200


def test_example_login_401_carries_a_challenge(example: TestClient) -> None:
    response = example.post("/auth/login", json={"username": "bob", "password": "nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Incorrect username or password."}


def test_example_schema_documents_the_token_endpoint(example: TestClient) -> None:
    operation = example.get("/openapi.json").json()["paths"]["/auth/token"]["post"]
    assert set(operation["responses"]) == {"200", "400"}  # no 422: the form is read by the route
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["grant_type", "username", "password"]
    assert "security" not in operation


def test_init_app_registers_the_oauth2_error_handler() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    app = FastAPI()
    ajwt.init_app(app)

    @app.post("/token")
    async def token() -> None:
        raise OAuth2Error("invalid_grant", "Bad credentials.")

    response = TestClient(app).post("/token")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Bad credentials."}
    assert response.headers["cache-control"] == "no-store"

"""Every row of the contract's HTTP table, through the test client.

| request | status | notes |
| no token | 401 | WWW-Authenticate: Bearer |
| malformed, badly signed, expired, not yet valid, wrong iss/aud, wrong alg,
  wrong type, revoked | 401 | Bearer error="invalid_token"; the body says which, never the token |
| valid token lacking the permission | 403 | error="insufficient_scope" |
| anything at all in headers or cookies | never 500 |
"""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

import asyncio
import base64
import hashlib
import hmac
import json
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import (
    ApoJWT,
    ExpiredTokenError,
    ImmatureTokenError,
    InsufficientPermissionError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MalformedTokenError,
    MissingTokenError,
    RevokedTokenError,
    TokenContext,
    TokenTooLargeError,
    WrongTokenTypeError,
)
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(payload: dict[str, Any], *, alg: str = "HS256", secret: str = SECRET) -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
    signing_input = f"{b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def payload(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "alice",
        "perms": ["orders:read"],
        "data": {},
        "exp": int(NOW) + 900,
        "nbf": int(NOW),
        "iat": int(NOW),
        "iss": ISSUER,
        "aud": [AUDIENCE],
    }
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def ajwt(clock: Clock) -> ApoJWT:
    instance = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", clock=clock)
    instance.config_refresh(REFRESH_SECRET)
    return instance


@pytest.fixture(scope="module")
def client(ajwt: ApoJWT) -> TestClient:
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return {"sub": ctx.sub}

    @app.get("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, Any]:
        return {"sub": ctx.sub}

    @app.post("/orders")
    async def create(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write", "orders:read"))]) -> str:
        return ctx.sub

    @app.get("/open")
    async def open_route() -> str:
        return "ok"

    return TestClient(app)


def access(ajwt: ApoJWT, *perms: str, sub: str = "alice") -> str:
    token = ajwt.create_token(sub=sub, permissions=list(perms))[0]
    assert isinstance(token, str)
    return token


def check_401(response: Any, error: type, token: str | None = None, *, code: str | None = "invalid_token") -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"detail"}
    if error is WrongTokenTypeError:  # the message names the expected type
        assert body["detail"].startswith("Wrong token type")
    else:
        assert body["detail"] == error.message
    challenge = response.headers["www-authenticate"]
    if code is None:
        assert challenge == "Bearer"
    else:
        assert challenge.startswith(f'Bearer error="{code}", error_description="')
        assert "scope=" not in challenge
    if token and len(token) > 20:
        assert token not in response.text
        assert token not in json.dumps(dict(response.headers))
        assert token.rsplit(".", 1)[-1] not in response.text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- row 1: no token ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me", "/orders"])
def test_no_token(client: TestClient, path: str) -> None:
    check_401(client.get(path), MissingTokenError, code=None)


@pytest.mark.parametrize("value", ["Basic YWxpY2U6cGFzcw==", "Token abc", "Digest x", "Bearertoken"])
def test_another_scheme_counts_as_no_bearer_token(client: TestClient, value: str) -> None:
    check_401(client.get("/me", headers={"Authorization": value}), MissingTokenError, code=None)


def test_access_token_in_a_cookie_or_query_is_not_read(client: TestClient, ajwt: ApoJWT) -> None:
    token = access(ajwt)
    with TestClient(client.app, cookies={"access_token": token}) as cookie_client:
        check_401(cookie_client.get("/me"), MissingTokenError, token, code=None)
    check_401(client.get(f"/me?token={token}"), MissingTokenError, code=None)


def test_a_valid_token_passes(client: TestClient, ajwt: ApoJWT) -> None:
    token = access(ajwt, "orders:read")
    assert client.get("/me", headers=bearer(token)).json() == {"sub": "alice"}
    assert client.get("/orders", headers=bearer(token)).json() == {"sub": "alice"}
    # The scheme name is case-insensitive (RFC 7235).
    assert client.get("/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


# -- row 2: a token that cannot be accepted ----------------------------------------------------


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("garbage", MalformedTokenError),
        ("a.b", MalformedTokenError),
        ("a.b.c", MalformedTokenError),
        ("e30.e30.e30.e30.e30", MalformedTokenError),
        (forge(payload(), secret="another-secret-of-at-least-32-bytes!!"), InvalidSignatureError),
        (forge(payload(exp=int(NOW) - 1)), ExpiredTokenError),
        (forge(payload(nbf=int(NOW) + 60)), ImmatureTokenError),
        (forge(payload(iss="https://evil.test")), InvalidIssuerError),
        (forge(payload(aud=["https://other.test"])), InvalidAudienceError),
        (forge(payload(), alg="HS512"), InvalidAlgorithmError),
        (forge(payload(), alg="none"), InvalidAlgorithmError),
        (forge(payload(type="refresh")), WrongTokenTypeError),
        ("x" * 9000, TokenTooLargeError),
    ],
    ids=[
        "garbage",
        "two-segments",
        "bad-json",
        "jwe",
        "bad-signature",
        "expired",
        "not-yet-valid",
        "wrong-iss",
        "wrong-aud",
        "wrong-alg",
        "alg-none",
        "wrong-type",
        "oversize",
    ],
)
@pytest.mark.parametrize("path", ["/me", "/orders"])
def test_invalid_token(client: TestClient, token: str, error: type, path: str) -> None:
    response = client.get(path, headers=bearer(token))
    if error is MalformedTokenError and token.count(".") == 4:
        assert response.status_code == 401
        assert "JWE" in response.json()["detail"]
        return
    check_401(response, error, token)


def test_bearer_scheme_without_a_token(client: TestClient) -> None:
    response = client.get("/me", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_refresh_token_where_an_access_token_is_expected(client: TestClient, ajwt: ApoJWT) -> None:
    _, refresh = ajwt.create_token(sub="alice")
    response = client.get("/me", headers=bearer(refresh))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert refresh not in response.text


def test_revoked_token(client: TestClient, ajwt: ApoJWT) -> None:
    token = access(ajwt, "orders:read")
    assert client.get("/me", headers=bearer(token)).status_code == 200
    jti = ajwt.decode(token).jti
    assert jti is not None
    asyncio.run(ajwt.store.revoke_token(jti, ttl=900))
    check_401(client.get("/me", headers=bearer(token)), RevokedTokenError, token)
    check_401(client.get("/orders", headers=bearer(token)), RevokedTokenError, token)
    # Other tokens of the same subject are unaffected.
    assert client.get("/me", headers=bearer(access(ajwt))).status_code == 200


# -- row 3: valid but lacking the permission -------------------------------------------------


def test_lacking_the_permission(client: TestClient, ajwt: ApoJWT) -> None:
    token = access(ajwt, "something:else")
    response = client.get("/orders", headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == {"detail": InsufficientPermissionError.message}
    assert response.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", error_description="{InsufficientPermissionError.message}", '
        'scope="orders:read"'
    )
    assert token not in response.text


def test_lacking_one_of_several_permissions(client: TestClient, ajwt: ApoJWT) -> None:
    response = client.post("/orders", headers=bearer(access(ajwt, "orders:read")))
    assert response.status_code == 403
    assert response.headers["www-authenticate"].endswith('scope="orders:write orders:read"')
    assert client.post("/orders", headers=bearer(access(ajwt, "orders:read", "orders:write"))).status_code == 200
    assert client.post("/orders", headers=bearer(access(ajwt, "admin"))).status_code == 200


def test_authentication_comes_before_authorization(client: TestClient, ajwt: ApoJWT, clock: Clock) -> None:
    token = access(ajwt)  # no permissions at all, and about to expire
    clock.now += 1000
    try:
        check_401(client.get("/orders", headers=bearer(token)), ExpiredTokenError, token)
    finally:
        clock.now = NOW


def test_unprotected_routes_ignore_tokens(client: TestClient) -> None:
    assert client.get("/open", headers={"Authorization": "Bearer garbage"}).status_code == 200


# -- row 4: never a 500 -------------------------------------------------------------------------


HOSTILE_HEADERS: list[list[tuple[bytes, bytes]]] = [
    [(b"authorization", b"Bearer \xff\xfe\x00\x01")],
    [(b"authorization", b"Bearer " + "é".encode())],
    [(b"authorization", b"Bearer " + b"a" * 70_000)],
    [(b"authorization", b"Bearer a.b.c"), (b"authorization", b"Bearer d.e.f")],
    [(b"authorization", b"Bearer    ")],
    [(b"authorization", b"")],
    [(b"authorization", b" ")],
    [(b"authorization", b"Bearer e30.e30.e30")],
    [(b"authorization", b"Bearer W10.W10.W10")],
    [(b"authorization", b"Bearer bnVsbA.bnVsbA.e30")],
    [(b"authorization", b"Bearer " + b64(b'{"alg":"HS256"}').encode() + b"." + b64(b"1e999").encode() + b".e30")],
    [(b"authorization", b"Bearer " + b64(b"[" * 5000).encode() + b".e30.e30")],
    [(b"authorization", b"Bearer " + b64(b'{"alg":"HS256","kid":{"a":1}}').encode() + b".e30.e30")],
    [(b"cookie", b"access_token=\xff; refresh_token=\x00\x01; csrf_refresh_token=%%%")],
    [(b"cookie", b"=" * 5000)],
    [(b"cookie", b'a="unterminated; b=\\')],
]


@pytest.mark.parametrize("headers", HOSTILE_HEADERS)
@pytest.mark.parametrize("path", ["/me", "/orders"])
def test_never_a_500(client: TestClient, headers: list[tuple[bytes, bytes]], path: str) -> None:
    async def call() -> int:
        app = client.app
        messages: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)  # type: ignore[operator]
        start = next(m for m in messages if m["type"] == "http.response.start")
        return int(start["status"])

    status = asyncio.run(call())
    assert status in (400, 401, 403), status


def test_json_body_of_every_failure_is_detail_only(client: TestClient, ajwt: ApoJWT) -> None:
    for response in (
        client.get("/me"),
        client.get("/me", headers=bearer("garbage")),
        client.get("/orders", headers=bearer(access(ajwt))),
    ):
        assert response.headers["content-type"] == "application/json"
        assert list(response.json()) == ["detail"]
        assert isinstance(response.json()["detail"], str)

"""Shared tooling of the attack suite: a target app, token forging, and the rejection oracle.

Every attack test ends in :func:`Target.assert_rejected`, which checks the
rejection (status, RFC 6750 challenge, fixed JSON body, nothing echoed) and then
proves the same app still lets a genuine token through the same route, so no
rejection passes vacuously (e.g. because the route or the app is broken).
"""

# No `from __future__ import annotations`: the routes below close over a local `ajwt`
# and FastAPI must evaluate their annotations.
import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT
from tests.apps import build_app
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET

__all__ = [
    "AUDIENCE",
    "ISSUER",
    "REFRESH_SECRET",
    "SECRET",
    "Target",
    "b64url",
    "build_app",
    "forge",
    "forge_raw",
    "make_target",
    "raw_asgi",
    "valid_claims",
]

_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64url(data: bytes | str) -> str:
    """Unpadded base64url, as JWS uses."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def segment(obj: Any) -> str:
    """A JSON value as a base64url segment."""
    return b64url(json.dumps(obj, separators=(",", ":")))


def valid_claims(**overrides: Any) -> dict[str, Any]:
    """The claims of a genuine access token for the test issuer/audience; ``None`` removes a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "mallory",
        "perms": ["orders:read"],
        "data": {},
        "exp": now + 600,
        "nbf": now,
        "iat": now,
        "iss": ISSUER,
        "aud": [AUDIENCE],
        "jti": "attack-jti-" + str(now),
        "type": "access",
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign_hmac(signing_input: str, key: bytes | str, alg: str = "HS256") -> str:
    """An HMAC signature segment over ``signing_input``."""
    raw_key = key.encode() if isinstance(key, str) else key
    return b64url(hmac.new(raw_key, signing_input.encode("ascii"), _DIGESTS[alg]).digest())


def forge_raw(header_json: str, payload_json: str, key: bytes | str | None = SECRET, alg: str = "HS256") -> str:
    """A token from literal JSON texts (for duplicate members, odd numbers...), HMAC-signed or unsigned."""
    signing_input = b64url(header_json) + "." + b64url(payload_json)
    signature = sign_hmac(signing_input, key, alg) if key is not None else ""
    return signing_input + "." + signature


def forge(
    header: Mapping[str, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
    key: bytes | str | None = SECRET,
    alg: str = "HS256",
) -> str:
    """A token with any header and payload, signed by hand with HMAC (``key=None``: empty signature)."""
    head = {"alg": "HS256", "typ": "JWT"} if header is None else dict(header)
    body = valid_claims() if payload is None else dict(payload)
    return forge_raw(json.dumps(head), json.dumps(body), key, alg)


@dataclass
class Target:
    """An app under attack, a client for it and the genuine tokens that must keep working."""

    ajwt: ApoJWT
    app: FastAPI
    client: TestClient
    genuine: str
    genuine_admin: str
    genuine_refresh: str | None = None
    extra_secrets: list[str] = field(default_factory=list)

    def get(self, path: str = "/orders", token: str | None = None, headers: Mapping[str, str] | None = None) -> Any:
        """GET ``path`` with ``Authorization: Bearer <token>`` (or exactly ``headers``)."""
        sent: dict[str, str | bytes] = dict(headers or {})
        if token is not None:
            # UTF-8 bytes, so non-ASCII tokens reach the server instead of failing in the client.
            sent["Authorization"] = f"Bearer {token}".encode()
        return self.client.get(path, headers=sent)

    def assert_genuine_works(self, path: str = "/orders") -> None:
        """The control: the genuine token passes the same route on the same app."""
        token = self.genuine_admin if path == "/admin" else self.genuine
        response = self.get(path, token)
        assert response.status_code == 200, f"control failed: genuine token got {response.status_code}"
        assert response.json()["sub"] == "alice"

    def assert_rejected(
        self,
        token: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        path: str = "/orders",
        status: int = 401,
        error: str | None = "invalid_token",
    ) -> Any:
        """Assert the request is refused properly, then that a genuine token still passes."""
        response = self.get(path, token, headers)
        assert_refusal(response.status_code, response.headers, response.content, status=status, error=error)
        assert_not_echoed(token, response.headers, response.content)
        if headers:
            for value in headers.values():
                assert_not_echoed(value, response.headers, response.content)
        self.assert_genuine_works(path)
        return response


def assert_refusal(
    status_code: int, headers: Mapping[str, str], body: bytes, *, status: int, error: str | None
) -> None:
    """Status, RFC 6750 challenge and a fixed ``{"detail": str}`` body."""
    assert status_code == status, f"expected {status}, got {status_code}: {body[:200]!r}"
    challenge = headers.get("www-authenticate", "")
    if status in (400, 401, 403):
        assert challenge.startswith("Bearer"), f"missing RFC 6750 challenge: {challenge!r}"
        if error is None:
            assert challenge == "Bearer"
        else:
            assert f'error="{error}"' in challenge, challenge
    payload = json.loads(body)
    assert isinstance(payload, dict)
    assert set(payload) == {"detail"}
    assert isinstance(payload["detail"], str)


def assert_not_echoed(secret_text: str | None, headers: Mapping[str, str], body: bytes) -> None:
    """No part of the presented token (or header) longer than 8 characters comes back."""
    if not secret_text:
        return
    pieces = {secret_text, *secret_text.split(".")}
    haystacks = [body.decode("latin-1"), *(str(v) for v in headers.values())]
    for piece in pieces:
        if len(piece) <= 8:
            continue
        for haystack in haystacks:
            assert piece not in haystack, f"the response echoes part of the token: {piece[:20]!r}..."


def make_target(ajwt: ApoJWT | None = None, *, refresh: bool = False) -> Target:
    """The default target: HS256, issuer and audience set, admin permission ``admin``."""
    if ajwt is None:
        ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")
        if refresh:
            ajwt.config_refresh(REFRESH_SECRET)
    genuine_refresh: str | None = None
    minted = ajwt.create_token(sub="alice", permissions=["orders:read"])
    if isinstance(minted, tuple):
        genuine, genuine_refresh = minted
    else:
        genuine = minted
    admin = ajwt.create_token(sub="alice", permissions=["admin"])
    genuine_admin = admin[0] if isinstance(admin, tuple) else admin
    app = build_app(ajwt)
    return Target(ajwt, app, TestClient(app), genuine, genuine_admin, genuine_refresh)


def raw_asgi(
    app: Any, headers: Sequence[tuple[bytes, bytes]], path: str = "/orders", method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Call ``app`` with raw header bytes no HTTP client would send; return status, headers, body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 80),
    }
    messages: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    response_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start["headers"]}
    return int(start["status"]), response_headers, body

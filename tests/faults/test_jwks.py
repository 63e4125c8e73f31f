"""A JWKS issuer that is unreachable or serves garbage (``ApoJWT(jwks_url=...)``).

Expected behaviour (docs/security.md, "Faults"): a verifier that has no usable
key answers **503** with ``Retry-After`` (fail closed, never a 500, never a
200); garbage never replaces good keys, so once keys were fetched they keep
serving through an outage or a garbage phase (for ``max_stale``); a token
signed by a key the issuer does not publish is a 401; when the issuer comes
back the verifier recovers by itself.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.jwks import JWKSOptions
from tests.conftest import AUDIENCE, ISSUER
from tests.security.attack import build_app
from tests.security.keys import pem_private, rsa_private
from tests.servers import free_port


class Issuer(http.server.BaseHTTPRequestHandler):
    """Serves the JWKS document in whatever state the test puts it."""

    mode: ClassVar[str] = "good"
    document: ClassVar[bytes] = b""
    hits: ClassVar[int] = 0

    def do_GET(self) -> None:
        cls = type(self)
        cls.hits += 1
        body, status, content_type = self.answer(cls.mode, cls.document)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if cls.mode == "redirect":
            self.send_header("Location", "http://127.0.0.1:1/jwks.json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def answer(mode: str, document: bytes) -> tuple[bytes, int, str]:
        garbage: dict[str, tuple[bytes, int, str]] = {
            "good": (document, 200, "application/json"),
            "http-500": (b"oops", 500, "text/plain"),
            "http-404": (b"not found", 404, "text/plain"),
            "html": (b"<html><body>maintenance</body></html>", 200, "text/html"),
            "not-json": (b"{'keys': [", 200, "application/json"),
            "json-array": (b"[]", 200, "application/json"),
            "no-keys": (b'{"keys": []}', 200, "application/json"),
            "keys-not-list": (b'{"keys": {"kty": "RSA"}}', 200, "application/json"),
            "wrong-kty": (
                json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "x"}]}).encode(),
                200,
                "application/json",
            ),
            "bad-rsa": (
                json.dumps({"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB", "kid": "x"}]}).encode(),
                200,
                "application/json",
            ),
            "private-only-fields": (
                json.dumps({"keys": [{"kty": "RSA", "d": "AQAB", "kid": "x"}]}).encode(),
                200,
                "application/json",
            ),
            "huge": (b'{"keys": [' + b" " * (2 * 1024 * 1024) + b"]}", 200, "application/json"),
            "deep": (b'{"keys": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 200, "application/json"),
            "redirect": (b"", 302, "text/plain"),
        }
        return garbage[mode]

    def log_message(self, format: str, *args: Any) -> None:
        pass


GARBAGE = [
    "http-500",
    "http-404",
    "html",
    "not-json",
    "json-array",
    "no-keys",
    "keys-not-list",
    "wrong-kty",
    "bad-rsa",
    "private-only-fields",
    "huge",
    "deep",
    "redirect",
]


@pytest.fixture(scope="module")
def issuer_ajwt() -> ApoJWT:
    return ApoJWT(pem_private(rsa_private()), algorithm="RS256", iss=ISSUER, server_audience=[AUDIENCE])


@pytest.fixture
def jwks_url(issuer_ajwt: ApoJWT) -> Iterator[str]:
    Issuer.mode = "good"
    Issuer.hits = 0
    Issuer.document = json.dumps(issuer_ajwt.jwks()).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def verifier(url: str, **options: Any) -> tuple[ApoJWT, TestClient]:
    settings = {"retry_interval": 0, "refetch_interval": 0, "timeout": 2, **options}
    ajwt = ApoJWT(
        jwks_url=url, algorithm="RS256", iss=ISSUER, server_audience=[AUDIENCE], jwks_options=JWKSOptions(**settings)
    )
    return ajwt, TestClient(build_app(ajwt))


def get(client: TestClient, token: str) -> Any:
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers.get("retry-after")
    assert set(response.json()) == {"detail"}


def test_issuer_unreachable_then_recovers(issuer_ajwt: ApoJWT) -> None:
    """Nothing listens at the JWKS URL: 503 (fail closed); once the issuer is up, 200 without a restart."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    _, client = verifier(url)
    token = issuer_ajwt.create_token(sub="alice", permissions=["orders:read"])
    assert_unavailable(get(client, token))
    assert_unavailable(get(client, token))

    Issuer.mode = "good"
    Issuer.document = json.dumps(issuer_ajwt.jwks()).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert get(client, token).status_code == 200
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", GARBAGE)
def test_issuer_serving_garbage_before_any_key(issuer_ajwt: ApoJWT, jwks_url: str, mode: str) -> None:
    """Garbage from the start: 503, never 500 and never 200; good keys later: 200."""
    Issuer.mode = mode
    _, client = verifier(jwks_url)
    token = issuer_ajwt.create_token(sub="alice", permissions=["orders:read"])
    assert_unavailable(get(client, token))
    Issuer.mode = "good"
    assert get(client, token).status_code == 200


@pytest.mark.parametrize("mode", [*GARBAGE, "down"])
def test_garbage_never_replaces_good_keys(issuer_ajwt: ApoJWT, jwks_url: str, mode: str) -> None:
    """Keys fetched once keep serving through garbage or an outage (cache_ttl=0 forces a refetch per request)."""
    _, client = verifier(jwks_url, cache_ttl=0)
    token = issuer_ajwt.create_token(sub="alice", permissions=["orders:read"])
    assert get(client, token).status_code == 200
    if mode == "down":
        Issuer.mode = "http-500"
    else:
        Issuer.mode = mode
    before = Issuer.hits
    assert get(client, token).status_code == 200
    assert Issuer.hits > before  # it really refetched, and kept the good keys
    forged = ApoJWT(pem_private(_other_rsa()), algorithm="RS256", iss=ISSUER, server_audience=[AUDIENCE])
    response = get(client, forged.create_token(sub="mallory", permissions=["admin"]))
    assert response.status_code == 401  # an unknown key is refused, garbage or not
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_stale_keys_expire_after_max_stale(issuer_ajwt: ApoJWT, jwks_url: str) -> None:
    """Cached keys serve through an outage for ``max_stale`` past ``cache_ttl``, then the verifier fails closed."""
    ajwt, client = verifier(jwks_url, cache_ttl=10, max_stale=10)
    source: Any = ajwt.key_source
    now = [1000.0]
    source.clock = lambda: now[0]
    token = issuer_ajwt.create_token(sub="alice", permissions=["orders:read"])
    assert get(client, token).status_code == 200
    Issuer.mode = "http-500"
    now[0] += 15  # past cache_ttl, within max_stale: the refetch fails, the cached keys keep serving
    assert get(client, token).status_code == 200
    now[0] += 10  # past cache_ttl + max_stale
    assert_unavailable(get(client, token))
    Issuer.mode = "good"
    assert get(client, token).status_code == 200  # back by itself


def test_unknown_kid_flood_is_rate_limited(issuer_ajwt: ApoJWT, jwks_url: str) -> None:
    """Forged ``kid`` values cannot make the verifier hammer the issuer (refetch_interval)."""
    _, client = verifier(jwks_url, refetch_interval=3600)
    token = issuer_ajwt.create_token(sub="alice", permissions=["orders:read"])
    assert get(client, token).status_code == 200
    forged = ApoJWT(pem_private(_other_rsa()), algorithm="RS256", iss=ISSUER, server_audience=[AUDIENCE])
    before = Issuer.hits
    for _ in range(20):
        assert get(client, forged.create_token(sub="mallory", permissions=["admin"])).status_code == 401
    assert Issuer.hits - before <= 1


def _other_rsa() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    global _OTHER
    if _OTHER is None:
        _OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _OTHER


_OTHER: Any = None


def test_zero_cache_ttl_and_zero_max_stale_with_a_healthy_issuer(issuer_ajwt: ApoJWT, jwks_url: str) -> None:
    """Regression: ``cache_ttl=0, max_stale=0`` dropped the keys right after each successful fetch (503 forever)."""
    _, client = verifier(jwks_url, cache_ttl=0, max_stale=0)
    token = issuer_ajwt.create_token(sub="alice", permissions=["orders:read"])
    for _ in range(3):
        assert get(client, token).status_code == 200
    Issuer.mode = "http-500"
    assert_unavailable(get(client, token))  # and with the issuer failing it fails closed at once

"""The JWKS consumer against a real HTTP issuer (uvicorn on 127.0.0.1) that counts its fetches.

Time is a fake monotonic clock set on the client, so TTLs and rate limits are
exercised without sleeping. No ``from __future__ import annotations``: routes
are declared inside functions.
"""

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import (
    ApoJWT,
    JWKSOptions,
    RemoteJWKS,
    ServiceUnavailableError,
    SigningUnavailableError,
    TokenContext,
    UnknownKeyError,
)
from tests.keypairs import private_key, private_pem
from tests.servers import UvicornServer, free_port, uvicorn_server

ISSUER = "https://auth.test"
AUDIENCE = "https://api.test"


class Issuer:
    """The JWK set file the test server serves, plus the fetch counter."""

    def __init__(self, server: UvicornServer, path: Path) -> None:
        self.server = server
        self.path = path
        self.url = server.url + "/.well-known/jwks.json"

    def publish(self, *signers: ApoJWT) -> None:
        self.path.write_text(json.dumps({"keys": [k for s in signers for k in s.jwks()["keys"]]}))

    def serve_raw(self, text: str) -> None:
        self.path.write_text(text)

    def count(self) -> int:
        return int(httpx.get(self.server.url + "/count").json()["count"])


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text('{"keys": []}')
    with uvicorn_server("tests.e2e.jwks_app:app", JWKS_FILE=str(path)) as server:
        yield Issuer(server, path)


def signer(index: int, name: str = "EdDSA") -> ApoJWT:
    alg = "EdDSA" if name == "EdDSA" else name
    return ApoJWT(private_pem(name, index), algorithm=alg, iss=ISSUER, server_audience=[AUDIENCE])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(url: str, clock: Clock, **options: Any) -> tuple[ApoJWT, RemoteJWKS]:
    settings = {"cache_ttl": 300.0, "refetch_interval": 30.0, "retry_interval": 2.0, **options}
    ajwt = ApoJWT(jwks_url=url, iss=ISSUER, server_audience=[AUDIENCE], jwks_options=JWKSOptions(**settings))
    source = ajwt.key_source
    assert isinstance(source, RemoteJWKS)
    source.clock = clock
    return ajwt, source


def forged(kid: str | None = None) -> str:
    """A well-formed EdDSA token under an attacker's key, naming a random kid."""
    claims = {"sub": "mallory", "perms": ["admin"], "iss": ISSUER, "aud": [AUDIENCE], "type": "access"}
    claims.update(iat=2_000_000_000 - 10**9, exp=2_000_000_000 + 10**9)
    header = {"kid": kid or secrets.token_urlsafe(8)}
    return jwt.encode(claims, private_key("EdDSA", 99), algorithm="EdDSA", headers=header)


def app_for(ajwt: ApoJWT) -> TestClient:
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
        return {"sub": ctx.sub}

    return TestClient(app)


# -- lazy start, TTL ------------------------------------------------------------------------


async def test_lazy_first_fetch_then_cached_for_the_ttl(issuer: Issuer) -> None:
    one = signer(1)
    issuer.publish(one)
    before = issuer.count()
    clock = Clock()
    ajwt, source = verifier(issuer.url, clock)
    assert issuer.count() == before  # construction fetched nothing
    token = one.create_token(sub="alice")
    for _ in range(5):
        assert (await ajwt.verify(token)).sub == "alice"
    assert issuer.count() == before + 1
    assert source.fetches == 1
    clock.now += 301  # the TTL passed: the next request refetches once
    for _ in range(3):
        assert (await ajwt.verify(token)).sub == "alice"
    assert issuer.count() == before + 2


# -- unknown kid: one refetch per interval, coalesced ----------------------------------------


async def test_flood_of_unknown_kids_is_rate_limited(issuer: Issuer) -> None:
    issuer.publish(signer(1))
    clock = Clock()
    ajwt, _ = verifier(issuer.url, clock)
    before = issuer.count()
    for _ in range(100):
        with pytest.raises(UnknownKeyError):
            await ajwt.verify(forged())
    # The first use fetched the set, the first unknown kid refetched it; nothing more.
    assert issuer.count() - before == 2
    clock.now += 31  # one more refetch allowed per interval
    for _ in range(50):
        with pytest.raises(UnknownKeyError):
            await ajwt.verify(forged())
    assert issuer.count() - before == 3


async def test_concurrent_refetches_share_one_request(issuer: Issuer) -> None:
    issuer.publish(signer(1))
    clock = Clock()
    ajwt, _ = verifier(issuer.url, clock)
    before = issuer.count()
    results = await asyncio.gather(*(ajwt.verify(forged()) for _ in range(200)), return_exceptions=True)
    assert all(isinstance(r, UnknownKeyError) for r in results)
    assert issuer.count() - before <= 2  # one initial fetch and one refetch, each shared by all 200


def test_flood_through_http_is_401_and_bounded(issuer: Issuer) -> None:
    one = signer(1)
    issuer.publish(one)
    ajwt, _ = verifier(issuer.url, Clock())
    client = app_for(ajwt)
    before = issuer.count()
    for _ in range(60):
        response = client.get("/me", headers={"Authorization": f"Bearer {forged()}"})
        assert response.status_code == 401
        assert response.json() == {"detail": "The token was signed with an unknown key."}
    assert client.get("/me", headers={"Authorization": f"Bearer {one.create_token(sub='a')}"}).status_code == 200
    assert issuer.count() - before == 2


# -- rotation -------------------------------------------------------------------------------


async def test_rotation_new_kid_is_fetched_old_kid_dropped_after_ttl(issuer: Issuer) -> None:
    old, new = signer(1), signer(2)
    issuer.publish(old)
    clock = Clock()
    ajwt, source = verifier(issuer.url, clock)
    old_token = old.create_token(sub="old")
    assert (await ajwt.verify(old_token)).sub == "old"
    issuer.publish(new, old)  # the issuer rotated: signs with new, still publishes old
    assert (await ajwt.verify(new.create_token(sub="new"))).sub == "new"  # unknown kid -> refetch
    assert (await ajwt.verify(old_token)).sub == "old"
    issuer.publish(new)  # the old key is retired
    assert (await ajwt.verify(old_token)).sub == "old"  # still cached...
    clock.now += 301
    with pytest.raises(UnknownKeyError):  # ...until the TTL refresh drops it
        await ajwt.verify(old_token)
    assert [k["kid"] for k in ajwt.jwks()["keys"]] == [k["kid"] for k in new.jwks()["keys"]]
    assert source.last_error is None


async def test_algorithm_switch_via_jwks(issuer: Issuer) -> None:
    """Each key brings its own algorithm: the issuer may move from RS256 to EdDSA."""
    rs, ed = signer(1, "RS256"), signer(3)
    issuer.publish(rs)
    ajwt, _ = verifier(issuer.url, Clock())
    assert (await ajwt.verify(rs.create_token(sub="rs"))).sub == "rs"
    issuer.publish(ed, rs)
    assert (await ajwt.verify(ed.create_token(sub="ed"))).sub == "ed"


# -- failures: keep the cached keys, fail closed without them --------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        "STATUS 500",
        "STATUS 404",
        "not json at all",
        '{"keys": "nope"}',
        '{"keys": [{"kty": "oct", "k": "AAAA"}]}',
        "[]",
    ],
)
async def test_cached_keys_keep_serving_when_the_issuer_breaks(issuer: Issuer, broken: str) -> None:
    one = signer(1)
    issuer.publish(one)
    clock = Clock()
    ajwt, source = verifier(issuer.url, clock)
    token = one.create_token(sub="alice")
    assert (await ajwt.verify(token)).sub == "alice"
    issuer.serve_raw(broken)
    clock.now += 301
    assert (await ajwt.verify(token)).sub == "alice"
    assert source.last_error is not None
    assert (await ajwt.verify(token)).sub == "alice"


async def test_oversized_answer_is_a_failed_fetch(issuer: Issuer) -> None:
    issuer.serve_raw('{"keys": [], "pad": "' + "x" * 5000 + '"}')
    ajwt, source = verifier(issuer.url, Clock(), max_bytes=1024)
    with pytest.raises(ServiceUnavailableError):
        await ajwt.verify(signer(1).create_token(sub="a"))
    assert source.last_error is not None
    assert "larger than 1024 bytes" in source.last_error


async def test_a_stalling_issuer_cannot_hold_a_fetch_beyond_the_timeout(issuer: Issuer) -> None:
    issuer.serve_raw("DRIP")
    clock = Clock()
    ajwt, source = verifier(issuer.url, clock, timeout=1)
    with pytest.raises(ServiceUnavailableError):
        await ajwt.verify(signer(1).create_token(sub="a"))
    assert source.last_error == "the answer took longer than 1 s"
    source.last_error = None
    clock.now += 2  # the retry interval
    with pytest.raises(ServiceUnavailableError):
        ajwt.decode(signer(1).create_token(sub="a"))  # the blocking path is bounded too
    assert source.last_error == "the answer took longer than 1 s"
    assert source.fetches == 2


async def test_issuer_down_keeps_cached_keys_then_max_stale_fails_closed(issuer: Issuer) -> None:
    one = signer(1)
    path = issuer.path.parent / "down.json"
    path.write_text(json.dumps(one.jwks()))
    clock = Clock()
    token = one.create_token(sub="alice")
    with uvicorn_server("tests.e2e.jwks_app:app", JWKS_FILE=str(path)) as server:
        ajwt, source = verifier(server.url + "/.well-known/jwks.json", clock, max_stale=600)
        assert (await ajwt.verify(token)).sub == "alice"
    clock.now += 301  # stale, and the issuer is gone
    assert (await ajwt.verify(token)).sub == "alice"
    assert source.last_error is not None
    assert "could not fetch" in source.last_error
    clock.now += 700  # beyond cache_ttl + max_stale without a successful fetch
    with pytest.raises(ServiceUnavailableError):
        await ajwt.verify(token)


async def test_no_key_at_all_is_503_and_retries_are_spaced(issuer: Issuer) -> None:
    clock = Clock()
    ajwt, source = verifier(f"http://127.0.0.1:{free_port()}/.well-known/jwks.json", clock, retry_interval=5)
    token = signer(1).create_token(sub="a")
    for _ in range(20):
        with pytest.raises(ServiceUnavailableError) as caught:
            await ajwt.verify(token)
    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "1"}
    assert source.fetches == 1  # one attempt, then the retry interval holds
    clock.now += 5
    with pytest.raises(ServiceUnavailableError):
        await ajwt.verify(token)
    assert source.fetches == 2


def test_no_key_is_503_never_500_over_http(issuer: Issuer) -> None:
    ajwt, _ = verifier(f"http://127.0.0.1:{free_port()}/.well-known/jwks.json", Clock())
    client = app_for(ajwt)
    for token in (signer(1).create_token(sub="a"), forged(), "garbage"):
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code in (401, 503)
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
            assert response.json() == {
                "detail": "The keys of the token issuer are not available right now; try again shortly."
            }


async def test_verifier_started_before_issuer(issuer: Issuer, tmp_path: Path) -> None:
    one = signer(1)
    path = tmp_path / "late.json"
    path.write_text(json.dumps(one.jwks()))
    port = free_port()
    clock = Clock()
    ajwt, _ = verifier(f"http://127.0.0.1:{port}/.well-known/jwks.json", clock)
    token = one.create_token(sub="alice")
    with pytest.raises(ServiceUnavailableError):
        await ajwt.verify(token)
    server = UvicornServer("tests.e2e.jwks_app:app", {"JWKS_FILE": str(path)}, port=port).start()
    try:
        clock.now += 2  # the retry interval
        assert (await ajwt.verify(token)).sub == "alice"
    finally:
        server.stop()


async def test_pinned_algorithm_ignores_other_keys_and_fails_closed(issuer: Issuer) -> None:
    issuer.publish(signer(1, "RS256"))
    ajwt = ApoJWT(jwks_url=issuer.url, algorithm="ES256", iss=ISSUER, server_audience=[AUDIENCE])
    with pytest.raises(ServiceUnavailableError):
        await ajwt.verify(signer(1, "RS256").create_token(sub="a"))
    assert "no usable key" in ajwt.key_source.last_error  # type: ignore[union-attr, operator]


# -- the blocking path (decode, Flask, the CLI) ------------------------------------------------


def test_decode_fetches_synchronously_with_the_same_limits(issuer: Issuer) -> None:
    old, new = signer(1), signer(2)
    issuer.publish(old)
    clock = Clock()
    ajwt, _ = verifier(issuer.url, clock)
    before = issuer.count()
    assert ajwt.decode(old.create_token(sub="a")).sub == "a"
    for _ in range(20):
        with pytest.raises(UnknownKeyError):
            ajwt.decode(forged())
    assert issuer.count() - before == 2
    issuer.publish(new, old)
    with pytest.raises(UnknownKeyError):  # the refetch budget of this interval is spent
        ajwt.decode(new.create_token(sub="b"))
    clock.now += 31
    assert ajwt.decode(new.create_token(sub="b")).sub == "b"


def test_decode_without_any_key_is_503() -> None:
    ajwt, _ = verifier(f"http://127.0.0.1:{free_port()}/jwks", Clock())
    with pytest.raises(ServiceUnavailableError):
        ajwt.decode(forged())


# -- the docs snippets (docs/examples/keys/) ------------------------------------------------------


@pytest.mark.parametrize("variant", ["_an", ""])
def test_docs_issuer_and_verifier(issuer: Issuer, variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.docs.test_examples_import import EXAMPLES, load_example

    issuer_module = load_example(EXAMPLES / "keys" / f"issuer{variant}.py")
    issuer_client = TestClient(issuer_module.app)
    published = issuer_client.get("/.well-known/jwks.json")
    assert published.status_code == 200
    assert published.headers["cache-control"] == "public, max-age=300"
    issuer.serve_raw(published.text)
    token = issuer_client.post("/login", params={"username": "alice"}).json()["access_token"]
    assert issuer_client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["sub"] == "alice"

    monkeypatch.setenv("JWKS_URL", issuer.url)
    verifier_module = load_example(EXAMPLES / "keys" / f"verifier{variant}.py")
    client = TestClient(verifier_module.app)
    response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"orders": [], "for": "alice"}
    assert client.get("/orders", headers={"Authorization": f"Bearer {forged()}"}).status_code == 401
    assert client.get("/orders").status_code == 401
    with pytest.raises(SigningUnavailableError):
        verifier_module.ajwt.create_token(sub="x")


def test_docs_rotation_public_key_and_options() -> None:
    from tests.docs.test_examples_import import EXAMPLES, load_example

    rotation = load_example(EXAMPLES / "keys" / "rotation.py")
    old = ApoJWT(
        private_pem("ES256", 1),
        algorithm="ES256",
        iss="https://auth.example.com",
        server_audience=["https://api.example.com"],
    )
    old_token = old.create_token(sub="old")
    new = rotation.make_issuer(private_pem("ES256", 2), private_pem("ES256", 1))
    assert new.decode(old_token).sub == "old"
    assert new.decode(new.create_token(sub="new")).sub == "new"
    assert len(new.jwks()["keys"]) == 2

    ed = ApoJWT(
        private_pem("EdDSA", 1),
        algorithm="EdDSA",
        iss="https://auth.example.com",
        server_audience=["https://api.example.com"],
    )
    from tests.keypairs import public_pem

    verifier = load_example(EXAMPLES / "keys" / "public_key.py").make_verifier(public_pem("EdDSA", 1))
    assert verifier.decode(ed.create_token(sub="a")).sub == "a"

    options = load_example(EXAMPLES / "keys" / "jwks_options.py")
    source = options.ajwt.key_source
    assert source.options.cache_ttl == 600
    assert source.algorithm == "RS256"


# -- https with a private CA ------------------------------------------------------------------------


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "apojwt test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_issuer(tmp_path: Path) -> Iterator[tuple[str, Path, ApoJWT]]:
    """The JWKS test app over https on 127.0.0.1, with a certificate from a private CA."""
    import os
    import subprocess
    import sys

    from tests.servers import ROOT, wait_for_port

    ca, certificate, key = _tls_files(tmp_path)
    one = signer(1)
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(one.jwks()))
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "tests.e2e.jwks_app:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--ssl-certfile", str(certificate), "--ssl-keyfile", str(key), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "JWKS_FILE": str(jwks_file)})
    try:
        wait_for_port(port, process=process)
        yield f"https://127.0.0.1:{port}/.well-known/jwks.json", ca, one
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_https_issuer_with_a_private_ca(tls_issuer: tuple[str, Path, ApoJWT]) -> None:
    url, ca, one = tls_issuer
    token = one.create_token(sub="alice")
    trusted, _ = verifier(url, Clock(), verify=str(ca))
    assert (await trusted.verify(token)).sub == "alice"
    stranger, source = verifier(url, Clock())  # the system CAs do not know this issuer
    with pytest.raises(ServiceUnavailableError):
        await stranger.verify(token)
    assert "ConnectError" in str(source.last_error)


async def test_key_urls_in_tokens_are_never_fetched(issuer: Issuer, tmp_path: Path) -> None:
    """jku / x5u / a URL-shaped kid point at an attacker's server: it never hears from the verifier."""
    issuer.publish(signer(1))
    attacker_keys = tmp_path / "attacker.json"
    attacker = ApoJWT(private_pem("EdDSA", 99), algorithm="EdDSA", iss=ISSUER, server_audience=[AUDIENCE])
    attacker_keys.write_text(json.dumps(attacker.jwks()))
    with uvicorn_server("tests.e2e.jwks_app:app", JWKS_FILE=str(attacker_keys)) as evil:
        evil_url = evil.url + "/.well-known/jwks.json"
        ajwt, _ = verifier(issuer.url, Clock())
        claims = jwt.decode(forged(), options={"verify_signature": False})
        kid = attacker.jwks()["keys"][0]["kid"]
        for header in ({"jku": evil_url, "kid": kid}, {"x5u": evil_url, "kid": kid}, {"kid": evil_url}):
            token = jwt.encode(claims, private_key("EdDSA", 99), algorithm="EdDSA", headers=header)
            with pytest.raises(UnknownKeyError):
                await ajwt.verify(token)
        assert Issuer(evil, attacker_keys).count() == 0

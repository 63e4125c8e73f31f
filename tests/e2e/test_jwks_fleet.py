"""A fleet on 127.0.0.1: the example issuer and two verifiers that know only its JWKS URL.

Real uvicorn processes. The verifiers start first (503 until the issuer is up).
The issuer signs with EdDSA keys read from files; it is stopped (the verifiers
keep verifying with cached keys), brought back with a rotated key (the
verifiers pick it up on the first token naming it), and the old key is finally
retired (the verifiers drop it after their cache TTL).
"""

from __future__ import annotations

import concurrent.futures
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from fastapi_apojwt import ApoJWT
from tests.keypairs import private_key, private_pem
from tests.servers import UvicornServer, free_port

pytestmark = pytest.mark.e2e

ISSUER = "https://auth.fleet.test"
AUDIENCE = "https://api.fleet.test"
COMMON = {"APOJWT_ISSUER": ISSUER, "APOJWT_AUDIENCE": AUDIENCE}


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``check`` until it holds (no assertion on how long it took)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


def status(server: UvicornServer, token: str, path: str = "/orders") -> int:
    return httpx.get(server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def login(issuer: UvicornServer, user: str) -> str:
    response = httpx.post(issuer.url + "/auth/login", json={"username": user, "password": f"{user}-password"})
    assert response.status_code == 200
    return str(response.json()["access_token"])


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for index in (1, 2):
        files[f"k{index}"] = tmp_path / f"k{index}.pem"
        files[f"k{index}"].write_text(private_pem("EdDSA", index))
    return files


@pytest.fixture
def fleet(keys: dict[str, Path]) -> Iterator[tuple[UvicornServer, list[UvicornServer]]]:
    """Two verifiers, started before their issuer (which the test starts)."""
    issuer = UvicornServer(
        "example_app.main:app",
        {**COMMON, "APOJWT_ALGORITHM": "EdDSA", "APOJWT_PRIVATE_KEY_FILE": str(keys["k1"])},
        port=free_port(),
    )
    verifiers: list[UvicornServer] = []
    try:
        for _ in range(2):
            verifiers.append(
                UvicornServer(
                    "example_app.verifier:app",
                    {
                        **COMMON,
                        "APOJWT_JWKS_URL": issuer.url + "/.well-known/jwks.json",
                        "APOJWT_JWKS_CACHE_TTL": "0.5",
                        "APOJWT_JWKS_REFETCH_INTERVAL": "0.5",
                        "APOJWT_JWKS_RETRY_INTERVAL": "0.2",
                    },
                ).start()
            )
        yield issuer, verifiers
    finally:
        for server in [*verifiers, issuer]:
            server.stop()


def test_fleet_rotation_and_issuer_outage(
    fleet: tuple[UvicornServer, list[UvicornServer]], keys: dict[str, Path]
) -> None:
    issuer, verifiers = fleet
    # The verifiers start before their issuer: no key yet, so 503 (and never 500), not 401.
    early = ApoJWT(private_pem("EdDSA", 1), algorithm="EdDSA", iss=ISSUER, server_audience=[AUDIENCE])
    early_token = early.create_token(sub="alice", permissions=["orders:read"])
    for verifier in verifiers:
        response = httpx.get(verifier.url + "/orders", headers={"Authorization": f"Bearer {early_token}"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
    issuer.start()
    for verifier in verifiers:
        eventually(lambda v=verifier: status(v, early_token) == 200)
    published = httpx.get(issuer.url + "/.well-known/jwks.json").json()["keys"]
    assert [k["alg"] for k in published] == ["EdDSA"]
    alice = login(issuer, "alice")
    assert kid_of(alice) == published[0]["kid"]

    # The verifiers hold no key: they fetch the issuer's JWKS on first use.
    for verifier in verifiers:
        assert status(verifier, alice) == 200
        assert status(verifier, alice, "/me") == 200
        assert status(verifier, login(issuer, "root")) == 200  # admin passes every permission
        assert status(verifier, "not-a-token") == 401
        assert status(verifier, alice[:-4] + "AAAA") == 401
    forged = ApoJWT(private_pem("EdDSA", 9), algorithm="EdDSA", iss=ISSUER, server_audience=[AUDIENCE])
    forged_token = forged.create_token(sub="mallory", permissions=["orders:read"])
    assert all(status(v, forged_token) == 401 for v in verifiers)

    # The issuer goes down: the verifiers keep verifying with their cached keys, past their TTL.
    issuer.stop()
    time.sleep(0.6)
    for verifier in verifiers:
        assert status(verifier, alice) == 200
        assert status(verifier, forged_token) == 401

    # It comes back with a rotated key, the old one still published.
    issuer.env.update(APOJWT_PRIVATE_KEY_FILE=str(keys["k2"]), APOJWT_PREVIOUS_KEY_FILES=str(keys["k1"]))
    issuer.start()
    bob = login(issuer, "bob")
    assert kid_of(bob) != kid_of(alice)
    for verifier in verifiers:
        eventually(lambda v=verifier: status(v, bob) == 200)
        assert status(verifier, alice) == 200
        assert set(httpx.get(verifier.url + "/health").json()["keys"]) == {kid_of(alice), kid_of(bob)}

    # The old key is retired: after their TTL the verifiers refuse tokens signed with it.
    issuer.stop()
    issuer.env.pop("APOJWT_PREVIOUS_KEY_FILES")
    issuer.start()
    for verifier in verifiers:
        eventually(lambda v=verifier: status(v, alice) == 401)
        assert status(verifier, bob) == 200


def test_flood_of_unknown_kids_barely_reaches_the_issuer(tmp_path: Path) -> None:
    """Hundreds of tokens naming made-up kids, concurrently, at two verifiers: a handful of JWKS fetches."""
    signer = ApoJWT(private_pem("ES256", 1), algorithm="ES256", iss=ISSUER, server_audience=[AUDIENCE])
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signer.jwks()))
    counting = UvicornServer("tests.e2e.jwks_app:app", {"JWKS_FILE": str(jwks_file)}).start()
    verifiers = [
        UvicornServer(
            "example_app.verifier:app", {**COMMON, "APOJWT_JWKS_URL": counting.url + "/.well-known/jwks.json"}
        ).start()
        for _ in range(2)
    ]
    try:
        valid = signer.create_token(sub="alice", permissions=["orders:read"])
        attacker = private_key("ES256", 8)
        claims = jwt.decode(valid, options={"verify_signature": False})
        tokens = [
            jwt.encode(claims, attacker, algorithm="ES256", headers={"kid": secrets.token_urlsafe(12)})
            for _ in range(300)
        ]

        def hit(index: int) -> int:
            return status(verifiers[index % 2], tokens[index])

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(hit, range(len(tokens))))
        assert set(codes) == {401}
        assert all(status(v, valid) == 200 for v in verifiers)
        fetches = httpx.get(counting.url + "/count").json()["count"]
        # Per verifier: the first fetch, then one refetch per 30 s interval, shared by concurrent requests.
        assert 2 <= fetches <= 4
    finally:
        for server in [*verifiers, counting]:
            server.stop()

"""Algorithm confusion through a JWK set (``ApoJWT(jwks_url=...)`` without a pinned algorithm).

Catalogue: RFC 8725 §3.1 (each key is used with one algorithm), RFC 7517 §4.4
(``alg``) and §4.2 (``use``); CVE-2022-29217 / CVE-2016-10555 through a JWKS;
jwt_tool ``-X k`` against key-set consumers.
"""

import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.jwks import JWKSOptions
from tests.faults.test_jwks import Issuer
from tests.security.attack import AUDIENCE, ISSUER, build_app, forge, valid_claims
from tests.security.keys import pem_private, pem_public, public_jwk, rsa_private

issuer = ApoJWT(pem_private(rsa_private()), algorithm="RS256", iss=ISSUER, server_audience=[AUDIENCE])
KID = issuer.jwks()["keys"][0]["kid"]
PEM = pem_public(rsa_private()).encode()
GENUINE = issuer.create_token(sub="alice", permissions=["orders:read"])
FORGED = {
    "hs256-keyed-with-pem": forge({"alg": "HS256", "kid": KID}, valid_claims(), key=PEM),
    "hs256-keyed-with-pem-no-kid": forge({"alg": "HS256"}, valid_claims(), key=PEM),
    "hs256-keyed-with-jwk-n": forge(
        {"alg": "HS256", "kid": KID}, valid_claims(), key=str(public_jwk(rsa_private(), "RS256")["n"])
    ),
    "alg-none": forge({"alg": "none", "kid": KID}, valid_claims(), key=None),
}


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str, entry: dict[str, Any]) -> TestClient:
    Issuer.mode = "good"
    Issuer.document = json.dumps({"keys": [entry]}).encode()
    verifier = ApoJWT(jwks_url=url, iss=ISSUER, server_audience=[AUDIENCE], jwks_options=JWKSOptions(retry_interval=0))
    return TestClient(build_app(verifier))


def status(client: TestClient, token: str) -> int:
    return client.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.parametrize("attack", list(FORGED))
def test_cve_2022_29217_through_jwks(url: str, attack: str) -> None:
    """An RS256 key from a JWKS never verifies an HMAC- or none-signed token; its own tokens pass (control)."""
    client = client_for(url, {**public_jwk(rsa_private(), "RS256"), "kid": KID, "alg": "RS256", "use": "sig"})
    assert status(client, FORGED[attack]) == 401
    assert status(client, GENUINE) == 200


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"alg": "HS256"}, id="rsa-key-labelled-hs256"),
        pytest.param({"alg": "none"}, id="rsa-key-labelled-none"),
        pytest.param({}, id="rsa-key-without-alg"),
        pytest.param({"alg": "RS256", "use": "enc"}, id="encryption-key"),
    ],
)
def test_rfc7517_jwks_entries_that_could_confuse(url: str, overrides: dict[str, Any]) -> None:
    """RFC 7517 §4.2/§4.4: keys labelled with a symmetric/none algorithm, no ``alg`` or ``use: enc`` verify nothing.

    With no usable key the verifier fails closed (503); nothing is ever a 200.
    """
    entry = {**public_jwk(rsa_private(), "RS256"), "kid": KID, **overrides}
    client = client_for(url, entry)
    for token in (*FORGED.values(), GENUINE):
        assert status(client, token) in (401, 503)

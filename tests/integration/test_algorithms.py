"""Every algorithm round-trips through a protected route; confusion, kid and embedded-key tricks fail with 401.

No ``from __future__ import annotations``: the routes are declared inside functions.
"""

import base64
import hashlib
import hmac
import json
from typing import Annotated, Any

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, TokenContext, UnknownKeyError
from fastapi_apojwt.keys import KeySet
from tests.keypairs import ASYMMETRIC, alg_of, private_key, private_pem, public_pem

ISSUER = "https://auth.test"
AUDIENCE = "https://api.test"


def _app(ajwt: ApoJWT) -> TestClient:
    app = FastAPI()

    @app.get("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, Any]:
        return {"sub": ctx.sub, "data": ctx.data}

    return TestClient(app)


def _status(client: TestClient, token: str) -> int:
    return client.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], key: Any, alg: str) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers=header)


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(__import__("time").time())
    claims = {"sub": "mallory", "perms": ["orders:read", "admin"], "data": {}, "type": "access"}
    claims.update(iat=now, nbf=now, exp=now + 300, iss=ISSUER, aud=[AUDIENCE])
    claims.update(extra)
    return claims


def _kw() -> dict[str, Any]:
    return {"iss": ISSUER, "server_audience": [AUDIENCE]}


@pytest.mark.parametrize("name", ASYMMETRIC)
@pytest.mark.parametrize("form", ["pem", "key-object"])
def test_round_trip_every_algorithm(name: str, form: str) -> None:
    alg = alg_of(name)
    material = private_pem(name) if form == "pem" else private_key(name)
    issuer = ApoJWT(material, algorithm=alg, **_kw())
    token = issuer.create_token(sub="alice", permissions=["orders:read"], data={"team": "a"})
    header = issuer.codec.split(token)[0]
    published = issuer.jwks()["keys"]
    assert header["alg"] == alg
    assert header["kid"] == published[0]["kid"]

    verifiers = {
        "issuer": issuer,
        "public-key": ApoJWT(public_key=public_pem(name), algorithm=alg, **_kw()),
        "jwks": ApoJWT(jwks=issuer.jwks(), **_kw()),
        "jwks-json-pinned": ApoJWT(jwks=json.dumps(issuer.jwks()), algorithm=alg, **_kw()),
    }
    for label, verifier in verifiers.items():
        response = _app(verifier).get("/orders", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, label
        assert response.json() == {"sub": "alice", "data": {"team": "a"}}
    # PyJWT agrees: the wire format is plain RFC 7519.
    decoded = jwt.decode(token, private_key(name).public_key(), algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)  # type: ignore[arg-type]
    assert decoded["sub"] == "alice"


@pytest.mark.parametrize("name", ["RS256", "ES256", "EdDSA"])
def test_other_keys_of_the_same_algorithm_fail(name: str) -> None:
    alg = alg_of(name)
    verifier = _app(ApoJWT(public_key=public_pem(name), algorithm=alg, **_kw()))
    other = ApoJWT(private_key(name, 7), algorithm=alg, **_kw())
    assert _status(verifier, other.create_token(sub="x", permissions=["orders:read"])) == 401


# -- algorithm confusion ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["RS256", "PS256", "ES256", "EdDSA"])
@pytest.mark.parametrize("hmac_alg", ["HS256", "HS512"])
def test_hmac_signed_with_the_public_key_pem_fails(name: str, hmac_alg: str) -> None:
    """The classic confusion: HS* keyed with the public key PEM the verifier itself holds."""
    verifier = _app(ApoJWT(public_key=public_pem(name), algorithm=alg_of(name), **_kw()))
    kid = ApoJWT(public_key=public_pem(name), algorithm=alg_of(name)).jwks()["keys"][0]["kid"]
    for header in ({"alg": hmac_alg}, {"alg": hmac_alg, "kid": kid}):
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_claims()).encode())
        digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[hmac_alg]
        signature = hmac.new(public_pem(name).encode(), signing_input.encode(), digest).digest()
        assert _status(verifier, signing_input + "." + _b64(signature)) == 401


def test_hmac_token_is_refused_by_a_jwks_verifier() -> None:
    issuer = ApoJWT(private_pem("RS256"), algorithm="RS256", **_kw())
    verifier = _app(ApoJWT(jwks=issuer.jwks(), **_kw()))  # algorithms come from the keys: never HS*
    kid = issuer.jwks()["keys"][0]["kid"]
    jwk_json = json.dumps(issuer.jwks()["keys"][0])
    for key in (public_pem("RS256"), jwk_json, "any-secret-at-all-32-bytes-long!!"):
        header = {"alg": "HS256", "kid": kid}
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_claims()).encode())
        signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
        assert _status(verifier, signing_input + "." + _b64(signature)) == 401


def test_key_used_only_with_its_own_algorithm_in_a_mixed_jwks() -> None:
    """A JWKS with an RSA (RS256) and an EC key: each verifies only its own algorithm."""
    rs = ApoJWT(private_pem("RS256"), algorithm="RS256", **_kw())
    es = ApoJWT(private_pem("ES256"), algorithm="ES256", **_kw())
    verifier = _app(ApoJWT(jwks={"keys": rs.jwks()["keys"] + es.jwks()["keys"]}, **_kw()))
    assert _status(verifier, rs.create_token(sub="a", permissions=["orders:read"])) == 200
    assert _status(verifier, es.create_token(sub="a", permissions=["orders:read"])) == 200
    rsa_kid = rs.jwks()["keys"][0]["kid"]
    # The right RSA key, the wrong RSA algorithm (PS256 / RS512): refused.
    for alg in ("PS256", "RS512"):
        assert _status(verifier, _forge({"kid": rsa_kid}, _claims(), private_key("RS256"), alg)) == 401
    # An EC signature labelled with the RSA key's kid: refused.
    assert _status(verifier, _forge({"kid": rsa_kid}, _claims(), private_key("ES256"), "ES256")) == 401


def test_alg_none_with_a_valid_kid_fails() -> None:
    issuer = ApoJWT(private_pem("EdDSA"), algorithm="EdDSA", **_kw())
    kid = issuer.jwks()["keys"][0]["kid"]
    token = _b64(json.dumps({"alg": "none", "kid": kid}).encode()) + "." + _b64(json.dumps(_claims()).encode()) + "."
    assert _status(_app(ApoJWT(jwks=issuer.jwks(), **_kw())), token) == 401


# -- kid and embedded keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "/dev/null",
        "http://attacker.example/jwks.json",
        "file:///etc/hostname",
        "' OR '1'='1",
        "kid\u0000",
        "x" * 5000,
        "",
    ],
)
def test_kid_only_selects_configured_keys(kid: str) -> None:
    issuer = ApoJWT(private_pem("ES256"), algorithm="ES256", **_kw())
    verifier = _app(ApoJWT(jwks=issuer.jwks(), **_kw()))
    attacker = private_key("ES256", 9)
    assert _status(verifier, _forge({"kid": kid}, _claims(), attacker, "ES256")) == 401


@pytest.mark.parametrize("kid", [7, None, ["a"], {"a": 1}, True])
def test_non_string_kid_is_a_401_not_a_500(kid: Any) -> None:
    issuer = ApoJWT(private_pem("ES256"), algorithm="ES256", **_kw())
    signing_input = _b64(json.dumps({"alg": "ES256", "kid": kid}).encode()) + "." + _b64(json.dumps(_claims()).encode())
    token = signing_input + "." + _b64(b"\x00" * 64)
    assert _status(_app(issuer), token) == 401


@pytest.mark.parametrize("embedded", ["jwk", "jku", "x5u", "x5c"])
def test_embedded_keys_are_ignored(embedded: str) -> None:
    issuer = ApoJWT(private_pem("RS256"), algorithm="RS256", **_kw())
    verifier = _app(ApoJWT(public_key=public_pem("RS256"), algorithm="RS256", **_kw()))
    attacker = private_key("RS256", 5)
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))  # type: ignore[arg-type]
    value = {
        "jwk": attacker_jwk,
        "jku": "http://127.0.0.1:1/jwks.json",
        "x5u": "http://127.0.0.1:1/cert.pem",
        "x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"],
    }[embedded]
    for header in ({embedded: value}, {embedded: value, "kid": issuer.jwks()["keys"][0]["kid"]}):
        assert _status(verifier, _forge(header, _claims(), attacker, "RS256")) == 401
    # ...and a genuine token carrying such a header still verifies with the configured key only.
    genuine = _forge(
        {embedded: value, "kid": issuer.jwks()["keys"][0]["kid"]}, _claims(), private_key("RS256"), "RS256"
    )
    assert _status(verifier, genuine) == 200


def test_crit_header_is_refused() -> None:
    issuer = ApoJWT(private_pem("EdDSA"), algorithm="EdDSA", **_kw())
    token = _forge({"crit": ["exp"], "kid": issuer.jwks()["keys"][0]["kid"]}, _claims(), private_key("EdDSA"), "EdDSA")
    assert _status(_app(issuer), token) == 401


# -- rotation --------------------------------------------------------------------------------


def test_rotation_old_tokens_verify_until_their_key_is_removed() -> None:
    old = ApoJWT(private_pem("EdDSA", 1), algorithm="EdDSA", **_kw())
    old_token = old.create_token(sub="a", permissions=["orders:read"])
    new = ApoJWT(private_pem("EdDSA", 2), algorithm="EdDSA", previous_keys=[public_pem("EdDSA", 1)], **_kw())
    new_token = new.create_token(sub="a", permissions=["orders:read"])
    assert old.codec.split(old_token)[0]["kid"] != new.codec.split(new_token)[0]["kid"]
    assert [k["kid"] for k in new.jwks()["keys"]] == [
        new.codec.split(new_token)[0]["kid"],
        old.codec.split(old_token)[0]["kid"],
    ]
    client = _app(new)
    assert _status(client, old_token) == 200
    assert _status(client, new_token) == 200
    # Verifiers that fetched the new set accept both...
    verifier = _app(ApoJWT(jwks=new.jwks(), **_kw()))
    assert _status(verifier, old_token) == 200
    assert _status(verifier, new_token) == 200
    # ...until the old key is dropped.
    done = _app(ApoJWT(private_pem("EdDSA", 2), algorithm="EdDSA", **_kw()))
    assert _status(done, old_token) == 401
    assert _status(done, new_token) == 200


def test_rotation_of_hmac_secrets_with_kidless_tokens() -> None:
    """Tokens minted before the rotation carry no kid: every configured secret is tried."""
    first = ApoJWT("first-secret-with-at-least-32-bytes!!", **_kw())
    old_token = first.create_token(sub="a", permissions=["orders:read"])
    second = ApoJWT(
        "second-secret-with-at-least-32-bytes!", previous_keys=["first-secret-with-at-least-32-bytes!!"], **_kw()
    )
    client = _app(second)
    assert _status(client, old_token) == 200
    assert _status(client, second.create_token(sub="b", permissions=["orders:read"])) == 200
    assert _status(client, _forge({}, _claims(), b"third-secret-with-at-least-32-bytes!!", "HS256")) == 401


def test_rotation_with_named_kids() -> None:
    v1 = ApoJWT(private_pem("ES256", 1), algorithm="ES256", kid="2025-01", **_kw())
    v2 = ApoJWT(
        private_pem("ES256", 2),
        algorithm="ES256",
        kid="2025-02",
        previous_keys={"2025-01": private_pem("ES256", 1)},
        **_kw(),
    )
    assert v1.codec.split(v1.create_token(sub="a"))[0]["kid"] == "2025-01"
    assert _status(_app(v2), v1.create_token(sub="a", permissions=["orders:read"])) == 200
    assert {k["kid"] for k in v2.jwks()["keys"]} == {"2025-01", "2025-02"}


def test_unknown_kid_on_a_local_set_is_a_plain_401() -> None:
    issuer = ApoJWT(private_pem("ES256"), algorithm="ES256", **_kw())
    token = _forge({"kid": "nope"}, _claims(), private_key("ES256"), "ES256")
    with pytest.raises(UnknownKeyError):
        issuer.decode(token)
    response = _app(issuer).get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"detail": "The token was signed with an unknown key."}
    assert "nope" not in response.text


def test_keyset_swap_is_seen_by_the_request_path() -> None:
    issuer = ApoJWT(private_pem("EdDSA"), algorithm="EdDSA", **_kw())
    verifier = ApoJWT(jwks=issuer.jwks(), **_kw())
    client = _app(verifier)
    token = issuer.create_token(sub="a", permissions=["orders:read"])
    assert _status(client, token) == 200
    verifier.verifier.use_keys(KeySet.from_jwks(ApoJWT(private_pem("EdDSA", 3), algorithm="EdDSA").jwks()))
    assert _status(client, token) == 401  # the cached verification went with the old keys


def test_kidless_tokens_with_a_mixed_jwks() -> None:
    """Tokens without kid, against a JWK set of several algorithms: the keys of the token's algorithm are tried."""
    rs = ApoJWT(private_pem("RS256"), algorithm="RS256", **_kw())
    es = ApoJWT(private_pem("ES256"), algorithm="ES256", **_kw())
    verifier = _app(ApoJWT(jwks={"keys": rs.jwks()["keys"] + es.jwks()["keys"]}, **_kw()))
    claims = _claims(perms=["orders:read"])
    assert _status(verifier, jwt.encode(claims, private_key("ES256"), algorithm="ES256")) == 200
    assert _status(verifier, jwt.encode(claims, private_key("RS256"), algorithm="RS256")) == 200
    assert _status(verifier, jwt.encode(claims, private_key("RS256"), algorithm="PS256")) == 401
    assert _status(verifier, jwt.encode(claims, private_key("ES256", 3), algorithm="ES256")) == 401

"""JWKs without ``alg`` (Entra ID's RSA keys) are used when algorithm= fits their type; a useless set says so."""

from __future__ import annotations

from typing import Any

import pytest

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.algorithms import algorithms_for_jwk, jwk_kind, no_usable_key
from fastapi_apojwt.errors import ConfigurationError
from fastapi_apojwt.keys import KeySet, keys_from_jwks
from tests.keypairs import alg_of, private_key


def jwk(name: str, **extra: Any) -> dict[str, Any]:
    entry = KeySet.build(algorithm=alg_of(name), secret=private_key(name, 0)).jwks()["keys"][0]
    entry.pop("alg")
    entry.update(extra)
    return entry


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("RS256", "RS256"),
        ("RS256", "RS512"),
        ("RS256", "PS256"),
        ("PS384", "PS384"),
        ("ES256", "ES256"),
        ("ES384", "ES384"),
        ("ES512", "ES512"),
        ("EdDSA", "EdDSA"),
        ("EdDSA-448", "EdDSA"),
    ],
)
def test_a_key_without_alg_takes_the_pinned_algorithm_of_its_type(name: str, algorithm: str) -> None:
    found, ignored = keys_from_jwks({"keys": [jwk(name)]}, algorithm=algorithm)
    assert ignored == []
    assert [key.algorithm for key in found.values()] == [algorithm]
    signer = ApoJWT(private_key(name, 0), algorithm=algorithm)
    verifier = ApoJWT(jwks={"keys": [jwk(name)]}, algorithm=algorithm)
    assert verifier.decode(signer.create_token(sub="alice")).sub == "alice"


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("RS256", "ES256"),
        ("RS256", "EdDSA"),
        ("ES256", "ES384"),
        ("ES384", "ES256"),
        ("ES512", "ES384"),
        ("ES256", "RS256"),
        ("EdDSA", "ES256"),
        ("EdDSA", "RS256"),
    ],
)
def test_a_key_of_another_type_is_not_used(name: str, algorithm: str) -> None:
    found, ignored = keys_from_jwks({"keys": [jwk(name)]}, algorithm=algorithm)
    assert found == {}
    assert len(ignored) == 1


def test_the_static_set_with_no_usable_key_says_which_algorithm_to_pass() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ApoJWT(jwks={"keys": [jwk("RS256", kid="k1"), jwk("RS256", kid="k2")]})
    message = str(caught.value)
    assert "no key usable" in message
    assert "2 RSA keys" in message
    assert 'pass algorithm="RS256"' in message
    with pytest.raises(
        ConfigurationError, match=r'no usable key for ES256: it holds 1 EC P-384 key; pass algorithm="ES384"'
    ):
        ApoJWT(jwks={"keys": [jwk("ES384")]}, algorithm="ES256")


def test_no_usable_key_never_repeats_the_document() -> None:
    hostile = "<script>alert(1)</script>\nFAKE LOG LINE"
    entries = [
        {"kty": hostile, "kid": hostile},
        {"kty": "RSA", "n": "AA", "e": "AQAB", "alg": hostile, "kid": hostile},
        {"kty": "EC", "crv": hostile, "x": "AA", "y": "AA"},
        {"kty": "RSA", "n": "AA", "e": "AQAB", "d": "AA"},
    ]
    message = no_usable_key(entries, "RS256")
    assert hostile not in message
    assert message.startswith("the key set holds no usable key for RS256: it holds 1 RSA key")
    assert (
        no_usable_key([], None)
        == "the key set holds no usable key that declares its algorithm: it has no public signing key"
    )


@pytest.mark.parametrize(
    ("entry", "kind", "algorithms"),
    [
        ({"kty": "RSA"}, "RSA", ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")),
        ({"kty": "EC", "crv": "P-256"}, "EC P-256", ("ES256",)),
        ({"kty": "EC", "crv": "P-521"}, "EC P-521", ("ES512",)),
        ({"kty": "EC", "crv": "secp256k1"}, None, ()),
        ({"kty": "OKP", "crv": "Ed448"}, "OKP Ed448", ("EdDSA",)),
        ({"kty": "OKP", "crv": "X25519"}, None, ()),
        ({"kty": "oct"}, None, ()),
    ],
)
def test_key_types(entry: dict[str, Any], kind: str | None, algorithms: tuple[str, ...]) -> None:
    assert jwk_kind(entry) == kind
    assert algorithms_for_jwk(entry) == algorithms

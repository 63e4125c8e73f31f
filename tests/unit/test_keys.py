"""Key material: loading, family checks, kid, previous keys, weak secrets, JWK set parsing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from fastapi_apojwt import ApoJWT, ConfigurationError, WeakSecretWarning
from fastapi_apojwt.keys import (
    ASYMMETRIC_ALGORITHMS,
    MAX_JWKS_KEYS,
    KeySet,
    jwk_thumbprint,
    keys_from_jwks,
    load_key,
)
from tests.keypairs import ASYMMETRIC, alg_of, private_key, private_pem, public_pem

SECRET = "k" * 64

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
    "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)

SMALL_RSA_JWK = {
    **json.loads(RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key())),  # noqa: S505
    "alg": "RS256",
}


def test_thumbprint_matches_rfc7638_example() -> None:
    jwk = {"kty": "RSA", "e": "AQAB", "n": RFC7638_N, "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("name", ASYMMETRIC)
def test_every_algorithm_builds_a_signing_set_with_thumbprint_kid(name: str) -> None:
    keys = KeySet.build(algorithm=alg_of(name), secret=private_pem(name))
    assert keys.signing is not None
    published = keys.jwks()["keys"]
    assert len(published) == 1
    assert published[0]["kid"] == keys.signing.kid == jwk_thumbprint(published[0])
    assert published[0]["alg"] == alg_of(name)
    assert published[0]["use"] == "sig"
    assert "d" not in published[0]


@pytest.mark.parametrize("name", ASYMMETRIC)
def test_public_key_builds_a_verify_only_set(name: str) -> None:
    keys = KeySet.build(algorithm=alg_of(name), public_keys=[public_pem(name)])
    assert keys.signing is None
    assert keys.default is not None
    signing = KeySet.build(algorithm=alg_of(name), secret=private_key(name))
    assert keys.jwks() == signing.jwks()  # same key, same kid, whether PEM or key object


def test_previous_private_key_is_kept_public_only() -> None:
    """A retired private key passed in previous_keys verifies and is never published with its secret part."""
    keys = KeySet.build(algorithm="RS256", secret=private_pem("RS256", 1), previous_keys=[private_pem("RS256", 0)])
    published = keys.jwks()["keys"]
    assert published[0]["kid"] == keys.signing.kid  # type: ignore[union-attr]
    assert len(published) == 2
    assert all(not ({"d", "p", "q"} & k.keys()) for k in published)
    for key in keys.verifying.values():
        assert isinstance(key.key, rsa.RSAPublicKey)


def test_previous_keys_by_kid_keep_their_names() -> None:
    old = ec.generate_private_key(ec.SECP256R1())
    keys = KeySet.build(algorithm="ES256", secret=private_pem("ES256"), kid="2025-02", previous_keys={"2025-01": old})
    assert set(keys.verifying) == {"2025-02", "2025-01"}
    assert keys.signing is not None
    assert keys.signing.kid == "2025-02"


def test_hmac_previous_secrets() -> None:
    keys = KeySet.build(algorithm="HS256", secret=SECRET, kid="v2", previous_keys={"v1": "o" * 40})
    assert set(keys.verifying) == {"v2", "v1"}
    listed = KeySet.build(algorithm="HS256", secret=SECRET, previous_keys=["o" * 40])
    (old_kid,) = [kid for kid in listed.verifying if kid is not None]
    assert old_kid.startswith("hs-")
    assert "o" * 8 not in old_kid
    assert listed.jwks() == {"keys": []}  # a shared secret is never published


@pytest.mark.parametrize(
    ("algorithm", "name"),
    [
        ("RS256", "ES256"),
        ("ES256", "RS256"),
        ("ES256", "ES384"),
        ("ES512", "ES256"),
        ("EdDSA", "RS256"),
        ("PS256", "EdDSA"),
    ],
)
def test_key_of_another_family_or_curve_is_refused(algorithm: str, name: str) -> None:
    with pytest.raises(ConfigurationError, match="does not fit"):
        ApoJWT(private_pem(name), algorithm=algorithm)


def test_small_rsa_key_is_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    with pytest.raises(ConfigurationError, match="at least 2048"):
        ApoJWT(small, algorithm="RS256")


def test_encrypted_or_broken_pem_is_refused_clearly() -> None:
    encrypted = (
        private_key("ES256")
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw"),
        )
        .decode()
    )
    with pytest.raises(ConfigurationError, match="Could not load the PEM key"):
        ApoJWT(encrypted, algorithm="ES256")
    with pytest.raises(ConfigurationError, match="Could not load the PEM key"):
        load_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_asymmetric_algorithm_without_key_says_what_to_pass() -> None:
    with pytest.raises(ConfigurationError, match="jwks_url"):
        ApoJWT(algorithm="RS256")


@pytest.mark.parametrize(
    "form",
    ["pem", "der", "openssh-rsa", "openssh-ecdsa", "jwk"],
)
def test_any_key_encoding_is_refused_as_hmac_secret(form: str) -> None:
    """Algorithm confusion at the root: a public key in any encoding is not an HMAC secret."""
    rsa_public = private_key("RS256").public_key()
    ec_public = private_key("ES256").public_key()
    value: bytes = {
        "pem": lambda: public_pem("RS256").encode(),
        "der": lambda: rsa_public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh-rsa": lambda: rsa_public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "openssh-ecdsa": lambda: ec_public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk": lambda: json.dumps(KeySet.build(algorithm="RS256", secret=rsa_public).jwks()["keys"][0]).encode(),
    }[form]()
    with pytest.raises(ConfigurationError, match="algorithm confusion"):
        ApoJWT(value, algorithm="HS256")


# -- weak secrets ------------------------------------------------------------------------


def test_weak_secret_warns_at_the_callers_line() -> None:
    with pytest.warns(WeakSecretWarning, match=r"12 bytes; HS256 wants at least 32") as record:
        ApoJWT("short-secret")
    assert record[0].filename == __file__  # points at this line, not inside the package
    assert issubclass(record[0].category, UserWarning)


def test_weak_refresh_secret_warns_at_the_callers_line() -> None:
    ajwt = ApoJWT(SECRET)
    with pytest.warns(WeakSecretWarning) as record:
        ajwt.config_refresh("short-refresh")
    assert record[0].filename == __file__


@pytest.mark.parametrize(("algorithm", "length"), [("HS256", 31), ("HS384", 47), ("HS512", 63)])
def test_weak_secret_thresholds_follow_rfc7518(algorithm: str, length: int) -> None:
    with pytest.warns(WeakSecretWarning):
        ApoJWT("x" * length, algorithm=algorithm)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ApoJWT("x" * (length + 1), algorithm=algorithm)


def test_strict_refuses_weak_secrets() -> None:
    with pytest.raises(ConfigurationError, match="RFC 7518"):
        ApoJWT("short-secret", strict=True)
    with pytest.raises(ConfigurationError, match="previous secret"):
        ApoJWT(SECRET, previous_keys=["short"], strict=True)


def test_weak_secret_message_never_contains_the_secret() -> None:
    with pytest.warns(WeakSecretWarning) as record:
        ApoJWT("hunter2-secret")
    assert "hunter2" not in str(record[0].message)


# -- JWK sets ----------------------------------------------------------------------------


def _jwk(name: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    jwk = KeySet.build(algorithm=alg_of(name), secret=private_key(name, index)).jwks()["keys"][0]
    jwk.update(extra)
    return {k: v for k, v in jwk.items() if v is not None}


def test_jwks_keys_bring_their_own_algorithm() -> None:
    document = {"keys": [_jwk("RS256"), _jwk("ES384"), _jwk("EdDSA")]}
    found, ignored = keys_from_jwks(document)
    assert ignored == []
    assert sorted(k.algorithm for k in found.values()) == ["ES384", "EdDSA", "RS256"]


def test_pinned_algorithm_ignores_other_keys() -> None:
    document = {"keys": [_jwk("RS256"), _jwk("ES256"), _jwk("PS256", alg="PS256"), _jwk("RS256", alg=None)]}
    found, ignored = keys_from_jwks(document, algorithm="RS256")
    assert [k.algorithm for k in found.values()] == ["RS256"]
    assert len(ignored) == 3 - 1 + 1  # ES256, PS256, and the alg-less duplicate of the RS256 kid


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}, "not an asymmetric signing key"),
        ("not-an-object", "not a JSON object"),
        (SMALL_RSA_JWK, "needs at least 2048"),
        ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "alg": "ES256"}, "not a valid EC key"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}, "not the one configured or not usable"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "HS256"}, "not the one configured"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "none"}, "not the one configured"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "use": "enc"}, "not meant for verifying"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "key_ops": ["encrypt"]}, "not meant"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "d": "AA"}, "private key material"),
        ({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": 7}, "'kid' is not a short string"),
        ({"kty": "EC", "crv": "P-256", "alg": "ES384", "x": "AA", "y": "AA"}, "not a valid EC key"),
    ],
)
def test_unusable_jwks_entries_are_ignored_with_a_reason(entry: Any, reason: str) -> None:
    found, ignored = keys_from_jwks({"keys": [entry]})
    assert found == {}
    assert len(ignored) == 1
    assert reason in ignored[0]


def test_ec_key_declaring_another_curve_algorithm_is_ignored() -> None:
    found, ignored = keys_from_jwks({"keys": [_jwk("ES256", alg="ES384")]})
    assert found == {}
    assert "does not fit" in ignored[0]


def test_jwks_without_kid_uses_the_thumbprint_and_duplicates_are_dropped() -> None:
    jwk = _jwk("EdDSA")
    kid = jwk.pop("kid")
    found, ignored = keys_from_jwks({"keys": [jwk, dict(jwk)]})
    assert list(found) == [kid]
    assert ignored == [f"key #1: duplicate kid {kid!r}"]


@pytest.mark.parametrize("document", ["not json", "[]", '{"keys": {}}', "{}", b"\xff\xfe"])
def test_not_a_jwk_set(document: str | bytes) -> None:
    with pytest.raises(ValueError, match="JWK set"):
        keys_from_jwks(document)
    with pytest.raises(ConfigurationError, match="jwks= is not usable"):
        ApoJWT(jwks=document)  # type: ignore[arg-type]


def test_jwk_set_is_capped() -> None:
    found, ignored = keys_from_jwks({"keys": [{"kty": "oct"}] * (MAX_JWKS_KEYS + 5)})
    assert found == {}
    assert len(ignored) == MAX_JWKS_KEYS + 1


def test_jwks_with_no_usable_key_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="no key usable"):
        ApoJWT(jwks={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    with pytest.raises(ConfigurationError, match="algorithm must be asymmetric"):
        KeySet.from_jwks({"keys": []}, algorithm="HS256")


def test_jwks_combined_with_local_keys_is_refused() -> None:
    document = {"keys": [_jwk("EdDSA")]}
    with pytest.raises(ConfigurationError, match="verify-only"):
        ApoJWT(SECRET, jwks=document)
    with pytest.raises(ConfigurationError, match="not both"):
        ApoJWT(jwks=document, jwks_url="https://auth.example.com/jwks.json")


def test_asymmetric_sets_accept_every_asymmetric_header_only_when_unpinned() -> None:
    assert KeySet.empty().algorithms == ASYMMETRIC_ALGORITHMS
    assert KeySet.empty("ES256").algorithms == {"ES256"}
    assert KeySet.build(algorithm="HS256", secret=SECRET).algorithms == {"HS256"}


def test_certificate_pem_is_a_public_key(tmp_path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = private_key("ES256")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    verifier = ApoJWT(public_key=pem, algorithm="ES256")
    signer = ApoJWT(key, algorithm="ES256")
    assert verifier.decode(signer.create_token(sub="a")).sub == "a"


@pytest.mark.parametrize(
    ("name", "hint"), [("ES384", '"ES384"'), ("RS256", '"RS256" or "PS256"'), ("EdDSA", '"EdDSA"')]
)
def test_forgotten_algorithm_names_the_right_one(name: str, hint: str) -> None:
    """A newcomer passes a key pair with the default HS256: the error says which algorithm to use."""
    with pytest.raises(ConfigurationError, match=f"algorithm={hint}"):
        ApoJWT(private_pem(name))
    with pytest.raises(ConfigurationError, match=f"algorithm={hint}"):
        ApoJWT(public_key=public_pem(name))

"""Algorithm attacks: ``alg: none``, algorithm/key confusion, degenerate ECDSA.

Catalogue: RFC 8725 §2.1/§3.1 (algorithm verification), §3.2 (appropriate
algorithms); RFC 7518 §3.6 (``none``); OWASP JWT cheat sheet "None hashing
algorithm"; CVE-2015-9235 / CVE-2016-10555 / CVE-2022-29217 (PyJWT HMAC with a
public key), CVE-2024-33663 (python-jose algorithm confusion with OpenSSH/ECDSA
keys), CVE-2022-21449 ("psychic signatures", ECDSA r=s=0); jwt_tool ``-X a``
(alg none) and ``-X k`` (key confusion).
"""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from fastapi_apojwt import ApoJWT, ConfigurationError
from tests.security.attack import (
    AUDIENCE,
    ISSUER,
    SECRET,
    Target,
    b64url,
    forge,
    make_target,
    segment,
    sign_hmac,
    valid_claims,
)
from tests.security.keys import ec_private, ed_private, pem_private, pem_public, public_jwk_json, rsa_private

NONE_CASINGS = ["none", "None", "NONE", "nOnE", "NoNe", "nONE"]


@pytest.fixture(scope="module")
def hs256() -> Target:
    return make_target()


@pytest.fixture(scope="module")
def rs256() -> Target:
    return make_target(
        ApoJWT(
            pem_private(rsa_private()),
            algorithm="RS256",
            iss=ISSUER,
            server_audience=[AUDIENCE],
            admin_permission="admin",
        )
    )


@pytest.fixture(scope="module")
def es256() -> Target:
    return make_target(
        ApoJWT(
            pem_private(ec_private()),
            algorithm="ES256",
            iss=ISSUER,
            server_audience=[AUDIENCE],
            admin_permission="admin",
        )
    )


@pytest.fixture(scope="module")
def eddsa() -> Target:
    return make_target(
        ApoJWT(
            pem_private(ed_private()),
            algorithm="EdDSA",
            iss=ISSUER,
            server_audience=[AUDIENCE],
            admin_permission="admin",
        )
    )


def _admin_claims() -> dict[str, object]:
    return valid_claims(perms=["orders:read", "admin"])


# -- alg: none (RFC 7518 §3.6, RFC 8725 §3.1, OWASP "none", jwt_tool -X a) -------------------------


@pytest.mark.parametrize("alg", NONE_CASINGS)
@pytest.mark.parametrize("signature", ["empty", "garbage", "hmac-of-secret"])
def test_rfc7518_alg_none_any_casing_rejected_hs256(hs256: Target, alg: str, signature: str) -> None:
    """RFC 7518 §3.6 / RFC 8725 §3.1: an unsecured JWS is never accepted, whatever the casing or signature."""
    signing_input = segment({"alg": alg, "typ": "JWT"}) + "." + segment(_admin_claims())
    sig = {"empty": "", "garbage": b64url(b"x" * 32), "hmac-of-secret": sign_hmac(signing_input, SECRET)}[signature]
    hs256.assert_rejected(signing_input + "." + sig)


@pytest.mark.parametrize("alg", NONE_CASINGS)
def test_rfc7518_alg_none_rejected_rs256(rs256: Target, alg: str) -> None:
    """RFC 8725 §3.1: ``none`` rejected on an asymmetric service too (with or without a trailing dot)."""
    signing_input = segment({"alg": alg}) + "." + segment(_admin_claims())
    rs256.assert_rejected(signing_input + ".")
    rs256.assert_rejected(signing_input)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"typ": "JWT"}, id="alg-missing"),
        pytest.param({"alg": None}, id="alg-null"),
        pytest.param({"alg": ""}, id="alg-empty"),
        pytest.param({"alg": ["HS256"]}, id="alg-list"),
        pytest.param({"alg": {"HS256": True}}, id="alg-object"),
        pytest.param({"alg": 256}, id="alg-number"),
        pytest.param({"alg": "hs256"}, id="alg-lowercase"),
        pytest.param({"alg": "HS256 "}, id="alg-trailing-space"),
        pytest.param({"alg": "HS256\u0000"}, id="alg-nul-suffix"),
        pytest.param({"alg": "\uff28\uff33\uff12\uff15\uff16"}, id="alg-fullwidth"),
    ],
)
def test_rfc8725_3_1_alg_header_must_be_exactly_configured(hs256: Target, header: dict[str, object]) -> None:
    """RFC 8725 §3.1: the algorithm is compared exactly to the configured one, never coerced."""
    hs256.assert_rejected(forge(header, _admin_claims()))


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_rfc8725_3_1_right_secret_other_hmac_alg_rejected(hs256: Target, alg: str) -> None:
    """RFC 8725 §3.1: the right secret with another HMAC algorithm is refused (one algorithm per service)."""
    hs256.assert_rejected(forge({"alg": alg}, _admin_claims(), key=SECRET, alg=alg))


# -- key confusion (CVE-2016-10555, CVE-2022-29217, jwt_tool -X k) ----------------------------------


def _public_forms(key: object, alg: str) -> dict[str, bytes]:
    public = key.public_key()  # type: ignore[attr-defined]
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    forms = {
        "pem": pem,
        "pem-no-newline": pem.rstrip(b"\n"),
        "pem-crlf": pem.replace(b"\n", b"\r\n"),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "jwk-json": public_jwk_json(key, alg).encode(),  # type: ignore[arg-type]
    }
    return forms


FORMS = ["pem", "pem-no-newline", "pem-crlf", "der", "openssh", "jwk-json"]


@pytest.mark.parametrize("hmac_alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("form", FORMS)
def test_cve_2022_29217_hmac_signed_with_rsa_public_key(rs256: Target, form: str, hmac_alg: str) -> None:
    """CVE-2022-29217 / CVE-2016-10555: HMAC keyed with the RSA public key is not accepted by an RS256 service."""
    key = _public_forms(rsa_private(), "RS256")[form]
    rs256.assert_rejected(forge({"alg": hmac_alg, "typ": "JWT"}, _admin_claims(), key=key, alg=hmac_alg))


@pytest.mark.parametrize("form", FORMS)
def test_cve_2024_33663_hmac_signed_with_ec_public_key(es256: Target, form: str) -> None:
    """CVE-2024-33663 (python-jose): HMAC keyed with the ECDSA public key is not accepted by an ES256 service."""
    key = _public_forms(ec_private(), "ES256")[form]
    es256.assert_rejected(forge({"alg": "HS256"}, _admin_claims(), key=key))


@pytest.mark.parametrize("form", ["pem", "der", "openssh"])
def test_cve_2022_29217_hmac_signed_with_ed25519_public_key(eddsa: Target, form: str) -> None:
    """CVE-2022-29217 for EdDSA keys: the OpenSSH/PEM public key used as an HMAC secret is refused."""
    public = ed_private().public_key()
    key = {
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "openssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
    }[form]
    eddsa.assert_rejected(forge({"alg": "HS256"}, _admin_claims(), key=key))


@pytest.mark.parametrize("form", ["pem", "pem-no-newline", "jwk-json", "openssh"])
def test_cve_2022_29217_public_key_refused_as_hmac_secret_in_configuration(form: str) -> None:
    """CVE-2022-29217 at the root: a public key (PEM, JWK, OpenSSH) is refused as an HMAC secret at start-up."""
    key = _public_forms(rsa_private(), "RS256")[form].decode()
    with pytest.raises(ConfigurationError):
        ApoJWT(key, algorithm="HS256")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "HS1", "RS1", "foo"])
def test_rfc7518_none_refused_in_configuration(alg: str) -> None:
    """RFC 7518 §3.6: ``none`` (any casing) and unknown algorithms cannot even be configured."""
    with pytest.raises(ConfigurationError):
        ApoJWT(SECRET, algorithm=alg)


@pytest.mark.parametrize("alg", ["RS512", "PS256", "PS512"])
def test_rfc8725_3_1_right_rsa_key_other_alg_rejected(rs256: Target, alg: str) -> None:
    """RFC 8725 §3.1: a token signed with the service's own RSA key but another RSA algorithm is refused."""
    token = jwt.encode(_admin_claims(), rsa_private(), algorithm=alg)
    rs256.assert_rejected(token)


def test_rfc8725_3_1_rsa_signature_under_rs256_from_other_key(rs256: Target) -> None:
    """RFC 7515 §5.2: a well-formed RS256 signature from an attacker's own RSA key is refused."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256.assert_rejected(jwt.encode(_admin_claims(), attacker, algorithm="RS256"))


def test_rfc8725_rs256_pkcs1v15_vs_pss_padding_confusion(rs256: Target) -> None:
    """RFC 8725 §3.1: a PSS signature labelled RS256 (PKCS#1 v1.5) is refused."""
    signing_input = segment({"alg": "RS256"}) + "." + segment(_admin_claims())
    signature = rsa_private().sign(
        signing_input.encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
        hashes.SHA256(),
    )
    rs256.assert_rejected(signing_input + "." + b64url(signature))


# -- degenerate ECDSA signatures (CVE-2022-21449) ---------------------------------------------------

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _es256_signing_input() -> str:
    return segment({"alg": "ES256", "typ": "JWT"}) + "." + segment(_admin_claims())


def _raw(r: int, s: int, size: int = 32) -> bytes:
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(_raw(0, 0), id="r=s=0"),
        pytest.param(_raw(_P256_ORDER, _P256_ORDER), id="r=s=n"),
        pytest.param(_raw(0, 1), id="r=0"),
        pytest.param(_raw(1, 0), id="s=0"),
        pytest.param(_raw(1, 1), id="r=s=1"),
        pytest.param(b"\x00" * 32, id="half-length"),
        pytest.param(b"\x00" * 128, id="double-length"),
        pytest.param(b"\xff" * 64, id="all-ones"),
        pytest.param(b"", id="empty"),
    ],
)
def test_cve_2022_21449_degenerate_ecdsa_signature(es256: Target, signature: bytes) -> None:
    """CVE-2022-21449 (psychic signatures): r=s=0 and other out-of-range ECDSA values never verify."""
    es256.assert_rejected(_es256_signing_input() + "." + b64url(signature))


def test_rfc7518_3_4_der_encoded_ecdsa_signature_rejected(es256: Target) -> None:
    """RFC 7518 §3.4: JWS ECDSA signatures are raw R||S; a DER-encoded (ASN.1) one is refused."""
    signing_input = _es256_signing_input()
    der = ec_private().sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    es256.assert_rejected(signing_input + "." + b64url(der))


def test_rfc7518_3_4_ecdsa_high_s_malleability_is_valid_math_but_token_is_ours(es256: Target) -> None:
    """RFC 7518 §3.4: the (r, n-s) twin of a genuine signature verifies, but only over the genuine claims.

    ECDSA malleability cannot forge new claims: changing the payload under the twin signature is refused.
    """
    signing_input = _es256_signing_input()
    der = ec_private().sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    twin = _raw(r, _P256_ORDER - s)
    tampered = segment({"alg": "ES256", "typ": "JWT"}) + "." + segment(valid_claims(perms=["everything"]))
    es256.assert_rejected(tampered + "." + b64url(twin))


def test_degenerate_eddsa_signature(eddsa: Target) -> None:
    """RFC 8037 §3.1: an all-zero Ed25519 signature (and a short one) never verifies."""
    signing_input = segment({"alg": "EdDSA"}) + "." + segment(_admin_claims())
    eddsa.assert_rejected(signing_input + "." + b64url(b"\x00" * 64))
    eddsa.assert_rejected(signing_input + "." + b64url(b"\x00" * 63))


def test_genuine_asymmetric_tokens_pass(rs256: Target, es256: Target, eddsa: Target) -> None:
    """Control: each asymmetric target accepts its own tokens (so the rejections above mean something)."""
    for target in (rs256, es256, eddsa):
        target.assert_genuine_works("/orders")
        target.assert_genuine_works("/admin")
        header = json.loads(jwt.utils.base64url_decode(target.genuine.split(".")[0]))
        assert header["alg"] == target.ajwt.algorithm


def test_configuration_refuses_public_key_text_even_when_unused() -> None:
    """Key confusion at start-up: a PEM public key given as ``secret=`` with an HMAC algorithm is refused."""
    with pytest.raises(ConfigurationError):
        ApoJWT(pem_public(ec_private()), algorithm="HS512")

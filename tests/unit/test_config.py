"""Configuration is checked when ApoJWT is built, with messages that say how to fix it."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from fastapi_apojwt import ApoJWT, ConfigurationError, SigningUnavailableError, WeakSecretWarning
from tests.conftest import REFRESH_SECRET, SECRET


def pem(key: Any, private: bool = True) -> str:
    if private:
        return str(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
        )
    return str(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("algorithm", ["HS1", "RS1", "hs256", "foo", "", "none", "None", "NONE"])
def test_unknown_algorithm(algorithm: str) -> None:
    with pytest.raises(ConfigurationError, match="Choose one of") as info:
        ApoJWT(SECRET, algorithm=algorithm)
    assert "HS256" in str(info.value.detail)


def test_none_is_called_out() -> None:
    with pytest.raises(ConfigurationError, match="'none' is never allowed"):
        ApoJWT(SECRET, algorithm="none")


@pytest.mark.parametrize("secret", ["", b""])
def test_empty_secret(secret: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match=r"empty.*keygen"):
        ApoJWT(secret)


def test_missing_secret() -> None:
    with pytest.raises(ConfigurationError, match="needs a secret"):
        ApoJWT()


@pytest.mark.parametrize("period", [0, -1, -900, 0.0, 0.5, float("inf"), float("nan"), "900", None, True])
def test_exp_period_must_be_positive(period: Any) -> None:
    with pytest.raises(ConfigurationError, match="exp_period must be a positive number of seconds"):
        ApoJWT(SECRET, exp_period=period)


def test_refresh_exp_period_must_be_positive() -> None:
    ajwt = ApoJWT(SECRET)
    with pytest.raises(ConfigurationError, match="refresh_exp_period"):
        ajwt.config_refresh(REFRESH_SECRET, refresh_exp_period=0)


def test_pem_key_with_hmac_algorithm(ec_key: ec.EllipticCurvePrivateKey) -> None:
    for material in (pem(ec_key), pem(ec_key, private=False)):
        with pytest.raises(ConfigurationError, match="looks like a PEM") as info:
            ApoJWT(material, algorithm="HS256")
        assert "set algorithm=" in str(info.value.detail)


def test_key_object_with_hmac_algorithm(ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(ConfigurationError, match="needs a shared secret"):
        ApoJWT(ec_key, algorithm="HS256")  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA", "PS256"])
def test_hmac_secret_with_asymmetric_algorithm(algorithm: str) -> None:
    with pytest.raises(ConfigurationError, match="PEM key") as info:
        ApoJWT(SECRET, algorithm=algorithm)
    assert "keygen" in str(info.value.detail)


def test_key_of_the_wrong_family(ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(ConfigurationError, match="does not fit algorithm 'RS256'"):
        ApoJWT(pem(ec_key), algorithm="RS256")
    with pytest.raises(ConfigurationError, match="does not fit algorithm 'ES384'"):
        ApoJWT(pem(ec_key), algorithm="ES384")  # a P-256 key for a P-384 algorithm
    with pytest.raises(ConfigurationError, match="does not fit"):
        ApoJWT(pem(ed25519.Ed25519PrivateKey.generate()), algorithm="ES256")


def test_public_key_is_verify_only(ec_key: ec.EllipticCurvePrivateKey) -> None:
    signer = ApoJWT(pem(ec_key), algorithm="ES256", iss="i")
    verifier = ApoJWT(public_key=pem(ec_key, private=False), algorithm="ES256", iss="i")
    assert verifier.decode(signer.create_token(sub="a")).sub == "a"
    with pytest.raises(SigningUnavailableError, match="only verifies"):
        verifier.create_token(sub="a")


@pytest.mark.parametrize("template", ["django", "FastAPI", ""])
def test_bad_template(template: Any) -> None:
    with pytest.raises(ConfigurationError, match="template must be 'fastapi', 'flask' or None"):
        ApoJWT(SECRET, template=template)


@pytest.mark.parametrize("template", ["fastapi", "flask", None])
def test_good_templates(template: Any) -> None:
    assert ApoJWT(SECRET, template=template).template == template


@pytest.mark.parametrize("name", ["", "has space", 'q"uote', "back\\slash", "é"])
def test_invalid_permission_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match=r"Invalid permission name.*e\.g\. 'orders:read'"):
        ApoJWT(SECRET).permission(name)


def test_refresh_secret_equal_to_access_secret() -> None:
    ajwt = ApoJWT(SECRET)
    with pytest.raises(ConfigurationError, match="refresh secret equals the access secret"):
        ajwt.config_refresh(SECRET)
    with pytest.raises(ConfigurationError, match="refresh secret equals the access secret"):
        ajwt.config_refresh(SECRET.encode())


def test_empty_refresh_secret() -> None:
    with pytest.raises(ConfigurationError, match="empty"):
        ApoJWT(SECRET).config_refresh("")


def test_refresh_guard_needs_config_refresh() -> None:
    with pytest.raises(ConfigurationError, match="config_refresh"):
        _ = ApoJWT(SECRET).refresh


@pytest.mark.parametrize("audience", [[""], [1], [None]])
def test_bad_server_audience(audience: Any) -> None:
    with pytest.raises(ConfigurationError, match="server_audience"):
        ApoJWT(SECRET, server_audience=audience)


def test_a_single_audience_string_is_accepted() -> None:
    assert ApoJWT(SECRET, server_audience="https://api.test").server_audience == ("https://api.test",)


def test_bad_issuer() -> None:
    with pytest.raises(ConfigurationError, match="iss must be a string"):
        ApoJWT(SECRET, iss=5)  # type: ignore[arg-type]


def test_negative_leeway() -> None:
    with pytest.raises(ConfigurationError, match="leeway"):
        ApoJWT(SECRET, leeway=-1)


@pytest.mark.parametrize("name", ["token_finder", "exception_handler"])
def test_callables_must_be_callable(name: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be callable"):
        ApoJWT(SECRET, **{name: "not callable"})


def test_short_secret_warns_or_fails_when_strict() -> None:
    with pytest.warns(WeakSecretWarning, match="keygen"):
        ApoJWT("short-secret")
    with pytest.raises(ConfigurationError, match="at least 32"):
        ApoJWT("short-secret", strict=True)


def test_a_good_configuration_raises_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ajwt = ApoJWT(SECRET, exp_period=60, iss="i", server_audience=["a"], admin_permission="admin")
        ajwt.config_refresh(REFRESH_SECRET)
    assert ajwt.exp_period == 60


@pytest.mark.parametrize("size", [0, -1, "8192", 8192.0, True, None])
def test_max_token_bytes_must_be_a_positive_integer(size: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_token_bytes must be a positive integer"):
        ApoJWT(SECRET, max_token_bytes=size)


@pytest.mark.parametrize("model", [dict, int, "User", object()])
def test_data_model_must_be_a_pydantic_model(model: Any) -> None:
    with pytest.raises(ConfigurationError, match="data_model must be a pydantic BaseModel subclass"):
        ApoJWT(SECRET, data_model=model)


def test_a_refresh_lifetime_shorter_than_the_access_lifetime_is_refused() -> None:
    ajwt = ApoJWT(SECRET, exp_period=900)
    with pytest.raises(ConfigurationError, match=r"refresh_exp_period \(60 s\) is shorter than exp_period \(900 s\)"):
        ajwt.config_refresh(REFRESH_SECRET, refresh_exp_period=60)
    ajwt.config_refresh(REFRESH_SECRET, refresh_exp_period=900)  # equal is fine


@pytest.mark.parametrize("secret", ["   ", "\t\n", b"  "])
def test_an_all_whitespace_secret_is_refused(secret: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match="empty or only whitespace"):
        ApoJWT(secret)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "PS384", "EdDSA"])
def test_an_asymmetric_algorithm_given_a_plain_string_says_a_pem_private_key_is_expected(algorithm: str) -> None:
    with pytest.raises(ConfigurationError, match="must be a PEM key holding one") as info:
        ApoJWT("a-plain-string-that-is-not-a-key-at-all", algorithm=algorithm)
    assert "algorithm='HS256'" in str(info.value)

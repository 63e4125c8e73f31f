"""The token codec: minting, the wire format and strict (RFC 8725) verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fastapi_apojwt import (
    ApoJWT,
    ApoJWTError,
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MalformedTokenError,
    TokenTooLargeError,
    WrongTokenTypeError,
)
from fastapi_apojwt.tokens import TokenCodec
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET

NOW = 1_800_000_000.0


class Clock:
    """A settable clock so time-based checks are exact, not timing-dependent."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    payload: dict[str, Any] | str,
    *,
    header: dict[str, Any] | str | None = None,
    secret: str | bytes = SECRET,
    digest: Callable[..., Any] = hashlib.sha256,
) -> str:
    """Build and HMAC-sign a token by hand (raw JSON strings allowed for odd encodings)."""
    head = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    head_json = head if isinstance(head, str) else json.dumps(head)
    body_json = payload if isinstance(payload, str) else json.dumps(payload)
    signing_input = f"{b64(head_json.encode())}.{b64(body_json.encode())}"
    key = secret.encode() if isinstance(secret, str) else secret
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid access payload at NOW; ``None`` overrides remove the claim."""
    base: dict[str, Any] = {
        "sub": "alice",
        "perms": ["orders:read"],
        "data": {"team": "a"},
        "exp": int(NOW) + 900,
        "nbf": int(NOW),
        "iat": int(NOW),
        "iss": ISSUER,
        "aud": [AUDIENCE],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ajwt(clock: Clock) -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=clock)


def assert_rejected(ajwt: ApoJWT, token: str, error: type[ApoJWTError] = InvalidTokenError) -> ApoJWTError:
    with pytest.raises(error) as info:
        ajwt.decode(token)
    assert info.value.status_code == 401
    assert not token or token not in str(info.value.detail)
    return info.value


# -- minting --------------------------------------------------------------------------------


def test_create_token_wire_format(ajwt: ApoJWT) -> None:
    token = ajwt.create_token(sub="alice", permissions=["orders:read"], data={"team": "a"})
    assert isinstance(token, str)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    payload = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert payload["sub"] == "alice"
    assert payload["perms"] == ["orders:read"]
    assert payload["data"] == {"team": "a"}
    assert payload["iss"] == ISSUER
    assert payload["aud"] == [AUDIENCE]
    assert payload["iat"] == payload["nbf"] == int(NOW)
    assert payload["exp"] == int(NOW) + 900
    assert payload["type"] == "access"
    assert isinstance(payload["jti"], str)
    assert payload["jti"]


def test_defaults_match_apojwt_signature() -> None:
    ajwt = ApoJWT(SECRET)
    assert ajwt.exp_period == 900
    assert ajwt.iss == ""
    assert ajwt.server_audience == ()
    assert ajwt.algorithm == "HS256"
    token = ajwt.create_token()
    ctx = ajwt.decode(token)
    assert ctx.sub == ""
    assert ctx.permissions == ()
    assert ctx.data == {}


def test_every_token_gets_a_unique_jti(ajwt: ApoJWT) -> None:
    assert ajwt.decode(ajwt.create_token(sub="a")).jti != ajwt.decode(ajwt.create_token(sub="a")).jti


def test_create_token_returns_pair_once_refresh_is_configured(ajwt: ApoJWT) -> None:
    ajwt.config_refresh(REFRESH_SECRET)
    pair = ajwt.create_token(sub="alice", refresh_data={"uid": 1})
    assert isinstance(pair, tuple)
    access, refresh = pair
    assert ajwt.decode(access).sub == "alice"
    assert jwt.decode(
        refresh,
        REFRESH_SECRET,
        algorithms=["HS256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )["data"] == {"uid": 1}


def test_permissions_must_be_a_list_of_strings(ajwt: ApoJWT) -> None:
    with pytest.raises(TypeError):
        ajwt.create_token(permissions="orders:read")
    with pytest.raises(TypeError):
        ajwt.create_token(permissions=[1])  # type: ignore[list-item]


def test_decode_round_trip_gives_aware_datetimes(ajwt: ApoJWT) -> None:
    ctx = ajwt.decode(ajwt.create_token(sub="alice", permissions=["p"], data={"k": 1}))
    assert ctx.sub == "alice"
    assert ctx.permissions == ("p",)
    assert ctx.data == {"k": 1}
    assert ctx.iss == ISSUER
    assert ctx.aud == (AUDIENCE,)
    assert ctx.iat == datetime.fromtimestamp(NOW, tz=timezone.utc)
    assert ctx.exp.tzinfo is not None
    assert ctx.exp.utcoffset() is not None
    assert (ctx.exp - ctx.iat).total_seconds() == 900
    assert ctx.nbf == ctx.iat


# -- time -----------------------------------------------------------------------------------


def test_expired_token_rejected(ajwt: ApoJWT, clock: Clock) -> None:
    token = ajwt.create_token(sub="a")
    clock.now += 900
    assert_rejected(ajwt, token, ExpiredTokenError)


def test_leeway_is_honoured(clock: Clock) -> None:
    lenient = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=clock, leeway=30)
    strict = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=clock)
    token = lenient.create_token(sub="a")
    clock.now += 910
    assert lenient.decode(token).sub == "a"
    assert_rejected(strict, token, ExpiredTokenError)
    clock.now += 30
    assert_rejected(lenient, token, ExpiredTokenError)
    future = forge(claims(nbf=int(clock.now) + 20, iat=int(clock.now), exp=int(clock.now) + 900))
    assert lenient.decode(future).sub == "alice"
    assert_rejected(strict, future, ImmatureTokenError)


def test_not_yet_valid_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(nbf=int(NOW) + 60)), ImmatureTokenError)


def test_issued_in_the_future_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(iat=int(NOW) + 60)), ImmatureTokenError)


@pytest.mark.parametrize("name", ["exp", "iat"])
def test_missing_required_time_claim(ajwt: ApoJWT, name: str) -> None:
    assert_rejected(ajwt, forge(claims(**{name: None})), InvalidClaimError)


@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [str(int(NOW) + 900), True, None, [1], {"t": 1}])
def test_time_claims_of_the_wrong_json_type(ajwt: ApoJWT, name: str, value: Any) -> None:
    payload = claims()
    payload[name] = value
    assert_rejected(ajwt, forge(payload), InvalidClaimError)


def test_float_times_are_accepted(ajwt: ApoJWT) -> None:
    assert ajwt.decode(forge(claims(exp=NOW + 900.5, iat=NOW - 0.5))).sub == "alice"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_rejected(ajwt: ApoJWT, constant: str) -> None:
    raw = json.dumps(claims()).replace(f'"exp": {int(NOW) + 900}', f'"exp": {constant}')
    assert constant in raw
    assert_rejected(ajwt, forge(raw), MalformedTokenError)


# -- algorithm ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_never_accepted(ajwt: ApoJWT, alg: str) -> None:
    unsigned = f"{b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}."
    assert_rejected(ajwt, unsigned)
    signed = forge(claims(), header={"alg": alg, "typ": "JWT"})
    assert_rejected(ajwt, signed, InvalidAlgorithmError)


@pytest.mark.parametrize(("alg", "digest"), [("HS384", hashlib.sha384), ("HS512", hashlib.sha512)])
def test_algorithm_not_configured_rejected(ajwt: ApoJWT, alg: str, digest: Callable[..., Any]) -> None:
    token = forge(claims(), header={"alg": alg, "typ": "JWT"}, digest=digest)
    assert_rejected(ajwt, token, InvalidAlgorithmError)


@pytest.mark.parametrize("alg", [None, 256, ["HS256"], "hs256", "HS256 "])
def test_alg_header_must_match_exactly(ajwt: ApoJWT, alg: Any) -> None:
    assert_rejected(ajwt, forge(claims(), header={"alg": alg}), InvalidAlgorithmError)


@pytest.fixture(scope="module")
def key_pairs() -> dict[str, Any]:
    return {"ES256": ec.generate_private_key(ec.SECP256R1()), "RS256": rsa.generate_private_key(65537, 2048)}


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_hmac_token_signed_with_public_key_rejected_by_asymmetric_config(
    clock: Clock, key_pairs: dict[str, Any], algorithm: str
) -> None:
    private = key_pairs[algorithm]
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    asym = ApoJWT(pem, algorithm=algorithm, iss=ISSUER, server_audience=[AUDIENCE], clock=clock)
    assert asym.decode(asym.create_token(sub="a")).sub == "a"
    # The classic confusion: an HS256 token keyed with the server's public key.
    confused = forge(claims(), header={"alg": "HS256", "typ": "JWT"}, secret=public_pem)
    assert_rejected(asym, confused, InvalidAlgorithmError)
    # A token claiming the right alg but HMAC-signed with the public key fails the signature.
    disguised = forge(claims(), header={"alg": algorithm, "typ": "JWT"}, secret=public_pem)
    assert_rejected(asym, disguised, InvalidSignatureError)
    # ... and an HS instance refuses an asymmetric token outright.
    hs = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=clock)
    assert_rejected(hs, asym.create_token(sub="a"), InvalidAlgorithmError)


def test_critical_header_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(), header={"alg": "HS256", "crit": ["exp"], "exp": 1}), MalformedTokenError)


def test_key_carrying_headers_are_ignored(ajwt: ApoJWT) -> None:
    header = {"alg": "HS256", "jku": "http://evil.test/jwks", "jwk": {"kty": "oct", "k": b64(b"x" * 32)}}
    assert ajwt.decode(forge(claims(), header=header)).sub == "alice"
    assert_rejected(ajwt, forge(claims(), header=header, secret="x" * 32), InvalidSignatureError)


# -- signature and form ---------------------------------------------------------------------


def test_bad_signature_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(), secret="another-secret-that-is-32-bytes-long!!"), InvalidSignatureError)


def test_tampered_payload_rejected(ajwt: ApoJWT) -> None:
    head, _, signature = ajwt.create_token(sub="alice").split(".")
    evil = b64(json.dumps(claims(perms=["admin"])).encode())
    assert_rejected(ajwt, f"{head}.{evil}.{signature}", InvalidSignatureError)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a..c",
        "a.b.c",
        "e30.e30.",
        "....",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.extra.part",
        "not a token at all",
        "é.é.é",
        "W10.W10.c2ln",  # header and payload are JSON arrays
    ],
)
def test_malformed_tokens_rejected(ajwt: ApoJWT, token: str) -> None:
    assert_rejected(ajwt, token, MalformedTokenError)


def test_non_string_token_rejected(ajwt: ApoJWT) -> None:
    with pytest.raises(MalformedTokenError):
        ajwt.decode(b"a.b.c")  # type: ignore[arg-type]


def test_non_canonical_base64_rejected(ajwt: ApoJWT) -> None:
    token = ajwt.create_token(sub="a")
    head, payload, signature = token.split(".")
    last = signature[-1]
    tail = {2: "AQgw", 3: "AEIMQUYcgkosw048"}[len(signature) % 4]
    assert last in tail
    twin = "B" if last == "A" else chr(ord(last) + 1)  # same 6-bit prefix bits differ only in padding bits
    assert twin not in tail
    assert_rejected(ajwt, f"{head}.{payload}.{signature[:-1]}{twin}", MalformedTokenError)


@pytest.mark.parametrize("index", [0, 1, 2], ids=["header", "payload", "signature"])
def test_standard_base64_alphabet_rejected(ajwt: ApoJWT, index: int) -> None:
    """Only the base64url alphabet (RFC 7515 §2): ``+`` and ``/`` spell another token, refused even
    when the genuine one's header and verification are cached (the codec decodes both alphabets alike)."""
    header = {"alg": "HS256", "typ": "JWT", "cty": "???"}  # "?" bytes encode to "_" in base64url
    for n in range(100):
        token = forge(claims(data={"pad": "?" * n}), header=header)
        segments = token.split(".")
        if "-" in segments[index] or "_" in segments[index]:
            break
    else:  # pragma: no cover - the signature is random: 100 tries without "-" or "_" is about 1e-60
        pytest.fail("no token with '-' or '_' in the segment")
    assert ajwt.decode(token).sub == "alice"
    assert ajwt.decode(token).sub == "alice"  # now cached
    segments[index] = segments[index].translate(str.maketrans("-_", "+/"))
    assert_rejected(ajwt, ".".join(segments), MalformedTokenError)


def test_duplicate_json_keys_rejected(ajwt: ApoJWT) -> None:
    raw = json.dumps(claims())[:-1] + ', "sub": "root"}'
    assert_rejected(ajwt, forge(raw), MalformedTokenError)
    header = '{"alg": "HS256", "alg": "HS256"}'
    assert_rejected(ajwt, forge(claims(), header=header), MalformedTokenError)


def test_payload_must_be_an_object(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge("[1, 2]"), MalformedTokenError)
    assert_rejected(ajwt, forge("not json"), MalformedTokenError)


def test_oversize_token_rejected_before_any_crypto(ajwt: ApoJWT, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    small = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=clock, max_token_bytes=512)
    token = forge(claims(data={"blob": "x" * 600}))
    assert len(token) > 512
    assert ajwt.decode(token).sub == "alice"  # the default limit (8 KiB) lets it through

    def no_crypto(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("signature checked for an oversize token")

    monkeypatch.setattr(TokenCodec, "check_signature", staticmethod(no_crypto))
    for name in ("new", "digest", "compare_digest"):
        monkeypatch.setattr(hmac, name, no_crypto)
    assert_rejected(small, token, TokenTooLargeError)
    assert_rejected(ajwt, "a" * 9000 + ".b.c", TokenTooLargeError)


# -- claims ---------------------------------------------------------------------------------


def test_wrong_issuer_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(iss="https://evil.test")), InvalidIssuerError)
    assert_rejected(ajwt, forge(claims(iss=None)), InvalidIssuerError)
    assert_rejected(ajwt, forge(claims(iss=[ISSUER])), InvalidIssuerError)


def test_wrong_audience_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(aud=["https://other.test"])), InvalidAudienceError)
    assert_rejected(ajwt, forge(claims(aud=None)), InvalidAudienceError)
    assert_rejected(ajwt, forge(claims(aud=[])), InvalidAudienceError)
    assert_rejected(ajwt, forge(claims(aud=1)), InvalidAudienceError)
    assert_rejected(ajwt, forge(claims(aud=[AUDIENCE, 1])), InvalidAudienceError)


def test_audience_as_a_string_or_among_several(ajwt: ApoJWT) -> None:
    assert ajwt.decode(forge(claims(aud=AUDIENCE))).aud == (AUDIENCE,)
    assert ajwt.decode(forge(claims(aud=["https://other.test", AUDIENCE]))).sub == "alice"


def test_empty_audience_policy(clock: Clock) -> None:
    """With no server_audience, only tokens meant for anyone (no aud, or aud == []) pass."""
    open_ajwt = ApoJWT(SECRET, iss=ISSUER, clock=clock)
    assert open_ajwt.decode(forge(claims(aud=None))).aud == ()
    assert open_ajwt.decode(forge(claims(aud=[]))).aud == ()
    assert open_ajwt.decode(open_ajwt.create_token(sub="a")).sub == "a"
    assert_rejected(open_ajwt, forge(claims(aud=[AUDIENCE])), InvalidAudienceError)
    assert_rejected(open_ajwt, forge(claims(aud=AUDIENCE)), InvalidAudienceError)


@pytest.mark.parametrize("perms", ["orders:read", {"orders:read": True}, [1, 2], [["a"]], None, [None], True])
def test_perms_of_the_wrong_type_rejected(ajwt: ApoJWT, perms: Any) -> None:
    payload = claims()
    payload["perms"] = perms
    assert_rejected(ajwt, forge(payload), InvalidClaimError)


@pytest.mark.parametrize("sub", [1, 1.5, None, ["alice"], {"id": 1}, True])
def test_sub_of_the_wrong_type_rejected(ajwt: ApoJWT, sub: Any) -> None:
    payload = claims()
    payload["sub"] = sub
    assert_rejected(ajwt, forge(payload), InvalidClaimError)


def test_sub_missing_rejected(ajwt: ApoJWT) -> None:
    assert_rejected(ajwt, forge(claims(sub=None)), InvalidClaimError)


@pytest.mark.parametrize("data", [[1, 2], "text", 3, True])
def test_data_of_the_wrong_type_rejected(ajwt: ApoJWT, data: Any) -> None:
    assert_rejected(ajwt, forge(claims(data=data)), InvalidClaimError)


def test_data_may_be_absent(ajwt: ApoJWT) -> None:
    assert ajwt.decode(forge(claims(data=None))).data == {}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jti", 5),
        ("jti", ""),
        ("jti", None),
        ("fresh", "yes"),
        ("fresh", 1),
        ("fresh", None),
        ("fam", None),
        ("fam", ""),
        ("fam", 7),
        ("auth_time", None),
        ("auth_time", "1"),
    ],
)
def test_optional_claims_of_the_wrong_type_rejected(ajwt: ApoJWT, name: str, value: Any) -> None:
    payload = claims()
    payload[name] = value  # a JSON null stays in the payload
    assert_rejected(ajwt, forge(payload), InvalidClaimError)


def test_refresh_token_is_not_an_access_token(ajwt: ApoJWT) -> None:
    ajwt.config_refresh(REFRESH_SECRET)
    _, refresh = ajwt.create_token(sub="alice")
    assert_rejected(ajwt, refresh)
    # Even signed with the access secret, a refresh-typed token is refused here.
    assert_rejected(ajwt, forge(claims(type="refresh")), WrongTokenTypeError)
    assert_rejected(ajwt, forge(claims(perms=None)), WrongTokenTypeError)


@pytest.mark.parametrize("token_type", ["id", "ACCESS", 1, ["access"]])
def test_unknown_token_type_rejected(ajwt: ApoJWT, token_type: Any) -> None:
    assert_rejected(ajwt, forge(claims(type=token_type)), WrongTokenTypeError)


def test_unknown_extra_claims_are_kept_not_trusted(ajwt: ApoJWT) -> None:
    ctx = ajwt.decode(forge(claims(role="admin")))
    assert ctx.claims["role"] == "admin"
    assert not ctx.admin


def test_null_claims_are_wrong_types_not_absent_claims(clock: Clock) -> None:
    no_issuer = ApoJWT(SECRET, server_audience=[AUDIENCE], clock=clock)
    assert no_issuer.decode(forge(claims(iss=None))).iss == ""  # absent: fine without a configured issuer
    raw = json.dumps(claims()).replace(f'"iss": "{ISSUER}"', '"iss": null')
    assert '"iss": null' in raw
    assert_rejected(no_issuer, forge(raw), InvalidIssuerError)
    raw = json.dumps(claims(iss=None)).replace('"sub": "alice"', '"sub": "alice", "type": null')
    assert_rejected(no_issuer, forge(raw), WrongTokenTypeError)
    anyone = ApoJWT(SECRET, iss=ISSUER, clock=clock)  # no audience configured: only tokens without one pass
    assert anyone.decode(forge(claims(aud=None))).aud == ()
    null_audience = claims()
    null_audience["aud"] = None  # a JSON null: a wrong type, not an absent claim
    assert_rejected(anyone, forge(null_audience), InvalidAudienceError)


@pytest.mark.parametrize("aud", [None, 5, [AUDIENCE, 5], {"a": AUDIENCE}, [[AUDIENCE]]])
def test_audiences_of_the_wrong_type_rejected(ajwt: ApoJWT, aud: Any) -> None:
    payload = claims()
    payload["aud"] = aud  # a JSON null stays in the payload: a wrong type, not an absent claim
    assert_rejected(ajwt, forge(payload), InvalidAudienceError)


def test_wrong_type_message_reads_well(ajwt: ApoJWT) -> None:
    error = assert_rejected(ajwt, forge(claims(type="refresh")), WrongTokenTypeError)
    assert error.detail == "Wrong token type: this endpoint expects an access token."

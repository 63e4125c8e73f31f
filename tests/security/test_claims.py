"""Claim attacks: time claims, issuer and audience tricks, claims of the wrong JSON type.

All tokens here carry a *valid signature* (made with the service's own
secret): they model a buggy or compromised minting path, another service
sharing the secret, or a parser-differential trick. The verifier must still
refuse them, because nothing in a token is coerced.

Catalogue: RFC 7519 §4.1.1-§4.1.7 (registered claims), §7.2 (validation);
RFC 8725 §3.8 (issuer and subject), §3.9 (audience), §3.10 (do not trust
received claims); OWASP JWT cheat sheet "token expiry"; PyJWT CVE-2022-29217
adjacent issues (aud as string vs list), python-jose/authlib type coercion
(exp as string accepted by lenient parsers).
"""

import json
import time

import pytest

from tests.security.attack import AUDIENCE, ISSUER, Target, forge, forge_raw, make_target, valid_claims

NOW = int(time.time())


@pytest.fixture(scope="module")
def target() -> Target:
    return make_target()


# -- time claims (RFC 7519 §4.1.4-§4.1.6) -----------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"exp": NOW - 1}, id="expired-1s"),
        pytest.param({"exp": NOW - 86400 * 365}, id="expired-1y"),
        pytest.param({"exp": 0}, id="exp-epoch"),
        pytest.param({"nbf": NOW + 3600}, id="nbf-future"),
        pytest.param({"iat": NOW + 3600}, id="iat-future"),
        pytest.param({"iat": NOW + 86400 * 365 * 50, "exp": NOW + 86400 * 365 * 51}, id="iat-far-future"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iat": None}, id="no-iat"),
    ],
)
def test_rfc7519_4_1_4_time_claims(target: Target, change: dict[str, object]) -> None:
    """RFC 7519 §4.1.4-§4.1.6 / OWASP token expiry: expired, not-yet-valid, future-issued and exp-less tokens."""
    target.assert_rejected(forge(None, valid_claims(**change)))


def test_rfc7519_4_1_4_expires_exactly_now(target: Target) -> None:
    """RFC 7519 §4.1.4: "on or after" exp the token is refused (no off-by-one)."""
    fixed = float(NOW)
    from fastapi_apojwt import ApoJWT

    from .attack import SECRET

    frozen = make_target(
        ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", clock=lambda: fixed)
    )
    frozen.assert_rejected(forge(None, valid_claims(iat=NOW - 10, nbf=NOW - 10, exp=NOW)))


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        pytest.param("exp", '"4102444800"', id="exp-string"),
        pytest.param("exp", "true", id="exp-true"),
        pytest.param("exp", "null", id="exp-null"),
        pytest.param("exp", "NaN", id="exp-NaN"),
        pytest.param("exp", "Infinity", id="exp-Infinity"),
        pytest.param("exp", "1e999", id="exp-1e999-overflows-to-inf"),
        pytest.param("exp", "100000000000000000000", id="exp-1e20-out-of-datetime-range"),
        pytest.param("exp", "[4102444800]", id="exp-list"),
        pytest.param("exp", '{"$date":4102444800}', id="exp-object"),
        pytest.param("exp", "-1", id="exp-negative"),
        pytest.param("iat", '"0"', id="iat-string"),
        pytest.param("iat", "-100000000000000000000", id="iat-huge-negative"),
        pytest.param("iat", "false", id="iat-false"),
        pytest.param("nbf", '"0"', id="nbf-string"),
        pytest.param("nbf", "NaN", id="nbf-NaN"),
        pytest.param("nbf", "-Infinity", id="nbf-minus-Infinity"),
    ],
)
def test_rfc7519_2_numericdate_wrong_json_type(target: Target, name: str, raw: str) -> None:
    """RFC 7519 §2 NumericDate: strings, booleans, NaN/Infinity and out-of-range numbers are refused, never a 500."""
    claims = valid_claims(**{name: None})
    text = json.dumps(claims)[:-1] + f',"{name}":{raw}}}'
    target.assert_rejected(forge_raw('{"alg":"HS256","typ":"JWT"}', text))


def test_float_time_claims_are_valid_numericdates(target: Target) -> None:
    """RFC 7519 §2: NumericDate may be non-integer; a genuine-looking float exp is accepted (control)."""
    token = forge(None, valid_claims(sub="alice", exp=NOW + 600.5, iat=NOW - 0.5, nbf=NOW - 0.5))
    assert target.get("/orders", token).status_code == 200


# -- issuer (RFC 7519 §4.1.1, RFC 8725 §3.8) ----------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        pytest.param(None, id="missing"),
        pytest.param(ISSUER.upper(), id="uppercase"),
        pytest.param(" " + ISSUER, id="leading-space"),
        pytest.param(ISSUER + " ", id="trailing-space"),
        pytest.param(ISSUER + "/", id="trailing-slash"),
        pytest.param(ISSUER + "\u0000", id="nul-suffix"),
        pytest.param(ISSUER.replace("a", "\u0430"), id="cyrillic-a"),
        pytest.param(ISSUER[:-1], id="prefix"),
        pytest.param(ISSUER + ".evil", id="suffix-domain"),
        pytest.param("https://evil.test", id="other"),
        pytest.param("", id="empty"),
        pytest.param([ISSUER], id="list"),
        pytest.param({"iss": ISSUER}, id="object"),
        pytest.param(1, id="number"),
    ],
)
def test_rfc8725_3_8_issuer_variants(target: Target, iss: object) -> None:
    """RFC 8725 §3.8: the issuer is compared exactly (no case folding, trimming or list membership)."""
    claims = valid_claims(iss=None)
    if iss is not None:
        claims["iss"] = iss
    target.assert_rejected(forge(None, claims))


def test_rfc8725_3_8_explicit_null_issuer(target: Target) -> None:
    """RFC 8725 §3.8: ``"iss": null`` does not count as "no issuer" on a service that has one."""
    text = json.dumps(valid_claims(iss=None))[:-1] + ',"iss":null}'
    target.assert_rejected(forge_raw('{"alg":"HS256"}', text))


# -- audience (RFC 7519 §4.1.3, RFC 8725 §3.9) ---------------------------------------------------------


def test_rfc7519_4_1_3_audience_list_with_one_match_is_accepted(target: Target) -> None:
    """RFC 7519 §4.1.3: a list naming this service among others is valid (control for the cases below)."""
    token = forge(None, valid_claims(sub="alice", aud=["https://other.test", AUDIENCE]))
    assert target.get("/orders", token).status_code == 200
    token = forge(None, valid_claims(sub="alice", aud=AUDIENCE))
    assert target.get("/orders", token).status_code == 200


@pytest.mark.parametrize(
    "aud",
    [
        pytest.param("missing", id="missing"),
        pytest.param([], id="empty-list"),
        pytest.param("", id="empty-string"),
        pytest.param(AUDIENCE.upper(), id="uppercase"),
        pytest.param(AUDIENCE + "/", id="trailing-slash"),
        pytest.param(AUDIENCE + " ", id="trailing-space"),
        pytest.param(AUDIENCE[:-1], id="prefix"),
        pytest.param(AUDIENCE + ".evil.test", id="suffix-domain"),
        pytest.param("https://other.test", id="other"),
        pytest.param(["https://other.test"], id="list-other"),
        pytest.param([[AUDIENCE]], id="nested-list"),
        pytest.param([AUDIENCE, 1], id="list-with-number"),
        pytest.param([AUDIENCE, None], id="list-with-null"),
        pytest.param({"aud": AUDIENCE}, id="object"),
        pytest.param(1, id="number"),
        pytest.param(True, id="bool"),
        pytest.param(f"{AUDIENCE} https://other.test", id="space-separated-string"),
    ],
)
def test_rfc8725_3_9_audience_tricks(target: Target, aud: object) -> None:
    """RFC 8725 §3.9: audience must name this service exactly; wrong types are refused, not coerced."""
    claims = valid_claims(aud=None)
    if aud != "missing":
        claims["aud"] = aud
    target.assert_rejected(forge(None, claims))


def test_rfc8725_3_9_no_configured_audience_refuses_audience_bound_tokens() -> None:
    """RFC 8725 §3.9: a service with no audience refuses tokens meant for a specific audience."""
    from fastapi_apojwt import ApoJWT

    from .attack import SECRET

    open_target = make_target(ApoJWT(SECRET, iss=ISSUER, admin_permission="admin"))
    open_target.assert_rejected(forge(None, valid_claims(aud=[AUDIENCE])))
    open_target.assert_rejected(forge(None, valid_claims(aud="https://other.test")))


# -- claims of the wrong JSON type (RFC 8725 §3.10) --------------------------------------------------


@pytest.mark.parametrize(
    "perms",
    [
        pytest.param("orders:read", id="string"),
        pytest.param("admin", id="string-admin"),
        pytest.param({"orders:read": True}, id="dict"),
        pytest.param({"admin": True}, id="dict-admin"),
        pytest.param([1, 2], id="numbers"),
        pytest.param(1, id="number"),
        pytest.param(None, id="null"),
        pytest.param([None], id="list-of-null"),
        pytest.param([["orders:read"]], id="nested-list"),
        pytest.param([{"name": "orders:read"}], id="list-of-object"),
        pytest.param(["orders:read", 1], id="mixed"),
        pytest.param(True, id="bool"),
    ],
)
def test_rfc8725_3_10_perms_wrong_type(target: Target, perms: object) -> None:
    """RFC 8725 §3.10: ``perms`` must be a list of strings; a string is not iterated, a dict is not a grant."""
    text = json.dumps(valid_claims(perms=None))[:-1] + f',"perms":{json.dumps(perms)}}}'
    target.assert_rejected(forge_raw('{"alg":"HS256"}', text))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("sub", 1, id="sub-int"),
        pytest.param("sub", None, id="sub-null"),
        pytest.param("sub", ["alice"], id="sub-list"),
        pytest.param("sub", {"id": "alice"}, id="sub-object"),
        pytest.param("sub", True, id="sub-bool"),
        pytest.param("data", [], id="data-list"),
        pytest.param("data", "admin", id="data-string"),
        pytest.param("data", 1, id="data-number"),
        pytest.param("jti", 1, id="jti-int"),
        pytest.param("jti", "", id="jti-empty"),
        pytest.param("jti", ["a"], id="jti-list"),
        pytest.param("fresh", "true", id="fresh-string"),
        pytest.param("fresh", 1, id="fresh-int"),
        pytest.param("type", "Access", id="type-case"),
        pytest.param("type", ["access"], id="type-list"),
        pytest.param("type", "access ", id="type-space"),
        pytest.param("type", 1, id="type-int"),
    ],
)
def test_rfc8725_3_10_claim_wrong_type(target: Target, name: str, value: object) -> None:
    """RFC 8725 §3.10 / RFC 7519 §4.1.2: each known claim must have its JSON type; nothing is coerced."""
    text = json.dumps(valid_claims(**{name: None}))[:-1] + f',"{name}":{json.dumps(value)}}}'
    target.assert_rejected(forge_raw('{"alg":"HS256"}', text))


def test_rfc7519_missing_sub_and_perms(target: Target) -> None:
    """An access token without ``sub`` or without ``perms`` is refused (no default grants)."""
    target.assert_rejected(forge(None, valid_claims(sub=None)))
    target.assert_rejected(forge(None, valid_claims(perms=None)))


def test_unicode_escapes_in_claims_compare_decoded(target: Target) -> None:
    """JSON ``\\u`` escapes decode before comparison: an escaped issuer is the same issuer (control, accepted).

    And an escape that decodes to a *different* string (a homoglyph) is refused.
    """
    escaped_iss = "".join(f"\\u{ord(c):04x}" for c in ISSUER)
    text = json.dumps(valid_claims(sub="alice", iss=None))[:-1] + f',"iss":"{escaped_iss}"}}'
    assert target.get("/orders", forge_raw('{"alg":"HS256"}', text)).status_code == 200
    homoglyph = escaped_iss.replace("\\u0061", "\\u0430")
    text = json.dumps(valid_claims(iss=None))[:-1] + f',"iss":"{homoglyph}"}}'
    target.assert_rejected(forge_raw('{"alg":"HS256"}', text))


def test_decode_raises_package_error_for_out_of_range_time() -> None:
    """Regression: a signed exp of 1e20 made ``decode`` raise OverflowError (a 500 on the request path)."""
    from fastapi_apojwt import ApoJWT, InvalidClaimError

    from .attack import SECRET

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    with pytest.raises(InvalidClaimError):
        ajwt.decode(forge(None, valid_claims(exp=10**20)))
    with pytest.raises(InvalidClaimError):
        ajwt.decode(forge(None, valid_claims(iat=-(10**20))))

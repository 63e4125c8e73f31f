"""permissions_claim=: claim names, dotted paths, unions and shapes; RFC 9068 token types for other issuers."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.claims import PermissionsClaim
from fastapi_apojwt.errors import ConfigurationError, InvalidClaimError, WrongTokenTypeError

SECRET = "a-32-byte-or-longer-random-secret!!"
ISSUER = "https://idp.example.com/"
AUDIENCE = "https://api.example.com"


def foreign(claim: Any = "scope", **options: Any) -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], permissions_claim=claim, **options)


def token(
    claims: dict[str, Any] | None = None, *, header: dict[str, Any] | None = None, drop: tuple[str, ...] = ()
) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "svc", "iat": now, "exp": now + 60, **(claims or {})}
    for name in drop:
        body.pop(name, None)
    return jwt.encode(body, SECRET, algorithm="HS256", headers=header)


# -- reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "claims", "expected"),
    [
        ("scope", {"scope": "openid orders:read  orders:write"}, ("openid", "orders:read", "orders:write")),
        ("scope", {"scope": ""}, ()),
        ("scope", {}, ()),
        ("permissions", {"permissions": ["b", "a", "b"]}, ("b", "a")),
        ("permissions", {"permissions": []}, ()),
        ("realm_access.roles", {"realm_access": {"roles": ["r"]}}, ("r",)),
        ("realm_access.roles", {"realm_access": {}}, ()),
        ("realm_access.roles", {}, ()),
        ("resource_access.orders-api.roles", {"resource_access": {"orders-api": {"roles": ["w"]}}}, ("w",)),
        ("resource_access.orders-api.roles", {"resource_access": {"other": {"roles": ["w"]}}}, ()),
        (["realm_access.roles", "scope"], {"realm_access": {"roles": ["a", "b"]}, "scope": "b c"}, ("a", "b", "c")),
        (("scp", "roles"), {"roles": ["Admin"]}, ("Admin",)),
        ("https://example.com/roles", {"https://example.com/roles": ["editor"]}, ("editor",)),
        ("a.b", {"a.b": "flat", "a": {"b": "nested"}}, ("flat",)),
    ],
)
def test_read(spec: Any, claims: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert PermissionsClaim(spec).read(claims) == expected


@pytest.mark.parametrize(
    "claims",
    [
        {"scope": 3},
        {"scope": None},
        {"scope": True},
        {"scope": {"orders": "read"}},
        {"scope": ["ok", 1]},
        {"scope": [["nested"]]},
        {"realm_access": "roles"},
        {"realm_access": {"roles": "not-a-list-but-a-string-is-fine"}, "scope": 1.5},
        {"realm_access": {"roles": {"a": 1}}},
        {"realm_access": None},
    ],
)
def test_wrong_shapes_are_invalid(claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidClaimError):
        PermissionsClaim(["realm_access.roles", "scope"]).read(claims)


@pytest.mark.parametrize(
    "spec", ["", " ", "a..b", ".a", "a.", [], ["ok", ""], ["ok", 3], b"scope", {"scope": 1}, 7, None]
)
def test_settings_are_checked_at_start_up(spec: Any) -> None:
    with pytest.raises(ConfigurationError, match="permissions_claim"):
        foreign(spec)


def test_default_is_perms() -> None:
    assert PermissionsClaim().is_default
    assert PermissionsClaim(["perms"]).is_default
    assert not PermissionsClaim(["perms", "scope"]).is_default
    assert foreign("perms").codec.permissions_claim is None


# -- through decode ----------------------------------------------------------------------------------


def test_decode_reads_the_configured_claims() -> None:
    ajwt = foreign(["realm_access.roles", "scope"])
    ctx = ajwt.decode(token({"realm_access": {"roles": ["admin"]}, "scope": "openid orders:read"}))
    assert ctx.permissions == ("admin", "openid", "orders:read")
    assert ctx.has_permission("orders:read")
    assert not ctx.has_permission("orders:write")
    assert "perms" not in ctx.claims


def test_missing_claim_means_no_permissions() -> None:
    assert foreign().decode(token()).permissions == ()


@pytest.mark.parametrize("cache_size", [0, 4096])
def test_wrong_shape_is_401_cached_or_not(cache_size: int) -> None:
    ajwt = foreign(cache_size=cache_size)
    bad = token({"scope": ["orders:read", 7]})
    for _ in range(3):
        with pytest.raises(InvalidClaimError) as caught:
            ajwt.decode(bad)
        assert caught.value.status_code == 401
    with pytest.raises(InvalidClaimError):
        ajwt.codec.verify(bad, "access")


def test_permissions_are_read_once_per_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    ajwt = foreign()
    calls: list[object] = []
    original = PermissionsClaim.read
    monkeypatch.setattr(PermissionsClaim, "read", lambda self, claims: calls.append(1) or original(self, claims))
    good = token({"scope": "a b"})
    contexts = [ajwt.decode(good) for _ in range(50)]
    assert len(calls) == 2  # two verifications (the cache admits a token on its second), then 48 hits
    assert {ctx.permissions for ctx in contexts} == {("a", "b")}


def test_own_tokens_keep_their_permissions_when_perms_is_listed() -> None:
    ajwt = foreign(["perms", "scope"])
    own = ajwt.create_token(sub="alice", permissions=["orders:read"])
    assert ajwt.decode(own).permissions == ("orders:read",)


# -- token types (RFC 9068 and Keycloak) ------------------------------------------------------------


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/AT+JWT", "JWT", "jwt", None])
def test_accepted_typ_headers(typ: str | None) -> None:
    header = {"typ": typ} if typ is not None else {"typ": None}
    assert foreign().decode(token({"scope": "x"}, header=header)).permissions == ("x",)


@pytest.mark.parametrize(
    "typ", ["JOSE", "dpop+jwt", "logout+jwt", "secevent+jwt", "application/jwt+refresh", 1, ["JWT"]]
)
def test_other_typ_headers_are_refused(typ: Any) -> None:
    with pytest.raises(WrongTokenTypeError, match="typ"):
        foreign().decode(token(header={"typ": typ}))


def test_empty_typ_header_is_refused() -> None:
    import base64
    import hashlib
    import hmac
    import json

    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = jwt.decode(token(), options={"verify_signature": False})
    signing_input = segment({"alg": "HS256", "typ": ""}) + "." + segment(claims)
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    raw = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(WrongTokenTypeError, match="typ"):
        foreign().decode(raw)


@pytest.mark.parametrize("typ", ["Bearer", "bearer"])
def test_keycloak_bearer_typ_claim(typ: str) -> None:
    assert foreign().decode(token({"typ": typ})).sub == "svc"


@pytest.mark.parametrize("typ", ["Refresh", "ID", "Offline", "Logout", "", None, 1])
def test_other_typ_claims_are_refused(typ: Any) -> None:
    with pytest.raises(WrongTokenTypeError, match="typ"):
        foreign().decode(token({"typ": typ}))


def test_this_packages_refresh_type_is_refused() -> None:
    with pytest.raises(WrongTokenTypeError):
        foreign().decode(token({"type": "refresh"}))
    assert foreign().decode(token({"type": "access"})).sub == "svc"


@pytest.mark.parametrize(("claims", "drop"), [({}, ("sub",)), ({"sub": 7}, ()), ({"sub": None}, ())])
def test_sub_is_required(claims: dict[str, Any], drop: tuple[str, ...]) -> None:
    with pytest.raises(InvalidClaimError, match="sub"):
        foreign().decode(token(claims, drop=drop))


def test_iat_is_required() -> None:
    with pytest.raises(InvalidClaimError, match="iat"):
        foreign().decode(token(drop=("iat",)))


def test_default_rules_are_unchanged() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    with pytest.raises(WrongTokenTypeError):  # no perms: an apojwt 1.x refresh token
        ajwt.decode(token({"scope": "a"}))
    with pytest.raises(InvalidClaimError, match="perms"):
        ajwt.decode(token({"perms": "a b"}))
    assert ajwt.decode(token({"perms": ["a", "a"]}, header={"typ": "JOSE"})).permissions == ("a", "a")

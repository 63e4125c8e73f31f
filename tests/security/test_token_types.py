"""Token-type confusion and refresh-cookie attacks, including apojwt 1.7 token shapes.

Catalogue: RFC 8725 §2.8 and §3.12 (cross-JWT confusion, explicit typing);
OWASP JWT cheat sheet (refresh token reuse, token sidejacking), OAuth 2.0
Security BCP (RFC 9700) §4.14 (refresh token rotation and replay detection);
OWASP CSRF cheat sheet (signed double-submit cookie); the contract: "an
access token is never accepted where a refresh token is expected, nor the
reverse, whatever the secrets".
"""

from typing import Any

import apojwt
import pytest

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.refresh import csrf_value
from tests.security.attack import (
    AUDIENCE,
    ISSUER,
    REFRESH_SECRET,
    SECRET,
    Target,
    assert_not_echoed,
    assert_refusal,
    forge,
    make_target,
    valid_claims,
)


@pytest.fixture
def target() -> Target:
    """A fresh target per test: refresh tokens are single-use state."""
    return make_target(refresh=True)


def _refresh_claims(**overrides: Any) -> dict[str, Any]:
    claims = valid_claims(type="refresh", perms=None, fam="family-1", sub="alice")
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def post_refresh(
    target: Target, token: str | None, *, csrf: str | None = "auto", csrf_cookie: str | None = "auto"
) -> Any:
    """POST /refresh with the refresh cookie, and the CSRF header and cookie (``auto``: the correct value)."""
    client = target.client
    client.cookies.clear()
    headers: dict[str, str] = {}
    correct = csrf_value(target.ajwt.sessions.settings.csrf_key, token) if token else None
    if token is not None:
        client.cookies.set("refresh_token", token)
    cookie_value = correct if csrf_cookie == "auto" else csrf_cookie
    if cookie_value is not None:
        client.cookies.set("csrf_refresh_token", cookie_value)
    header_value = correct if csrf == "auto" else csrf
    if header_value is not None:
        headers["X-CSRF-Token"] = header_value
    try:
        return client.post("/refresh", headers=headers)
    finally:
        client.cookies.clear()


def assert_refresh_works(target: Target) -> None:
    """Control: a genuine, unused refresh token (with its CSRF value) still refreshes on the same app."""
    _, refresh = target.ajwt.create_token(sub="alice", permissions=["orders:read"])
    response = post_refresh(target, refresh)
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == "alice"


def assert_refresh_rejected(target: Target, token: str | None, *, status: int = 401, **csrf: Any) -> Any:
    response = post_refresh(target, token, **csrf)
    error = "invalid_token" if status == 401 else None
    if status == 403:
        assert response.status_code == 403, response.text
        assert set(response.json()) == {"detail"}
    else:
        assert_refusal(response.status_code, response.headers, response.content, status=status, error=error)
    assert_not_echoed(token, response.headers, response.content)
    assert_refresh_works(target)
    return response


# -- access <-> refresh confusion -------------------------------------------------------------------


def test_rfc8725_2_8_refresh_token_as_access_token(target: Target) -> None:
    """RFC 8725 §2.8: a genuine refresh token in the Authorization header is refused."""
    assert target.genuine_refresh is not None
    target.assert_rejected(target.genuine_refresh, path="/me")


def test_rfc8725_2_8_access_token_in_refresh_cookie(target: Target) -> None:
    """RFC 8725 §2.8: a genuine access token in the refresh cookie is refused (with a valid-looking CSRF)."""
    assert_refresh_rejected(target, target.genuine)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(_refresh_claims(), id="typed-refresh"),
        pytest.param(_refresh_claims(type=None, fam=None, sub=None), id="apojwt17-refresh-shape"),
        pytest.param(_refresh_claims(perms=["admin"]), id="refresh-type-with-perms"),
        pytest.param(valid_claims(type="refresh"), id="access-shape-typed-refresh"),
        pytest.param(valid_claims(type="id"), id="type-id"),
    ],
)
def test_rfc8725_3_12_refresh_shape_signed_with_access_secret(target: Target, claims: dict[str, Any]) -> None:
    """RFC 8725 §3.12 (shared secret): refresh-shaped tokens signed with the *access* secret are not access tokens."""
    target.assert_rejected(forge(None, claims, key=SECRET), path="/me")


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param(valid_claims(sub="alice"), id="typed-access"),
        pytest.param(valid_claims(sub="alice", type=None, jti=None), id="apojwt17-access-shape"),
        pytest.param(valid_claims(sub="alice", type="refresh"), id="typed-refresh-with-perms"),
        pytest.param(_refresh_claims(type="access"), id="access-type-without-perms"),
        pytest.param(_refresh_claims(type="Refresh"), id="type-case-variant"),
    ],
)
def test_rfc8725_3_12_access_shape_signed_with_refresh_secret(target: Target, claims: dict[str, Any]) -> None:
    """RFC 8725 §3.12 (shared secret): access-shaped tokens signed with the *refresh* secret never refresh."""
    assert_refresh_rejected(target, forge(None, claims, key=REFRESH_SECRET))


def test_refresh_token_signed_with_access_secret_in_cookie(target: Target) -> None:
    """A correctly typed refresh token signed with the access secret does not refresh (separate keys)."""
    assert_refresh_rejected(target, forge(None, _refresh_claims(), key=SECRET))


def test_shared_secret_configuration_refused() -> None:
    """RFC 8725 §3.12: the refresh secret may not equal the access secret (so types never rely on claims alone)."""
    from fastapi_apojwt import ConfigurationError

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    with pytest.raises(ConfigurationError):
        ajwt.config_refresh(SECRET)
    with pytest.raises(ConfigurationError):
        ajwt.config_refresh(SECRET.encode())


# -- apojwt 1.7 minted tokens (the real package) ----------------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["apojwt17-shared-secret", "apojwt17-separate-secrets"])
def test_apojwt17_refresh_token_never_passes_as_access(target: Target, shared: bool) -> None:
    """apojwt 1.7 shapes: its refresh token (no ``perms``, no ``type``) is refused as an access token."""
    legacy = apojwt.ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    legacy.config_refresh(SECRET if shared else REFRESH_SECRET)
    access, refresh = legacy.create_token(sub="alice", permissions=["orders:read"])
    assert target.get("/orders", access).status_code == 200  # its access token is accepted (compatibility)
    target.assert_rejected(refresh, path="/orders")
    target.assert_rejected(refresh, path="/me")


@pytest.mark.parametrize("shared", [True, False], ids=["apojwt17-shared-secret", "apojwt17-separate-secrets"])
def test_apojwt17_access_token_never_refreshes(target: Target, shared: bool) -> None:
    """apojwt 1.7 shapes: its access token (has ``perms``), even signed with the refresh secret, never refreshes."""
    legacy = apojwt.ApoJWT(REFRESH_SECRET if shared else SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    legacy.config_refresh(REFRESH_SECRET)
    access, refresh = legacy.create_token(sub="alice", permissions=["orders:read"])
    assert_refresh_rejected(target, access)
    assert post_refresh(target, refresh).status_code == 200  # its refresh token is accepted (compatibility)


def test_apojwt17_refresh_token_is_single_use(target: Target) -> None:
    """RFC 9700 §4.14.2: an apojwt 1.7 refresh token (no ``jti``) is retired on use like ours."""
    legacy = apojwt.ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    legacy.config_refresh(REFRESH_SECRET)
    _, refresh = legacy.create_token(sub="alice", permissions=["orders:read"])
    assert post_refresh(target, refresh).status_code == 200
    assert_refresh_rejected(target, refresh)


# -- refresh cookie tampering, CSRF, replay ----------------------------------------------------------


def _tamper(token: str, **changes: Any) -> str:
    import base64
    import json

    from tests.security.attack import segment

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{segment(claims)}.{signature}"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"sub": "root"}, id="sub"),
        pytest.param({"exp": 4102444800}, id="exp"),
        pytest.param({"fam": "other-family"}, id="fam"),
        pytest.param({"data": {"role": "admin"}}, id="data"),
        pytest.param({"jti": "fresh-jti"}, id="jti-reset-replay"),
    ],
)
def test_owasp_refresh_cookie_payload_tampering(target: Target, change: dict[str, Any]) -> None:
    """OWASP: a tampered refresh cookie is refused even when its CSRF value matches the tampered token."""
    assert target.genuine_refresh is not None
    assert_refresh_rejected(target, _tamper(target.genuine_refresh, **change))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("null", id="null"),
        pytest.param("a.b.c", id="garbage"),
        pytest.param("x" * 5000, id="long"),
    ],
)
def test_refresh_cookie_garbage(target: Target, token: str) -> None:
    """Garbage in the refresh cookie is a 401 (never a 500) and nothing is echoed."""
    response = post_refresh(target, token or None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_refresh_works(target)


def test_refresh_alg_none(target: Target) -> None:
    """RFC 7518 §3.6: an unsigned refresh token is refused."""
    assert_refresh_rejected(target, forge({"alg": "none"}, _refresh_claims(), key=None))


@pytest.mark.parametrize(
    ("csrf", "csrf_cookie"),
    [
        pytest.param(None, "auto", id="no-header"),
        pytest.param("auto", None, id="no-cookie"),
        pytest.param("attacker", "attacker", id="attacker-chosen-pair"),
        pytest.param("attacker", "auto", id="header-mismatch"),
        pytest.param("auto", "attacker", id="cookie-mismatch"),
        pytest.param("", "", id="empty-pair"),
    ],
)
def test_owasp_csrf_double_submit(target: Target, csrf: str | None, csrf_cookie: str | None) -> None:
    """OWASP CSRF (signed double submit): header, cookie and an HMAC of the refresh token must all agree."""
    assert target.genuine_refresh is not None
    assert_refresh_rejected(target, target.genuine_refresh, status=403, csrf=csrf, csrf_cookie=csrf_cookie)


def test_csrf_value_of_another_refresh_token(target: Target) -> None:
    """A CSRF pair stolen from another session does not fit this refresh token."""
    _, other = target.ajwt.create_token(sub="mallory")
    stolen = csrf_value(target.ajwt.sessions.settings.csrf_key, other)
    assert target.genuine_refresh is not None
    assert_refresh_rejected(target, target.genuine_refresh, status=403, csrf=stolen, csrf_cookie=stolen)


def test_rfc9700_4_14_2_replay_revokes_family(target: Target) -> None:
    """RFC 9700 §4.14.2: replaying a used refresh token is refused and kills the tokens rotated from it."""
    assert target.genuine_refresh is not None
    first = post_refresh(target, target.genuine_refresh)
    assert first.status_code == 200, first.text
    rotated = first.json()["refresh_token"]
    replay = post_refresh(target, target.genuine_refresh)
    assert_refusal(replay.status_code, replay.headers, replay.content, status=401, error="invalid_token")
    assert_refresh_rejected(target, rotated)  # the family died with the replay

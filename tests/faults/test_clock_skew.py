"""Clock skew between issuer and verifier, within and beyond ``leeway``.

Expected behaviour (docs/security.md, "Faults"): ``leeway`` seconds of skew
are tolerated in both directions (a token issued by a clock that runs ahead,
a token that expired a moment ago on the verifier's clock); one second beyond
the leeway the token is refused with 401 ``invalid_token``. The verified-token
cache never extends a token's life: its time window is rechecked on each hit.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, ConfigurationError
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET
from tests.security.attack import build_app

T = 1_900_000_000.0
LIFETIME = 900


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def instance(clock: Clock, leeway: float = 0) -> ApoJWT:
    ajwt = ApoJWT(
        SECRET,
        exp_period=LIFETIME,
        iss=ISSUER,
        server_audience=[AUDIENCE],
        leeway=leeway,
        clock=clock,
        admin_permission="admin",
    )
    ajwt.config_refresh(REFRESH_SECRET)
    return ajwt


def status(verifier: ApoJWT, token: str) -> int:
    client = TestClient(build_app(verifier))
    return client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.parametrize(
    ("skew", "leeway", "expected"),
    [
        pytest.param(30, 60, 200, id="issuer-ahead-30s-within-leeway-60"),
        pytest.param(60, 60, 200, id="issuer-ahead-exactly-leeway"),
        pytest.param(61, 60, 401, id="issuer-ahead-1s-beyond-leeway"),
        pytest.param(30, 0, 401, id="issuer-ahead-30s-no-leeway"),
        pytest.param(-(LIFETIME + 30), 60, 200, id="expired-30s-ago-within-leeway-60"),
        pytest.param(-(LIFETIME + 59), 60, 200, id="expired-59s-ago-within-leeway-60"),
        pytest.param(-(LIFETIME + 60), 60, 401, id="expired-exactly-leeway-ago"),
        pytest.param(-(LIFETIME + 1), 0, 401, id="expired-1s-ago-no-leeway"),
        pytest.param(-(LIFETIME - 1), 0, 200, id="one-second-left-no-leeway"),
    ],
)
def test_clock_skew_access_tokens(skew: float, leeway: float, expected: int) -> None:
    """Issuer clock ``skew`` seconds off the verifier's: accepted within ``leeway``, 401 beyond."""
    issuer = instance(Clock(T + skew))
    verifier = instance(Clock(T), leeway=leeway)
    access, _ = issuer.create_token(sub="alice", permissions=["orders:read"])
    assert status(verifier, access) == expected
    if expected == 401:
        client = TestClient(build_app(verifier))
        response = client.get("/me", headers={"Authorization": f"Bearer {access}"})
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("skew", "leeway", "expected"),
    [
        pytest.param(30, 60, 200, id="refresh-issuer-ahead-within-leeway"),
        pytest.param(90, 60, 401, id="refresh-issuer-ahead-beyond-leeway"),
        pytest.param(-(86400 + 30), 60, 200, id="refresh-expired-within-leeway"),
        pytest.param(-(86400 + 90), 60, 401, id="refresh-expired-beyond-leeway"),
    ],
)
def test_clock_skew_refresh_tokens(skew: float, leeway: float, expected: int) -> None:
    """Refresh tokens follow the same leeway rule."""
    from fastapi_apojwt.refresh import csrf_value

    issuer = instance(Clock(T + skew))
    verifier = instance(Clock(T), leeway=leeway)
    _, refresh = issuer.create_token(sub="alice", permissions=["orders:read"])
    csrf = csrf_value(verifier.sessions.settings.csrf_key, refresh)
    client = TestClient(build_app(verifier))
    client.cookies.set("refresh_token", refresh)
    client.cookies.set("csrf_refresh_token", csrf)
    assert client.post("/refresh", headers={"X-CSRF-Token": csrf}).status_code == expected


def test_cache_never_extends_a_token_past_exp_plus_leeway() -> None:
    """A token accepted (and cached) earlier is refused once the verifier's clock passes exp + leeway."""
    clock = Clock(T)
    ajwt = instance(clock, leeway=5)
    client = TestClient(build_app(ajwt))
    access, _ = ajwt.create_token(sub="alice", permissions=["orders:read"])
    headers = {"Authorization": f"Bearer {access}"}
    assert client.get("/me", headers=headers).status_code == 200
    assert client.get("/me", headers=headers).status_code == 200  # a cache hit
    clock.now = T + LIFETIME + 4
    assert client.get("/me", headers=headers).status_code == 200  # within leeway
    clock.now = T + LIFETIME + 5
    assert client.get("/me", headers=headers).status_code == 401
    clock.now = T  # and a clock stepping back does not resurrect anything unsafe: the token is valid again
    assert client.get("/me", headers=headers).status_code == 200


def test_verifier_clock_behind_issuer_nbf() -> None:
    """A verifier whose clock is behind sees a not-yet-valid token: 401 until its clock catches up."""
    clock = Clock(T - 120)
    verifier = instance(clock, leeway=30)
    issuer = instance(Clock(T))
    access, _ = issuer.create_token(sub="alice", permissions=["orders:read"])
    client = TestClient(build_app(verifier))
    headers = {"Authorization": f"Bearer {access}"}
    assert client.get("/me", headers=headers).status_code == 401
    clock.now = T - 30
    assert client.get("/me", headers=headers).status_code == 200


@pytest.mark.parametrize("leeway", [-1, -0.5])
def test_negative_leeway_refused(leeway: float) -> None:
    """A negative leeway is a configuration error, not a silent tightening."""
    with pytest.raises(ConfigurationError):
        ApoJWT(SECRET, iss=ISSUER, leeway=leeway)

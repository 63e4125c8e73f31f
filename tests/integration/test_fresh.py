"""Fresh tokens: login tokens are fresh, refreshed ones are not; fresh guards answer 401 with a reason."""

from fastapi.testclient import TestClient

from tests.integration.refresh_helpers import make_ajwt, make_app, refresh_headers

HTTPS = "https://testserver"


def test_login_token_is_fresh_refreshed_is_not() -> None:
    ajwt = make_ajwt()
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    login_access = client.post("/auth/login").json()["access_token"]
    assert client.get("/me", headers={"Authorization": f"Bearer {login_access}"}).json()["fresh"] is True
    refreshed = client.post("/auth/refresh", headers={"X-CSRF-Token": client.cookies["csrf_refresh_token"]}).json()[
        "access_token"
    ]
    assert client.get("/me", headers={"Authorization": f"Bearer {refreshed}"}).json()["fresh"] is False

    for method, path in (("POST", "/password"), ("DELETE", "/account")):
        ok = client.request(method, path, headers={"Authorization": f"Bearer {login_access}"})
        assert ok.status_code == 200, path
        stale = client.request(method, path, headers={"Authorization": f"Bearer {refreshed}"})
        assert stale.status_code == 401
        assert stale.json() == {"detail": "This action needs a fresh token: log in again."}
        assert stale.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_explicit_fresh_argument_and_guard_identity() -> None:
    ajwt = make_ajwt()
    access, _ = ajwt.create_token(sub="alice", fresh=False)
    assert ajwt.decode(access).fresh is False
    assert ajwt.permission(fresh=True) is ajwt.permission(fresh=True)
    assert ajwt.fresh_token_required is ajwt.fresh_token_required
    assert ajwt.permission("orders:read", fresh=True) is not ajwt.permission("orders:read")


def test_rotate_is_never_fresh_and_keeps_refresh_data() -> None:
    ajwt = make_ajwt()
    app = make_app(ajwt)
    client = TestClient(app, base_url=HTTPS)
    _, refresh = ajwt.create_token(sub="alice", refresh_data={"user": "alice", "device": "phone"})
    response = client.post("/auth/refresh", headers=refresh_headers(refresh, ajwt.csrf_token(refresh)))
    assert response.status_code == 200
    assert response.json()["data"] == {"user": "alice", "device": "phone"}
    assert ajwt.decode(response.json()["access_token"]).fresh is False


def test_token_without_fresh_claim_is_not_fresh() -> None:
    from apojwt import ApoJWT as LegacyApoJWT

    from tests.conftest import AUDIENCE, ISSUER, SECRET

    legacy = LegacyApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    token = legacy.create_token(sub="alice", permissions=["orders:read"])
    ajwt = make_ajwt()
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post("/password", headers={"Authorization": f"Bearer {token}"}).status_code == 401

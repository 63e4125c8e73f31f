"""ajwt.refresh: the cookie dependency, rotation, families, reuse detection, finders, legacy tokens."""

import asyncio
from datetime import datetime, timezone
from typing import Annotated, Any

import httpx
import pytest
from apojwt import ApoJWT as LegacyApoJWT
from fastapi import Cookie, Depends, FastAPI, Header, Response
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, ConfigurationError, RefreshContext
from fastapi_apojwt.refresh import csrf_value
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET
from tests.integration.refresh_helpers import make_ajwt, make_app, refresh_headers

HTTPS = "https://testserver"


@pytest.fixture
def ajwt() -> ApoJWT:
    return make_ajwt()


@pytest.fixture
def client(ajwt: ApoJWT) -> TestClient:
    return TestClient(make_app(ajwt), base_url=HTTPS)


def login(client: TestClient, sub: str = "alice") -> tuple[str, str, str]:
    """Log in; return (access token, refresh token, csrf value)."""
    response = client.post("/auth/login", params={"sub": sub})
    assert response.status_code == 200
    return response.json()["access_token"], client.cookies["refresh_token"], client.cookies["csrf_refresh_token"]


def do_refresh(client: TestClient, refresh: str, csrf: str, path: str = "/auth/refresh") -> httpx.Response:
    client.cookies.clear()
    return client.post(path, headers=refresh_headers(refresh, csrf))


def test_refresh_returns_context_and_rotates(ajwt: ApoJWT, client: TestClient) -> None:
    access, refresh, csrf = login(client)
    response = do_refresh(client, refresh, csrf)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sub"] == "alice"
    assert body["data"] == {"user": "alice"}
    new_refresh = client.cookies["refresh_token"]
    assert new_refresh != refresh
    # same family, not fresh; the login token was fresh
    old_claims = ajwt.decode(access).claims
    new_ctx = ajwt.decode(body["access_token"])
    assert old_claims["fresh"] is True
    assert new_ctx.fresh is False
    assert new_ctx.claims["fam"] == old_claims["fam"] == body["family"]
    # the new refresh token works once more, carrying the same refresh_data
    again = do_refresh(client, new_refresh, client.cookies["csrf_refresh_token"])
    assert again.status_code == 200
    assert again.json()["data"] == {"user": "alice"}


def test_replay_revokes_the_whole_family(client: TestClient) -> None:
    access, refresh, csrf = login(client)
    first = do_refresh(client, refresh, csrf)
    assert first.status_code == 200
    stolen_next = client.cookies["refresh_token"], client.cookies["csrf_refresh_token"]
    new_access = first.json()["access_token"]

    replay = do_refresh(client, refresh, csrf)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    assert replay.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert refresh not in replay.text

    # the legitimate successor is dead too, and so are the family's access tokens
    after = do_refresh(client, *stolen_next)
    assert after.status_code == 401
    assert after.json()["detail"] == "The token has been revoked."
    for token in (access, new_access):
        me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
        assert me.json()["detail"] == "The token has been revoked."


def test_seed_pattern_create_token_in_handler_stays_in_family(ajwt: ApoJWT, client: TestClient) -> None:
    access, refresh, csrf = login(client)
    response = do_refresh(client, refresh, csrf, "/auth/refresh-seed")
    assert response.status_code == 200
    ctx = ajwt.decode(response.json()["access_token"])
    assert ctx.fresh is False
    assert ctx.claims["fam"] == ajwt.decode(access).claims["fam"]
    # replaying the first token kills what the seed-style handler minted
    assert do_refresh(client, refresh, csrf).status_code == 401
    me = client.get("/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.status_code == 401


def test_logins_start_separate_families(ajwt: ApoJWT, client: TestClient) -> None:
    a1, r1, c1 = login(client)
    a2, r2, c2 = login(client)
    assert ajwt.decode(a1).claims["fam"] != ajwt.decode(a2).claims["fam"]
    assert do_refresh(client, r1, c1).status_code == 200
    assert do_refresh(client, r1, c1).status_code == 401  # replay kills family 1 only
    assert do_refresh(client, r2, c2).status_code == 200


def test_missing_and_wrong_tokens_are_401(ajwt: ApoJWT, client: TestClient) -> None:
    missing = client.post("/auth/refresh")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "refresh_token cookie is missing" in missing.json()["detail"]

    access, refresh, _ = login(client)
    # an access token in the refresh cookie (CSRF value computed for it, so only the type check can stop it)
    wrong = do_refresh(client, access, csrf_value(ajwt.sessions.settings.csrf_key, access))
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    # a refresh token as a bearer access token
    client.cookies.clear()
    as_bearer = client.get("/me", headers={"Authorization": f"Bearer {refresh}"})
    assert as_bearer.status_code == 401
    garbage = do_refresh(client, "not.a.jwt", csrf_value(ajwt.sessions.settings.csrf_key, "not.a.jwt"))
    assert garbage.status_code == 401


def test_expired_refresh_token(ajwt: ApoJWT) -> None:
    clock = [1_800_000_000.0]
    timed = make_ajwt(clock=lambda: clock[0])
    client = TestClient(make_app(timed), base_url=HTTPS)
    _, refresh, csrf = login(client)
    clock[0] += 3601
    response = do_refresh(client, refresh, csrf)
    assert response.status_code == 401
    assert response.json()["detail"] == "The token has expired."


async def test_concurrent_refreshes_exactly_one_wins(ajwt: ApoJWT) -> None:
    app = make_app(ajwt)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=HTTPS) as client:
        login_response = await client.post("/auth/login")
        refresh, csrf = login_response.cookies["refresh_token"], login_response.cookies["csrf_refresh_token"]
        client.cookies.clear()
        responses = await asyncio.gather(
            *(client.post("/auth/refresh", headers=refresh_headers(refresh, csrf)) for _ in range(20))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1
    assert statuses.count(401) == 19


def test_guard_identity_and_openapi(ajwt: ApoJWT) -> None:
    assert ajwt.refresh is ajwt.refresh
    assert ajwt.refresh_token_required is ajwt.refresh_token_required
    schema = make_app(ajwt).openapi()
    scheme = schema["components"]["securitySchemes"]["RefreshCookie"]
    assert scheme == {"type": "apiKey", "in": "cookie", "name": "refresh_token", "description": scheme["description"]}
    assert schema["paths"]["/auth/refresh"]["post"]["security"] == [{"RefreshCookie": []}]
    assert "security" not in schema["paths"]["/auth/login"]["post"]


def test_refresh_needs_configuration() -> None:
    bare = ApoJWT(SECRET, iss=ISSUER)
    with pytest.raises(ConfigurationError, match="config_refresh"):
        _ = bare.refresh
    with pytest.raises(ConfigurationError, match="equals the access secret"):
        bare.config_refresh(SECRET)


def test_dependency_override_of_refresh(ajwt: ApoJWT) -> None:
    app = make_app(ajwt)

    def fake() -> RefreshContext:
        now = datetime.now(timezone.utc)
        return RefreshContext(sub="bob", data={}, exp=now, iat=now, jti="x", family="f", claims={}, token="")

    app.dependency_overrides[ajwt.refresh] = fake
    response = TestClient(app, base_url=HTTPS).post("/auth/refresh")
    assert response.status_code == 200
    assert response.json()["sub"] == "bob"


def test_decorator_injects_refresh_data(ajwt: ApoJWT) -> None:
    app = make_app(ajwt)

    @app.post("/auth/legacy-refresh")
    @ajwt.refresh
    def legacy_refresh(refresh_data: dict[str, Any]) -> dict[str, Any]:
        access, _refresh = ajwt.create_token(sub=refresh_data["user"], refresh_data=refresh_data)
        return {"refresh_data": refresh_data, "fresh": ajwt.decode(access).fresh}

    client = TestClient(app, base_url=HTTPS)
    _, refresh, csrf = login(client)
    response = do_refresh(client, refresh, csrf, "/auth/legacy-refresh")
    assert response.status_code == 200, response.text
    assert response.json() == {"refresh_data": {"user": "alice"}, "fresh": False}
    assert do_refresh(client, refresh, csrf, "/auth/legacy-refresh").status_code == 401
    operation = app.openapi()["paths"]["/auth/legacy-refresh"]["post"]
    assert "requestBody" not in operation
    assert operation["security"] == [{"RefreshCookie": []}]


def test_refresh_finder_cookie_parameter() -> None:
    def refresh_finder(session: str | None = Cookie(default=None)) -> str | None:
        return session

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ajwt.config_refresh(REFRESH_SECRET, refresh_finder=refresh_finder)
    app = FastAPI()

    @app.post("/auth/refresh")
    async def refresh(ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, str]:
        return {"sub": ctx.sub}

    _, token = ajwt.create_token(sub="carol")
    client = TestClient(app, base_url=HTTPS)
    # a cookie carries it, so the CSRF check applies
    no_csrf = client.post("/auth/refresh", headers={"Cookie": f"session={token}"})
    assert no_csrf.status_code == 403
    csrf = ajwt.csrf_token(token)
    ok = client.post(
        "/auth/refresh",
        headers={"Cookie": f"session={token}; csrf_refresh_token={csrf}", "X-CSRF-Token": csrf},
    )
    assert ok.status_code == 200
    assert ok.json() == {"sub": "carol"}


def test_refresh_finder_header_needs_no_csrf() -> None:
    def refresh_finder(x_refresh_token: str | None = Header(default=None)) -> str | None:
        return x_refresh_token

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ajwt.config_refresh(REFRESH_SECRET, refresh_finder=refresh_finder)
    app = FastAPI()

    @app.post("/refresh")
    async def refresh(ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, str]:
        return {"sub": ctx.sub}

    _, token = ajwt.create_token(sub="dave")
    client = TestClient(app)
    assert client.post("/refresh", headers={"X-Refresh-Token": token}).json() == {"sub": "dave"}
    assert client.post("/refresh", headers={"X-Refresh-Token": token}).status_code == 401  # used up
    assert client.post("/refresh").status_code == 401


def test_apojwt_1_7_refresh_token_is_accepted_once() -> None:
    legacy = LegacyApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    legacy.config_refresh(REFRESH_SECRET)
    _, legacy_refresh = legacy.create_token(sub="erin", refresh_data={"user": "erin"})
    ajwt = make_ajwt(csrf=False)
    app = make_app(ajwt)
    client = TestClient(app, base_url=HTTPS)
    first = client.post("/auth/refresh-seed", headers={"Cookie": f"refresh_token={legacy_refresh}"})
    assert first.status_code == 200, first.text
    assert client.post("/auth/refresh-seed", headers={"Cookie": f"refresh_token={legacy_refresh}"}).status_code == 401


def test_set_cookie_for_response_without_refresh_configured() -> None:
    bare = ApoJWT(SECRET, iss=ISSUER)
    with pytest.raises(ConfigurationError):
        bare.set_refresh_cookies(Response(), "x")


def test_rotating_block_for_frameworks_calling_views_elsewhere(ajwt: ApoJWT) -> None:
    from fastapi_apojwt.refresh import current_rotation, rotating

    access, _ = ajwt.create_token(sub="alice")
    family = ajwt.decode(access).claims["fam"]
    now = datetime.now(timezone.utc)
    ctx = RefreshContext(sub="alice", data={}, exp=now, iat=now, jti="j", family=family, claims={}, token="")
    with rotating(ctx):
        inside, _ = ajwt.create_token(sub="alice")
    after, _ = ajwt.create_token(sub="alice")
    assert current_rotation() is None
    assert ajwt.decode(inside).claims["fam"] == family
    assert ajwt.decode(inside).fresh is False
    assert ajwt.decode(after).claims["fam"] != family
    assert ajwt.decode(after).fresh is True


def test_seed_readme_refresh_finder_with_the_classic_decorator() -> None:
    from typing import Union  # the README's spelling

    def refresh_finder(refresh_token: Union[str, None] = Cookie(default=None)) -> str | None:  # noqa: UP007
        return refresh_token

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ajwt.config_refresh(REFRESH_SECRET, refresh_finder=refresh_finder)
    app = FastAPI()

    @app.get("/some/endpoint")
    @ajwt.refresh
    def refresh(refresh_data: dict[str, Any]) -> dict[str, Any]:
        user_id = refresh_data["user_id"]
        access_token, _refresh_token = ajwt.create_token(
            sub=user_id, permissions=["p"], refresh_data={"user_id": user_id}
        )
        return {"user_id": user_id, "fresh": ajwt.decode(access_token).fresh}

    _, token = ajwt.create_token(sub="u1", refresh_data={"user_id": "u1"})
    csrf = ajwt.csrf_token(token)
    client = TestClient(app, base_url=HTTPS)
    headers = {"Cookie": f"refresh_token={token}; csrf_refresh_token={csrf}", "X-CSRF-Token": csrf}
    response = client.get("/some/endpoint", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": "u1", "fresh": False}
    assert client.get("/some/endpoint", headers=headers).status_code == 401


def test_flask_seed_refresh_view_keeps_the_family_and_leaks_nothing() -> None:
    import flask

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], template="flask")
    ajwt.config_refresh(REFRESH_SECRET, csrf=False)
    app = flask.Flask(__name__)

    def describe(access: str) -> dict[str, Any]:
        ctx = ajwt.decode(access)
        return {"fresh": ctx.fresh, "fam": ctx.claims["fam"]}

    @app.post("/auth/refresh")
    @ajwt.refresh
    def refresh(refresh_data: dict[str, Any]) -> dict[str, Any]:
        return describe(ajwt.create_token(sub=refresh_data["user"], refresh_data=refresh_data)[0])

    @app.post("/login")
    def login() -> dict[str, Any]:
        return describe(ajwt.create_token(sub="alice")[0])

    client = app.test_client()
    first_access, first_refresh = ajwt.create_token(sub="alice", refresh_data={"user": "alice"})
    client.set_cookie("refresh_token", first_refresh)
    refreshed = client.post("/auth/refresh").json
    assert refreshed == {"fresh": False, "fam": ajwt.decode(first_access).claims["fam"]}
    later_login = client.post("/login").json  # same thread: nothing carried over
    assert later_login is not None
    assert later_login["fresh"] is True
    assert later_login["fam"] != refreshed["fam"]


def test_the_refresh_context_is_immutable_all_the_way_down(ajwt: ApoJWT) -> None:
    seen: list[RefreshContext] = []
    app = FastAPI()

    @app.post("/auth/refresh")
    async def refresh(ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> RefreshContext:
        seen.append(ctx)
        return ctx

    _, refresh_token = ajwt.create_token_pair(sub="alice", permissions=[], refresh_data={"roles": ["a"], "n": 1})
    client = TestClient(app, base_url=HTTPS)
    response = client.post(
        "/auth/refresh",
        headers=refresh_headers(refresh_token, csrf_value(ajwt.sessions.settings.csrf_key, refresh_token)),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"roles": ["a"], "n": 1}  # serialised as the plain object it is
    assert refresh_token not in response.text
    ctx = seen[0]
    assert ctx.data == {"roles": ["a"], "n": 1}
    assert ctx.claims["sub"] == "alice"
    with pytest.raises(TypeError):
        ctx.data["n"] = 2
    with pytest.raises(TypeError):
        ctx.data["roles"].append("admin")
    with pytest.raises(TypeError):
        ctx.claims["sub"] = "root"  # type: ignore[index]

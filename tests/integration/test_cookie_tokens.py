"""Token cookies attribute by attribute, their validation, access tokens in cookies, implicit refresh."""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, ConfigurationError, CookieSettings, ImplicitRefreshMiddleware, TokenContext
from fastapi_apojwt.stores import MemoryStore
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET
from tests.integration.refresh_helpers import Clock, make_ajwt, make_app, set_cookies

HTTPS = "https://testserver"


def test_refresh_cookie_defaults_attribute_by_attribute() -> None:
    client = TestClient(make_app(make_ajwt()), base_url=HTTPS)
    cookies = set_cookies(client.post("/auth/login"))
    refresh, csrf = cookies["refresh_token"], cookies["csrf_refresh_token"]
    assert refresh.flags == {"httponly", "secure"}
    assert refresh.attributes == {"max-age": "3600", "path": "/auth", "samesite": "strict"}
    assert csrf.flags == {"secure"}  # readable by scripts
    assert csrf.attributes == {"max-age": "3600", "path": "/", "samesite": "strict"}
    assert "domain" not in refresh.attributes


def test_refresh_cookie_custom_attributes() -> None:
    settings = CookieSettings(secure=True, samesite="none", path="/api/auth", domain="example.com", max_age=600)
    client = TestClient(make_app(make_ajwt(cookie=settings)), base_url=HTTPS)
    cookies = set_cookies(client.post("/auth/login"))
    refresh = cookies["refresh_token"]
    assert refresh.attributes == {"max-age": "600", "path": "/api/auth", "samesite": "none", "domain": "example.com"}
    assert cookies["csrf_refresh_token"].attributes["domain"] == "example.com"


def test_insecure_cookie_for_plain_http_development() -> None:
    client = TestClient(make_app(make_ajwt(cookie=CookieSettings(secure=False, samesite="lax"))))
    cookies = set_cookies(client.post("/auth/login"))
    assert cookies["refresh_token"].flags == {"httponly"}
    assert cookies["refresh_token"].attributes["samesite"] == "lax"


def test_unset_cookies_match_path_and_domain() -> None:
    ajwt = make_ajwt(cookie=CookieSettings(domain="example.com"))
    response = Response()
    ajwt.unset_refresh_cookies(response)
    headers = response.headers.getlist("set-cookie")
    assert len(headers) == 2
    assert all("Max-Age=0" in h and "Domain=example.com" in h for h in headers)
    assert "Path=/auth" in headers[0]
    assert "HttpOnly" in headers[0]
    assert "Path=/;" in headers[1] or headers[1].endswith("Path=/")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"samesite": "none", "secure": False}, "SameSite=None cookies must be Secure"),
        ({"samesite": "sometimes"}, "samesite must be"),
        ({"path": "auth"}, "path must be a URL path"),
        ({"path": "/a;b"}, "path must be a URL path"),
        ({"csrf_path": ""}, "csrf_path must be"),
        ({"domain": "evil.com; Secure"}, "domain must be"),
        ({"domain": ""}, "domain must be"),
        ({"max_age": 0}, "max_age must be"),
        ({"max_age": True}, "max_age must be"),
        ({"secure": "yes"}, "secure must be"),
    ],
)
def test_cookie_settings_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CookieSettings(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"cookie_name": "bad name"},
        {"csrf_cookie_name": "a;b"},
        {"csrf_cookie_name": "refresh_token"},
        {"csrf_header_name": "X CSRF"},
        {"cookie": {"secure": True}},
    ],
)
def test_config_refresh_validates_names(options: dict[str, Any]) -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER)
    with pytest.raises(ConfigurationError):
        ajwt.config_refresh(REFRESH_SECRET, **options)


def cookie_app(ajwt: ApoJWT) -> FastAPI:
    app = FastAPI()

    @app.post("/login")
    async def login(response: Response) -> dict[str, str]:
        access, _ = ajwt.create_token(sub="alice", permissions=["orders:write"])
        ajwt.set_access_cookies(response, access)
        return {"ok": "yes"}

    @app.post("/logout")
    async def logout(response: Response) -> dict[str, str]:
        ajwt.unset_access_cookies(response)
        return {"ok": "bye"}

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return {"sub": ctx.sub, "fresh": ctx.fresh}

    @app.post("/orders")
    async def order(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write"))]) -> dict[str, str]:
        return {"by": ctx.sub}

    return app


def cookie_ajwt(clock: Clock | None = None, location: Any = "cookies") -> ApoJWT:
    extra: dict[str, Any] = {"clock": clock, "store": MemoryStore(clock=clock)} if clock else {}
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], token_location=location, **extra)
    ajwt.config_refresh(REFRESH_SECRET)
    return ajwt


def test_access_token_in_cookie_with_csrf_for_unsafe_methods() -> None:
    ajwt = cookie_ajwt()
    client = TestClient(cookie_app(ajwt), base_url=HTTPS)
    cookies = set_cookies(client.post("/login"))
    access = cookies["access_token"]
    assert access.flags == {"httponly", "secure"}
    assert access.attributes == {"max-age": "900", "path": "/", "samesite": "lax"}
    assert cookies["csrf_access_token"].flags == {"secure"}

    assert client.get("/me").json() == {"sub": "alice", "fresh": True}  # safe method: no CSRF needed
    forged = client.post("/orders")
    assert forged.status_code == 403
    assert "csrf_access_token" in forged.json()["detail"]
    ok = client.post("/orders", headers={"X-CSRF-Token": client.cookies["csrf_access_token"]})
    assert ok.json() == {"by": "alice"}
    # a bearer header is not what this instance reads
    client.cookies.clear()
    bearer = client.get("/me", headers={"Authorization": f"Bearer {access.value}"})
    assert bearer.status_code == 401


def test_access_cookie_openapi_scheme() -> None:
    schema = cookie_app(cookie_ajwt()).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"]["type"] == "apiKey"
    assert schemes["BearerAuth"]["in"] == "cookie"
    assert schemes["BearerAuth"]["name"] == "access_token"


def test_access_cookie_csrf_off() -> None:
    ajwt = cookie_ajwt()
    ajwt.config_access_cookies(csrf=False)
    client = TestClient(cookie_app(ajwt), base_url=HTTPS)
    login = client.post("/login")
    assert "csrf_access_token" not in set_cookies(login)
    assert client.post("/orders").status_code == 200


def test_header_location_ignores_access_cookie() -> None:
    ajwt = make_ajwt()
    app = cookie_app(ajwt)
    client = TestClient(app, base_url=HTTPS)
    client.post("/login")
    assert client.get("/me").status_code == 401


def implicit_client(clock: Clock, within: float = 120, location: Any = "cookies") -> tuple[ApoJWT, TestClient]:
    ajwt = cookie_ajwt(clock, location)
    app = cookie_app(ajwt)
    app.add_middleware(ImplicitRefreshMiddleware, ajwt=ajwt, within=within)
    return ajwt, TestClient(app, base_url=HTTPS)


def test_implicit_refresh_renews_a_nearly_expired_cookie() -> None:
    clock = Clock()
    ajwt, client = implicit_client(clock)
    client.post("/login")
    old = client.cookies["access_token"]
    assert "set-cookie" not in client.get("/me").headers  # plenty of time left
    clock.now += 900 - 60
    response = client.get("/me")
    assert response.status_code == 200
    renewed = set_cookies(response)
    assert renewed["access_token"].value != old
    assert renewed["access_token"].flags == {"httponly", "secure"}
    assert "csrf_access_token" in renewed
    context = ajwt.decode(renewed["access_token"].value)
    assert context.fresh is False
    assert context.exp.timestamp() == clock.now + 900
    assert context.claims["fam"] == ajwt.decode(old).claims["fam"]
    clock.now += 100  # the old one has expired; the renewed one works
    assert client.get("/me").status_code == 200


def test_implicit_refresh_with_headers_and_cookies_renews_only_the_cookie() -> None:
    clock = Clock()
    ajwt, client = implicit_client(clock, location=("headers", "cookies"))
    client.post("/login")
    old = client.cookies["access_token"]
    clock.now += 900 - 60
    bearer = TestClient(client.app, base_url=HTTPS).get("/me", headers={"Authorization": f"Bearer {old}"})
    assert bearer.status_code == 200
    assert "set-cookie" not in bearer.headers  # a token sent in the header: no cookie to renew
    renewed = set_cookies(client.get("/me"))  # the cookie, nearly expired: renewed
    assert renewed["access_token"].value != old
    assert ajwt.decode(renewed["access_token"].value).sub == ajwt.decode(old).sub


def test_implicit_refresh_leaves_errors_logouts_and_revoked_tokens_alone() -> None:
    clock = Clock()
    _, client = implicit_client(clock)
    client.post("/login")
    clock.now += 850
    assert "set-cookie" not in client.post("/orders").headers  # 403 (no CSRF header): no renewal
    logout = client.post("/logout", headers={"X-CSRF-Token": client.cookies["csrf_access_token"]})
    assert [c.name for c in set_cookies(logout).values() if c.attributes.get("max-age") != "0"] == []


async def test_implicit_refresh_does_not_revive_a_revoked_token() -> None:
    clock = Clock()
    ajwt, client = implicit_client(clock)
    client.post("/login")
    await ajwt.revoke_token(client.cookies["access_token"])
    clock.now += 850
    response = client.get("/me")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


def test_implicit_refresh_needs_cookie_location() -> None:
    with pytest.raises(ConfigurationError, match="token_location"):
        ImplicitRefreshMiddleware(FastAPI(), ajwt=make_ajwt())
    with pytest.raises(ConfigurationError, match="within"):
        ImplicitRefreshMiddleware(FastAPI(), ajwt=cookie_ajwt(), within=0)

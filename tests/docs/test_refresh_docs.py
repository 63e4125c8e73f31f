"""The refresh, revocation and Redis pages' snippets (docs/examples/refresh|revocation|redis/) do what the pages say."""

import asyncio
import hashlib
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from fastapi_apojwt import RevokedTokenError, TokenStore
from tests.docs.test_examples_import import EXAMPLES, load_example
from tests.integration.refresh_helpers import set_cookies

HTTPS = "https://testserver"
PAGES = EXAMPLES.parent / "tutorial"


def both(folder: str, stem: str) -> pytest.MarkDecorator:
    modules = [load_example(EXAMPLES / folder / f"{stem}_an.py"), load_example(EXAMPLES / folder / f"{stem}.py")]
    return pytest.mark.parametrize("module", modules, ids=["annotated", "plain"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@both("refresh", "refresh")
def test_refresh_tutorial(module: ModuleType) -> None:
    client = TestClient(module.app, base_url=HTTPS)
    login = client.post("/auth/login", params={"username": "alice"})
    assert login.status_code == 200
    cookies = set_cookies(login)
    assert cookies["refresh_token"].flags == {"httponly", "secure"}
    assert cookies["refresh_token"].attributes == {"max-age": "86400", "path": "/auth", "samesite": "strict"}
    first_refresh = client.cookies["refresh_token"]

    assert client.post("/auth/refresh").status_code == 403  # no X-CSRF-Token
    refreshed = client.post("/auth/refresh", headers={"X-CSRF-Token": client.cookies["csrf_refresh_token"]})
    assert refreshed.status_code == 200
    access = refreshed.json()["access_token"]
    assert client.get("/me", headers=bearer(access)).json() == {"sub": "alice"}

    # the replay shown on the page
    replay = client.post(
        "/auth/refresh",
        headers={
            "Cookie": f"refresh_token={first_refresh}; csrf_refresh_token={module.ajwt.csrf_token(first_refresh)}",
            "X-CSRF-Token": module.ajwt.csrf_token(first_refresh),
        },
    )
    assert replay.status_code == 401
    assert replay.text in (PAGES / "refresh.md").read_text()
    assert client.get("/me", headers=bearer(access)).status_code == 401

    # logout
    client.cookies.clear()
    client.post("/auth/login", params={"username": "bob"})
    logout = client.post("/auth/logout", headers={"X-CSRF-Token": client.cookies["csrf_refresh_token"]})
    assert logout.status_code == 200
    assert "refresh_token" not in client.cookies


def test_classic_decorator_snippet() -> None:
    module = load_example(EXAMPLES / "refresh" / "classic.py")
    ajwt = module.ajwt
    _, refresh = ajwt.create_token(sub="u1", refresh_data={"user_id": "u1"})
    csrf = ajwt.csrf_token(refresh)
    client = TestClient(module.app, base_url=HTTPS)
    response = client.post(
        "/auth/refresh", headers={"Cookie": f"refresh_token={refresh}; csrf_refresh_token={csrf}", "X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    access = ajwt.decode(response.json()["access_token"])
    assert access.sub == "u1"
    assert access.fresh is False
    assert set_cookies(response)["refresh_token"].value != refresh
    assert "requestBody" not in module.app.openapi()["paths"]["/auth/refresh"]["post"]


def test_cookie_settings_snippet() -> None:
    module = load_example(EXAMPLES / "refresh" / "cookies.py")
    assert module.ajwt.refresh_cookie.path == "/api/auth"
    assert module.ajwt.refresh_cookie.domain == "example.com"


@both("refresh", "fresh")
def test_fresh_tutorial(module: ModuleType) -> None:
    ajwt = module.ajwt
    client = TestClient(module.app)
    login_access, _ = ajwt.create_token(sub="alice", permissions=["account:delete"])
    refreshed_access, _ = ajwt.create_token(sub="alice", permissions=["account:delete"], fresh=False)
    assert client.post("/account/password", headers=bearer(login_access)).status_code == 200
    stale = client.post("/account/password", headers=bearer(refreshed_access))
    assert stale.status_code == 401
    assert stale.text in (PAGES / "refresh.md").read_text()
    assert client.delete("/account", headers=bearer(login_access)).status_code == 200
    assert client.delete("/account", headers=bearer(refreshed_access)).status_code == 401


@both("refresh", "access_cookies")
def test_access_cookies_tutorial(module: ModuleType) -> None:
    client = TestClient(module.app, base_url=HTTPS)
    login = client.post("/login", params={"username": "alice"})
    assert set(set_cookies(login)) == {"access_token", "csrf_access_token"}
    assert client.get("/notes").json() == ["a note of alice"]
    assert client.post("/notes").status_code == 403
    csrf = {"X-CSRF-Token": client.cookies["csrf_access_token"]}
    assert client.post("/notes", headers=csrf).json() == {"by": "alice"}
    assert client.post("/logout", headers=csrf).status_code == 200
    assert client.get("/notes").status_code == 401


def test_client_js_uses_the_contract_names() -> None:
    source = (EXAMPLES / "refresh" / "client.js").read_text()
    assert "csrf_refresh_token" in source
    assert "X-CSRF-Token" in source


@both("revocation", "revocation")
def test_revocation_tutorial(module: ModuleType) -> None:
    ajwt = module.ajwt
    client = TestClient(module.app)
    a1, _ = ajwt.create_token(sub="alice")
    a2, _ = ajwt.create_token(sub="alice")
    assert client.post("/auth/revoke", headers=bearer(a1)).status_code == 200
    revoked = client.post("/auth/revoke", headers=bearer(a1))
    assert revoked.status_code == 401
    assert revoked.text in (PAGES / "revocation.md").read_text()
    assert client.post("/auth/logout-session", headers=bearer(a2)).status_code == 200
    assert client.post("/auth/logout-session", headers=bearer(a2)).status_code == 401

    b1, _ = ajwt.create_token(sub="bob")
    b2, _ = ajwt.create_token(sub="bob")
    assert client.post("/auth/logout-everywhere", headers=bearer(b1)).status_code == 200
    assert client.post("/auth/revoke", headers=bearer(b2)).status_code == 401

    root, _ = ajwt.create_token(sub="root", permissions=["admin"])
    c1, _ = ajwt.create_token(sub="carol")
    assert client.post("/admin/users/carol/lock", headers=bearer(root)).json() == {"locked": "carol"}
    assert client.post("/auth/revoke", headers=bearer(c1)).status_code == 401


@pytest.mark.e2e
async def test_redis_snippet(shared_redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", shared_redis_url)
    module = load_example(EXAMPLES / "redis" / "redis_store.py")
    ajwt = module.ajwt
    access, _ = ajwt.create_token(sub="alice")
    await ajwt.verify(access)
    await ajwt.revoke_token(access)
    with pytest.raises(RevokedTokenError):
        await ajwt.verify(access)
    raw = Redis.from_url(shared_redis_url)
    digest = hashlib.sha256(ajwt.decode(access).jti.encode()).hexdigest()[:16]
    assert raw.exists(f"shop:t:{{{digest}}}")  # the documented layout: prefix, then t:{h(jti)}
    raw.close()
    await module.store.close()


def test_custom_store_snippet() -> None:
    module = load_example(EXAMPLES / "redis" / "custom_store.py")
    store = module.DictStore()
    assert isinstance(store, TokenStore)

    async def scenario() -> None:
        assert await store.use_refresh_token("r", family="f", ttl=60)
        assert not await store.use_refresh_token("r", family="f", ttl=60)
        await store.revoke_family("f", ttl=60)
        assert await store.is_revoked(jti="x", sub="a", issued_at=1, family="f")
        await store.revoke_subject("a", issued_before=10, ttl=60)
        assert await store.is_revoked(jti=None, sub="a", issued_at=10)
        assert not await store.is_revoked(jti=None, sub="a", issued_at=11)

    asyncio.run(scenario())


def test_pages_include_existing_snippets() -> None:
    for page in ("refresh.md", "revocation.md", "redis.md"):
        text = (PAGES / page).read_text()
        for line in text.splitlines():
            if '--8<-- "' in line:
                path = line.split('"')[1]
                assert (EXAMPLES.parents[1] / path).is_file(), path
        assert "--8<--" in text

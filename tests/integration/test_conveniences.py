"""Issue 15: token_optional, user_loader/current_user, claims=, several token locations, enforced
Security scopes, immutable contexts, token_data as the data_model; dependency and decorator, sync
and async, FastAPI and Flask."""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

import json
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
import jwt
import pytest
from fastapi import Depends, FastAPI, Security
from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient
from pydantic import BaseModel

from fastapi_apojwt import ApoJWT, ApoJWTError, ConfigurationError, TokenContext
from fastapi_apojwt.context import FrozenDict, FrozenList
from fastapi_apojwt.issuer import RESERVED_CLAIMS
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


def make(**kwargs: Any) -> ApoJWT:
    kwargs.setdefault("admin_permission", "admin")
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- token_optional ---------------------------------------------------------------------------


def optional_app(ajwt: ApoJWT) -> FastAPI:
    app = FastAPI()

    @app.get("/dep-async")
    async def dep_async(ctx: Annotated[TokenContext | None, Depends(ajwt.token_optional)]) -> Any:
        return ctx.sub if ctx else None

    @app.get("/dep-sync")
    def dep_sync(ctx: Annotated[TokenContext | None, Depends(ajwt.token_optional)]) -> Any:
        return ctx.sub if ctx else None

    @app.post("/dep-async")
    async def dep_post(ctx: Annotated[TokenContext | None, Depends(ajwt.token_optional)]) -> Any:
        return ctx.sub if ctx else None

    @app.get("/dec-async")
    @ajwt.token_optional
    async def dec_async(token_subject: Any, token_data: Any, token_permissions: Any, ctx: TokenContext) -> Any:
        return [token_subject, token_data, token_permissions, ctx is None]

    @app.get("/dec-sync")
    @ajwt.token_optional
    def dec_sync(token_subject: Any, token_data: Any, token_permissions: Any, ctx: TokenContext) -> Any:
        return [token_subject, token_data, token_permissions, ctx is None]

    ajwt.init_app(app)
    return app


@pytest.mark.parametrize("path", ["/dep-async", "/dep-sync"])
def test_optional_dependency(path: str) -> None:
    ajwt = make()
    client = TestClient(optional_app(ajwt))
    assert client.get(path).json() is None
    assert client.get(path, headers={"Authorization": "Basic abc"}).json() is None  # another scheme: no token
    assert client.get(path, headers=bearer(ajwt.create_token(sub="alice"))).json() == "alice"
    for bad in ["x.y.z", "garbage", ajwt.create_token(sub="alice") + "x"]:
        response = client.get(path, headers=bearer(bad))
        assert response.status_code == 401
        assert "invalid_token" in response.headers["www-authenticate"]
    assert client.get(path, headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.parametrize("path", ["/dec-async", "/dec-sync"])
def test_optional_decorator_injects_none(path: str) -> None:
    ajwt = make()
    client = TestClient(optional_app(ajwt))
    assert client.get(path).json() == [None, None, None, True]
    token = ajwt.create_token(sub="alice", permissions=["p"], data={"a": 1})
    assert client.get(path, headers=bearer(token)).json() == ["alice", {"a": 1}, ["p"], False]
    assert client.get(path, headers=bearer("x.y.z")).status_code == 401


def test_optional_expired_and_revoked_are_401() -> None:
    now = [time.time()]
    ajwt = make(clock=lambda: now[0], exp_period=60)
    client = TestClient(optional_app(ajwt))
    expired = ajwt.create_token(sub="alice")
    now[0] += 120
    assert client.get("/dep-async", headers=bearer(expired)).status_code == 401
    revoked = ajwt.create_token(sub="alice")
    anyio.run(ajwt.revoke_token, revoked)
    assert client.get("/dep-async", headers=bearer(revoked)).status_code == 401


def test_optional_cookie_token_still_needs_csrf() -> None:
    ajwt = make(token_location="cookies")
    client = TestClient(optional_app(ajwt), base_url="https://testserver")
    token = ajwt.create_token(sub="alice")
    client.cookies.set("access_token", token)
    client.cookies.set("csrf_access_token", ajwt.csrf_token(token))
    assert client.get("/dep-async").json() == "alice"
    refused = client.post("/dep-async")  # sent, but without the CSRF header: refused, not anonymous
    assert refused.status_code == 403
    assert client.post("/dep-async", headers={"X-CSRF-Token": ajwt.csrf_token(token)}).json() == "alice"


def test_optional_openapi_shows_the_empty_alternative() -> None:
    ajwt = make()
    app = optional_app(ajwt)

    @app.get("/both")
    async def both(
        a: Annotated[Any, Depends(ajwt.token_optional)], b: Annotated[Any, Depends(ajwt.token_required)]
    ) -> None: ...

    paths = app.openapi()["paths"]
    for path in ["/dep-async", "/dec-async", "/dec-sync"]:
        assert paths[path]["get"]["security"] == [{"BearerAuth": []}, {}]
    assert {} not in paths["/both"]["get"]["security"]  # token_required on the same route: required


def test_optional_flask() -> None:
    flask = pytest.importorskip("flask")
    ajwt = make(template="flask")
    app = flask.Flask(__name__)

    @app.get("/o")
    @ajwt.token_optional
    def view(token_subject: Any) -> Any:
        return {"sub": token_subject}

    client = app.test_client()
    assert client.get("/o").get_json() == {"sub": None}
    assert client.get("/o", headers=bearer(ajwt.create_token(sub="al"))).get_json() == {"sub": "al"}
    assert client.get("/o", headers=bearer("x.y.z")).status_code == 401


# -- current_user -----------------------------------------------------------------------------


class User(BaseModel):
    name: str


def user_app(ajwt: ApoJWT) -> FastAPI:
    app = FastAPI()

    @app.get("/dep")
    async def dep(user: Annotated[User, Depends(ajwt.current_user)]) -> User:
        return user

    @app.get("/dep-sync")
    def dep_sync(user: Annotated[User, Depends(ajwt.current_user)]) -> User:
        return user

    @app.get("/dec-async")
    @ajwt.current_user
    async def dec_async(current_user: User) -> User:
        return current_user

    @app.get("/dec-sync")
    @ajwt.current_user
    def dec_sync(current_user: User) -> User:
        return current_user

    @app.get("/scoped")
    async def scoped(user: Annotated[User, Security(ajwt.current_user, scopes=["w"])]) -> User:
        return user

    return app


@pytest.mark.parametrize("asynchronous", [True, False], ids=["async-loader", "sync-loader"])
@pytest.mark.parametrize("path", ["/dep", "/dep-sync", "/dec-async", "/dec-sync"])
def test_current_user(asynchronous: bool, path: str) -> None:
    ajwt = make()
    threads: list[str] = []
    if asynchronous:

        @ajwt.user_loader
        async def load(ctx: TokenContext) -> User | None:
            return None if ctx.sub == "ghost" else User(name=ctx.sub)

    else:

        @ajwt.user_loader
        def load(ctx: TokenContext) -> User | None:
            threads.append(threading.current_thread().name)
            return None if ctx.sub == "ghost" else User(name=ctx.sub)

    client = TestClient(user_app(ajwt))
    assert client.get(path, headers=bearer(ajwt.create_token(sub="alice"))).json() == {"name": "alice"}
    ghost = client.get(path, headers=bearer(ajwt.create_token(sub="ghost")))
    assert ghost.status_code == 401
    assert ghost.json() == {"detail": "The token does not belong to a known user."}
    assert ghost.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer("x.y.z")).status_code == 401
    if threads:
        assert threading.main_thread().name not in threads or path.endswith("sync")


def test_a_sync_loader_runs_in_the_thread_pool() -> None:
    ajwt = make()
    loader_threads: list[int] = []

    @ajwt.user_loader
    def load(ctx: TokenContext) -> User:
        loader_threads.append(threading.get_ident())
        return User(name=ctx.sub)

    app = FastAPI()

    @app.get("/threads")
    async def threads(user: Annotated[User, Depends(ajwt.current_user)]) -> list[int]:
        return [threading.get_ident(), *loader_threads]  # the event loop's thread, the loader's

    loop, loader = TestClient(app).get("/threads", headers=bearer(ajwt.create_token(sub="alice"))).json()
    assert loop != loader


def test_current_user_without_a_loader_fails_loudly() -> None:
    ajwt = make()
    client = TestClient(user_app(ajwt))
    with pytest.raises(ConfigurationError, match=r"@ajwt\.user_loader"):
        client.get("/dep", headers=bearer(ajwt.create_token(sub="alice")))


def test_current_user_is_one_object_and_overridable() -> None:
    ajwt = make()
    assert ajwt.current_user is ajwt.current_user
    assert ajwt.guards.current_user is ajwt.current_user
    app = user_app(ajwt)
    app.dependency_overrides[ajwt.current_user] = lambda: User(name="test")
    assert TestClient(app).get("/dep").json() == {"name": "test"}


def test_current_user_with_scopes() -> None:
    ajwt = make()
    ajwt.user_loader(lambda ctx: User(name=ctx.sub))
    client = TestClient(user_app(ajwt))
    assert client.get("/scoped", headers=bearer(ajwt.create_token(sub="a"))).status_code == 403
    assert client.get("/scoped", headers=bearer(ajwt.create_token(sub="a", permissions=["w"]))).status_code == 200


def test_user_loader_refuses_a_non_callable() -> None:
    with pytest.raises(ConfigurationError):
        make().user_loader(42)  # type: ignore[type-var]


# -- claims= ----------------------------------------------------------------------------------


def test_extra_claims_come_back() -> None:
    ajwt = make()
    token = ajwt.create_token(sub="alice", claims={"tenant": "acme", "org": {"ids": [1, 2]}, "n": None})
    ctx = ajwt.decode(token)
    assert ctx.claims["tenant"] == "acme"
    assert ctx.claims["org"] == {"ids": [1, 2]}
    assert ctx.claims["n"] is None
    assert ctx.sub == "alice"


@pytest.mark.parametrize(
    "name", sorted({"sub", "perms", "data", "exp", "nbf", "iat", "iss", "aud", "jti", "type", "fresh", "fam"})
)
def test_reserved_claims_are_refused(name: str) -> None:
    ajwt = make()
    assert name in RESERVED_CLAIMS
    with pytest.raises(ConfigurationError, match=name):
        ajwt.create_token(sub="alice", claims={name: "x"})
    assert issubclass(ConfigurationError, ApoJWTError)


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", float("nan"), {"deep": [object()]}])
def test_non_json_claims_are_refused(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="JSON"):
        make().create_token(sub="alice", claims={"x": value})


def test_bad_claim_names_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        make().create_token(sub="alice", claims={1: "x"})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError):
        make().create_token(sub="alice", claims=["x"])  # type: ignore[arg-type]


def test_rotate_takes_claims_and_a_refused_claim_mints_nothing() -> None:
    ajwt = make()
    ajwt.config_refresh(REFRESH_SECRET)
    app = FastAPI()

    @app.post("/refresh")
    async def refresh(ctx: Annotated[Any, Depends(ajwt.refresh)]) -> dict[str, str]:
        with pytest.raises(ConfigurationError):
            ajwt.rotate(ctx, claims={"sub": "mallory"})
        access, _ = ajwt.rotate(ctx, claims={"tenant": "acme"})
        return {"access": access}

    _, refresh_token = ajwt.create_token(sub="alice")
    client = TestClient(app, base_url="https://testserver")
    client.cookies.set("refresh_token", refresh_token)
    client.cookies.set("csrf_refresh_token", ajwt.csrf_token(refresh_token))
    response = client.post("/refresh", headers={"X-CSRF-Token": ajwt.csrf_token(refresh_token)})
    assert response.status_code == 200, response.text
    assert ajwt.decode(response.json()["access"]).claims["tenant"] == "acme"


def test_reissue_keeps_extra_claims() -> None:
    ajwt = make()
    ctx = ajwt.decode(ajwt.create_token(sub="alice", claims={"tenant": "acme"}))
    again = ajwt.decode(ajwt.issuer.reissue(ctx))
    assert again.claims["tenant"] == "acme"
    assert again.jti != ctx.jti


# -- several token locations ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [(), [], ("headers", "headers"), ("query",), "query", ("headers", "cookie"), 3, None, {"headers": 1}],
)
def test_bad_token_locations_are_refused(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="token_location"):
        make(token_location=value)


def test_token_location_forms() -> None:
    assert make().token_location == "headers"
    assert make(token_location=["cookies"]).token_location == "cookies"
    both = make(token_location=["cookies", "headers"])
    assert both.token_location == ("cookies", "headers")
    assert both.settings.token_locations == ("cookies", "headers")


def location_app(ajwt: ApoJWT) -> FastAPI:
    app = FastAPI()

    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    @ajwt.token_required
    def legacy(token_subject: str) -> str:
        return token_subject

    for method in ("get", "post"):
        app.add_api_route("/me", me, methods=[method], operation_id=f"me_{method}")
        app.add_api_route("/legacy", legacy, methods=[method], operation_id=f"legacy_{method}")

    ajwt.init_app(app)
    return app


@pytest.mark.parametrize("path", ["/me", "/legacy"])
def test_headers_then_cookies(path: str) -> None:
    ajwt = make(token_location=("headers", "cookies"))
    client = TestClient(location_app(ajwt), base_url="https://testserver")
    alice, bob = ajwt.create_token(sub="alice"), ajwt.create_token(sub="bob")
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(alice)).json() == "alice"
    assert client.post(path, headers=bearer(alice)).json() == "alice"  # a header token: no CSRF
    client.cookies.set("access_token", bob)
    client.cookies.set("csrf_access_token", ajwt.csrf_token(bob))
    assert client.get(path).json() == "bob"
    assert client.post(path).status_code == 403  # a cookie token: CSRF on unsafe methods
    assert client.post(path, headers={"X-CSRF-Token": ajwt.csrf_token(bob)}).json() == "bob"
    assert client.get(path, headers=bearer(alice)).json() == "alice"  # the first place decides
    assert client.post(path, headers=bearer(alice)).json() == "alice"
    invalid = client.get(path, headers=bearer("x.y.z"))  # invalid there: no falling through to the cookie
    assert invalid.status_code == 401


def test_cookies_then_headers() -> None:
    ajwt = make(token_location=("cookies", "headers"))
    client = TestClient(location_app(ajwt), base_url="https://testserver")
    alice, bob = ajwt.create_token(sub="alice"), ajwt.create_token(sub="bob")
    client.cookies.set("access_token", "x.y.z")
    assert client.get("/me", headers=bearer(alice)).status_code == 401  # the bad cookie decides
    client.cookies.set("access_token", bob)
    assert client.get("/me", headers=bearer(alice)).json() == "bob"
    client.cookies.clear()
    assert client.get("/me", headers=bearer(alice)).json() == "alice"
    schema = client.app.openapi()  # type: ignore[attr-defined]
    assert schema["paths"]["/me"]["get"]["security"] == [{"BearerAuth": []}, {"BearerAuthHeader": []}]
    assert schema["components"]["securitySchemes"]["BearerAuth"]["in"] == "cookie"
    assert schema["components"]["securitySchemes"]["BearerAuthHeader"]["scheme"] == "bearer"


def test_missing_token_message_names_both_places() -> None:
    ajwt = make(token_location=("headers", "cookies"))
    response = TestClient(location_app(ajwt)).get("/me")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]
    assert "access_token cookie" in response.json()["detail"]


# -- Security scopes --------------------------------------------------------------------------


def scopes_app(ajwt: ApoJWT) -> FastAPI:
    app = FastAPI()

    @app.get("/token")
    async def token(ctx: Annotated[TokenContext, Security(ajwt.token_required, scopes=["orders:write"])]) -> str:
        return ctx.sub

    @app.get("/token-sync")
    def token_sync(ctx: Annotated[TokenContext, Security(ajwt.token_required, scopes=["orders:write"])]) -> str:
        return ctx.sub

    @app.get("/perm")
    async def perm(
        ctx: Annotated[TokenContext, Security(ajwt.permission("orders:read"), scopes=["orders:write"])],
    ) -> str:
        return ctx.sub

    async def reader(ctx: Annotated[TokenContext, Security(ajwt.token_required, scopes=["a"])]) -> str:
        return ctx.sub

    @app.get("/outer")
    async def outer(sub: Annotated[str, Security(reader, scopes=["b"])]) -> str:
        return sub

    @app.get("/route-level", dependencies=[Security(ajwt.token_required, scopes=["c"])])
    async def route_level() -> str:
        return "ok"

    @app.get("/optional")
    async def optional(ctx: Annotated[Any, Security(ajwt.token_optional, scopes=["d"])]) -> Any:
        return ctx.sub if ctx else None

    if ajwt.refresh_codec is not None:

        @app.get("/refresh")
        async def refresh(ctx: Annotated[Any, Security(ajwt.refresh_token_required, scopes=["e"])]) -> Any:
            return "never"

    ajwt.init_app(app)
    return app


def status(client: TestClient, ajwt: ApoJWT, path: str, *perms: str) -> int:
    return client.get(path, headers=bearer(ajwt.create_token(sub="u", permissions=list(perms)))).status_code


@pytest.mark.parametrize("path", ["/token", "/token-sync"])
def test_scopes_on_token_required_are_enforced(path: str) -> None:
    ajwt = make()
    client = TestClient(scopes_app(ajwt))
    assert status(client, ajwt, path, "orders:read") == 403
    assert status(client, ajwt, path, "orders:write") == 200
    assert status(client, ajwt, path, "admin") == 200
    response = client.get(path, headers=bearer(ajwt.create_token(sub="u")))
    assert 'scope="orders:write"' in response.headers["www-authenticate"]


def test_scopes_add_to_a_permission_guard() -> None:
    ajwt = make()
    client = TestClient(scopes_app(ajwt))
    assert status(client, ajwt, "/perm", "orders:read") == 403
    assert status(client, ajwt, "/perm", "orders:write") == 403
    assert status(client, ajwt, "/perm", "orders:read", "orders:write") == 200
    assert status(client, ajwt, "/perm", "admin") == 200
    response = client.get("/perm", headers=bearer(ajwt.create_token(sub="u")))
    assert 'scope="orders:read orders:write"' in response.headers["www-authenticate"]


def test_outer_scopes_accumulate_and_route_level_scopes_count() -> None:
    ajwt = make()
    client = TestClient(scopes_app(ajwt))
    assert status(client, ajwt, "/outer", "a") == 403
    assert status(client, ajwt, "/outer", "b") == 403
    assert status(client, ajwt, "/outer", "a", "b") == 200
    assert status(client, ajwt, "/route-level") == 403
    assert status(client, ajwt, "/route-level", "c") == 200
    assert status(client, ajwt, "/optional", "x") == 403
    assert client.get("/optional").json() is None


def test_scopes_on_a_refresh_guard_are_refused() -> None:
    ajwt = make()
    ajwt.config_refresh(REFRESH_SECRET)
    client = TestClient(scopes_app(ajwt), base_url="https://testserver")
    _, refresh = ajwt.create_token(sub="u")
    client.cookies.set("refresh_token", refresh)
    client.cookies.set("csrf_refresh_token", ajwt.csrf_token(refresh))
    assert client.get("/refresh").status_code == 403


def test_scopes_with_wildcards() -> None:
    ajwt = make(wildcards=True)
    client = TestClient(scopes_app(ajwt))
    assert status(client, ajwt, "/token", "orders:*") == 200
    assert status(client, ajwt, "/token", "order:*") == 403


def test_what_openapi_shows_is_what_is_checked() -> None:
    ajwt = make()
    paths = scopes_app(ajwt).openapi()["paths"]
    assert paths["/token"]["get"]["security"] == [{"BearerAuth": ["orders:write"]}]
    assert paths["/token"]["get"]["x-permissions"] == {"all_of": ["orders:write"], "admin": "admin"}
    assert set(paths["/perm"]["get"]["x-permissions"]["all_of"]) == {"orders:read", "orders:write"}
    assert set(paths["/outer"]["get"]["security"][0]["BearerAuth"]) == {"a", "b"}
    assert set(paths["/outer"]["get"]["x-permissions"]["all_of"]) == {"a", "b"}


def test_scoped_guards_cost_no_thread_pool_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    ajwt = make()
    client = TestClient(scopes_app(ajwt))
    calls: list[str] = []
    original = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(repr(func))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    for path in ["/token", "/perm", "/outer"]:
        assert status(client, ajwt, path, "admin") == 200
        assert status(client, ajwt, path) == 403
    assert calls == []


def test_scoped_guards_keep_dependency_overrides() -> None:
    ajwt = make()
    app = scopes_app(ajwt)
    app.dependency_overrides[ajwt.token_required] = lambda: TokenContext.model_construct(sub="fake")
    assert TestClient(app).get("/token").json() == "fake"


# -- immutable contexts -----------------------------------------------------------------------


def mutations_of(ctx: TokenContext) -> list[Callable[[], Any]]:
    return [
        lambda: ctx.claims.__setitem__("sub", "mallory"),
        lambda: ctx.claims.pop("sub"),
        lambda: ctx.claims.update(sub="mallory"),
        lambda: ctx.claims["perms"].append("admin"),
        lambda: ctx.data.__setitem__("x", 1),
        lambda: ctx.data["tags"].append("b"),
        lambda: ctx.data["tags"][1]["k"].extend([2]),
        lambda: ctx.data["tags"][1].setdefault("z", 1),
        lambda: ctx.data["tags"].sort(),
    ]


def test_context_is_immutable_all_the_way_down() -> None:
    ajwt = make()
    token = ajwt.create_token(sub="alice", permissions=["p"], data={"tags": ["a", {"k": [1]}]})
    # The miss, the miss that admits it to the cache (the doorkeeper), then a cache hit.
    for ctx in (ajwt.decode(token), ajwt.decode(token), ajwt.decode(token)):
        for mutate in mutations_of(ctx):
            with pytest.raises(TypeError):
                mutate()
        assert ctx.sub == ctx.claims["sub"] == "alice"
        assert ctx.data == {"tags": ["a", {"k": [1]}]}
        assert ctx.model_dump()["data"] == {"tags": ["a", {"k": [1]}]}
        assert json.loads(ctx.model_dump_json())["claims"]["perms"] == ["p"]
        assert jsonable_encoder(ctx.claims)["data"] == {"tags": ["a", {"k": [1]}]}
        assert json.loads(json.dumps(ctx.data)) == {"tags": ["a", {"k": [1]}]}
        copy = dict(ctx.data)
        copy["x"] = 1  # a copy is the caller's own


def _all_frozen(value: Any) -> bool:
    if isinstance(value, dict):
        return type(value) is FrozenDict and all(_all_frozen(item) for item in value.values())
    if isinstance(value, list):
        return type(value) is FrozenList and all(_all_frozen(item) for item in value)
    return True


@pytest.mark.parametrize(
    "extra",
    [
        {},  # the usual token: aud and perms are its only arrays
        {"note": "[x] [y]"},  # brackets inside strings
        {"roles": ["a", ["b"]], "realm_access": {"roles": ["r"]}},  # arrays of other claims, nested
        {"data": {"deep": [[{"k": [1]}], {"z": []}]}},
        {"aud": [AUDIENCE, "other"], "data": {"e": []}},
    ],
)
def test_every_array_of_a_verified_token_is_frozen(extra: dict[str, Any]) -> None:
    ajwt = make()
    now = int(time.time())
    claims = {"sub": "alice", "perms": ["p"], "aud": [AUDIENCE], "iss": ISSUER, "iat": now, "exp": now + 60}
    claims.update(extra)
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    # The miss, the miss that admits it to the cache (the doorkeeper), then a cache hit.
    for ctx in (ajwt.decode(token), ajwt.decode(token), ajwt.decode(token)):
        assert dict(ctx.claims) == claims
        assert _all_frozen(ctx.claims), ctx.claims


def test_responses_serialise_frozen_values() -> None:
    ajwt = make()
    app = FastAPI()

    @app.get("/data")
    async def data(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> Any:
        return ctx.data

    @app.get("/claims")
    async def claims(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return dict(ctx.claims)

    @app.get("/typed")
    async def typed(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, list[Any]]:
        return {"tags": ctx.data["tags"]}

    @app.get("/ctx")
    async def whole(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> TokenContext:
        return ctx

    client = TestClient(app)
    headers = bearer(ajwt.create_token(sub="alice", data={"tags": ["a", {"k": [1]}]}))
    for _ in range(2):
        assert client.get("/data", headers=headers).json() == {"tags": ["a", {"k": [1]}]}
        assert client.get("/claims", headers=headers).json()["data"] == {"tags": ["a", {"k": [1]}]}
        assert client.get("/typed", headers=headers).json() == {"tags": ["a", {"k": [1]}]}
        assert client.get("/ctx", headers=headers).json()["data"] == {"tags": ["a", {"k": [1]}]}


@pytest.mark.parametrize("asynchronous", [True, False])
def test_legacy_token_data_is_a_plain_dict_per_request(asynchronous: bool) -> None:
    ajwt = make()
    app = FastAPI()
    seen: list[Any] = []

    def body(token_data: dict[str, Any]) -> str:
        seen.append(type(token_data["tags"]))
        assert type(token_data) is dict
        token_data["tags"].append("mine")
        token_data["new"] = 1
        return ",".join(map(str, token_data["tags"]))

    if asynchronous:

        @app.get("/l")
        @ajwt.token_required
        async def legacy(token_data: dict[str, Any]) -> str:
            return body(token_data)

    else:

        @app.get("/l")
        @ajwt.token_required
        def legacy(token_data: dict[str, Any]) -> str:  # type: ignore[misc]
            return body(token_data)

    client = TestClient(app)
    headers = bearer(ajwt.create_token(sub="alice", data={"tags": ["a"]}))
    assert [client.get("/l", headers=headers).json() for _ in range(3)] == ["a,mine"] * 3
    assert seen == [list] * 3


# -- token_data as the data_model -------------------------------------------------------------


class Profile(BaseModel):
    name: str
    tags: list[str] = []


@pytest.mark.parametrize("asynchronous", [True, False])
def test_token_data_is_the_data_model(asynchronous: bool) -> None:
    ajwt = make(data_model=Profile)
    app = FastAPI()

    if asynchronous:

        @app.get("/p")
        @ajwt.token_required
        async def handler(token_data: Profile) -> str:
            assert isinstance(token_data, Profile)
            return token_data.name

        @app.get("/d")
        @ajwt.token_required
        async def as_dict(token_data: dict[str, Any]) -> Any:
            assert type(token_data) is dict
            return token_data

    else:

        @app.get("/p")
        @ajwt.token_required
        def handler(token_data: Profile) -> str:  # type: ignore[misc]
            assert isinstance(token_data, Profile)
            return token_data.name

        @app.get("/d")
        @ajwt.token_required
        def as_dict(token_data: dict[str, Any]) -> Any:  # type: ignore[misc]
            assert type(token_data) is dict
            return token_data

    client = TestClient(app)
    headers = bearer(ajwt.create_token(sub="alice", data=Profile(name="Alice")))
    for _ in range(2):
        assert client.get("/p", headers=headers).json() == "Alice"
        assert client.get("/d", headers=headers).json() == {"name": "Alice", "tags": []}


def test_token_data_is_the_data_model_on_flask() -> None:
    flask = pytest.importorskip("flask")
    ajwt = make(data_model=Profile, template="flask")
    app = flask.Flask(__name__)

    @app.get("/p")
    @ajwt.token_required
    def view(token_data: Profile) -> Any:
        assert isinstance(token_data, Profile)
        return {"name": token_data.name}

    @app.get("/a")
    @ajwt.token_required
    async def async_view(token_data: Profile) -> Any:
        assert isinstance(token_data, Profile)
        return {"name": token_data.name}

    client = app.test_client()
    headers = bearer(ajwt.create_token(sub="alice", data={"name": "Alice"}))
    assert client.get("/p", headers=headers).get_json() == {"name": "Alice"}
    assert client.get("/a", headers=headers).get_json() == {"name": "Alice"}

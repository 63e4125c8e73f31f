"""The classic decorators on FastAPI: injection, OpenAPI, apojwt 1.x semantics, order mistakes."""

import base64
import hmac
import time
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, Optional

import anyio.to_thread
import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel

from fastapi_apojwt import (
    ApoJWT,
    ConfigurationError,
    MalformedTokenError,
    MissingTokenError,
    RefreshContext,
    TokenContext,
)
from fastapi_apojwt.tokens import MAX_JSON_DEPTH
from tests.apps import make_ajwt
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET

INJECTED = {"token_data", "token_subject", "token_permissions", "ctx", "refresh_data"}


def bearer(ajwt: ApoJWT, sub: str = "alice", permissions: tuple[str, ...] = (), **kwargs: Any) -> dict[str, str]:
    token = ajwt.create_token(sub=sub, permissions=list(permissions), **kwargs)
    if isinstance(token, tuple):
        token = token[0]
    return {"Authorization": f"Bearer {token}"}


def operation(app: FastAPI, path: str, method: str = "get") -> dict[str, Any]:
    return app.openapi()["paths"][path][method]  # type: ignore[no-any-return]


def input_names(op: dict[str, Any]) -> set[str]:
    names = {p["name"] for p in op.get("parameters", [])}
    body = op.get("requestBody")
    if body:
        names.add("<body>")
    return names


# -- injection on sync and async handlers ----------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def style(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def build(style: str, ajwt: ApoJWT) -> FastAPI:
    app = FastAPI()
    if style == "async":

        @app.get("/items/{item_id}")
        @ajwt.permission_required("orders:read")
        async def items(
            item_id: int,
            token_data: dict[str, Any],
            token_subject: str,
            token_permissions: list[str],
            ctx: TokenContext,
            q: str = "default",
        ) -> dict[str, Any]:
            return {
                "item_id": item_id,
                "q": q,
                "data": token_data,
                "sub": token_subject,
                "perms": token_permissions,
                "ctx_sub": ctx.sub,
            }

        @app.post("/echo")
        @ajwt.token_required
        async def echo(payload: dict[str, int], token_subject: str) -> dict[str, Any]:
            return {"payload": payload, "sub": token_subject}

    else:

        @app.get("/items/{item_id}")
        @ajwt.permission_required("orders:read")
        def items(
            item_id: int,
            token_data: dict[str, Any],
            token_subject: str,
            token_permissions: list[str],
            ctx: TokenContext,
            q: str = "default",
        ) -> dict[str, Any]:
            return {
                "item_id": item_id,
                "q": q,
                "data": token_data,
                "sub": token_subject,
                "perms": token_permissions,
                "ctx_sub": ctx.sub,
            }

        @app.post("/echo")
        @ajwt.token_required
        def echo(payload: dict[str, int], token_subject: str) -> dict[str, Any]:
            return {"payload": payload, "sub": token_subject}

    return app


def test_injection_by_name_and_type(style: str) -> None:
    ajwt = make_ajwt()
    client = TestClient(build(style, ajwt))
    headers = bearer(ajwt, permissions=("orders:read",), data={"team": "a"})
    response = client.get("/items/7?q=x", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "item_id": 7,
        "q": "x",
        "data": {"team": "a"},
        "sub": "alice",
        "perms": ["orders:read"],
        "ctx_sub": "alice",
    }
    echoed = client.post("/echo", json={"n": 1}, headers=headers)
    assert echoed.json() == {"payload": {"n": 1}, "sub": "alice"}


def test_status_codes_and_challenges(style: str) -> None:
    ajwt = make_ajwt()
    client = TestClient(build(style, ajwt))
    missing = client.get("/items/1")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    bad = client.get("/items/1", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    assert "not.a.token" not in bad.text
    lacking = client.get("/items/1", headers=bearer(ajwt, permissions=("other",)))
    assert lacking.status_code == 403
    assert 'error="insufficient_scope"' in lacking.headers["www-authenticate"]
    admin = client.get("/items/1", headers=bearer(ajwt, permissions=("admin",)))
    assert admin.status_code == 200
    # Validation of the other parameters still happens (after authentication).
    assert client.get("/items/abc", headers=bearer(ajwt, permissions=("orders:read",))).status_code == 422


def test_openapi_hides_injected_parameters_and_shows_security(style: str) -> None:
    ajwt = make_ajwt()
    app = build(style, ajwt)
    op = operation(app, "/items/{item_id}")
    assert input_names(op) == {"item_id", "q"}
    assert op["security"] == [{"BearerAuth": []}]
    post = operation(app, "/echo", "post")
    assert input_names(post) == {"<body>"}
    schema = app.openapi()
    text = str(schema)
    assert "_apojwt_context" not in text
    for name in ("token_data", "token_subject", "token_permissions"):
        assert name not in text


def test_unprotected_routes_show_no_security() -> None:
    ajwt = make_ajwt()
    app = build("async", ajwt)

    @app.get("/open")
    async def open_route() -> dict[str, str]:
        return {}

    assert "security" not in operation(app, "/open")


def test_token_data_is_a_fresh_object_per_request(style: str) -> None:
    ajwt = make_ajwt()
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    if style == "async":

        @app.get("/mutate")
        @ajwt.token_required
        async def mutate(token_data: dict[str, Any]) -> dict[str, Any]:
            seen.append(token_data)
            result = {"nested": dict(token_data["nested"])}
            token_data["nested"]["hacked"] = True
            token_data["added"] = 1
            return result

    else:

        @app.get("/mutate")
        @ajwt.token_required
        def mutate(token_data: dict[str, Any]) -> dict[str, Any]:
            seen.append(token_data)
            result = {"nested": dict(token_data["nested"])}
            token_data["nested"]["hacked"] = True
            token_data["added"] = 1
            return result

    client = TestClient(app)
    headers = bearer(ajwt, data={"nested": {"a": 1}})
    first = client.get("/mutate", headers=headers).json()
    second = client.get("/mutate", headers=headers).json()
    assert first == second == {"nested": {"a": 1}}
    assert seen[0] is not seen[1]
    assert seen[0]["nested"] is not seen[1]["nested"]
    # The verified claims (possibly cached) are untouched.
    assert ajwt.decode(headers["Authorization"][7:]).claims["data"] == {"nested": {"a": 1}}


def test_seed_style_parameters_keep_working() -> None:
    ajwt = make_ajwt()
    app = FastAPI()

    @app.get("/legacy")
    @ajwt.permission_required("permission")
    def legacy(
        authorization: Optional[str] = Header(None),  # noqa: UP045 - as the seed wrote it
        token_data: Optional[dict] = Body(None),  # type: ignore[type-arg]  # noqa: B008, UP045
        token_subject: Optional[str] = Body(None),  # noqa: UP045
    ) -> dict[str, Any]:
        return {"sub": token_subject, "data": token_data, "scheme": (authorization or "").split(" ")[0]}

    client = TestClient(app)
    response = client.get("/legacy", headers=bearer(ajwt, permissions=("permission",), data={"k": 1}))
    assert response.json() == {"sub": "alice", "data": {"k": 1}, "scheme": "Bearer"}
    op = operation(app, "/legacy")
    assert input_names(op) == {"authorization"}
    assert op["security"] == [{"BearerAuth": []}]


def test_dependencies_path_and_response_parameters() -> None:
    ajwt = make_ajwt()
    app = FastAPI()

    def tenant(x_tenant: Annotated[str, Header()]) -> str:
        return x_tenant.upper()

    @app.put("/tenants/{tid}")
    @ajwt.token_required
    async def update(
        tid: str,
        response: Response,
        t: Annotated[str, Depends(tenant)],
        body: dict[str, str],
        token_subject: str,
    ) -> dict[str, str]:
        response.headers["X-Done"] = "1"
        return {"tid": tid, "tenant": t, "sub": token_subject, **body}

    client = TestClient(app)
    r = client.put("/tenants/t1", json={"a": "b"}, headers={**bearer(ajwt), "X-Tenant": "acme"})
    assert r.status_code == 200
    assert r.json() == {"tid": "t1", "tenant": "ACME", "sub": "alice", "a": "b"}
    assert r.headers["x-done"] == "1"
    assert client.put("/tenants/t1", json={"a": "b"}, headers={"X-Tenant": "acme"}).status_code == 401


class Profile(BaseModel):
    team: str
    level: int = 0


def test_context_annotations_generic_and_optional() -> None:
    ajwt = make_ajwt()
    app = FastAPI()

    @app.get("/typed")
    @ajwt.token_required
    async def typed(ctx: TokenContext[Profile]) -> dict[str, Any]:
        return {"team": ctx.data.team, "level": ctx.data.level, "is_model": isinstance(ctx.data, Profile)}

    @app.get("/optional")
    @ajwt.token_required
    def optional(ctx: TokenContext | None = None) -> dict[str, Any]:
        assert ctx is not None
        return {"sub": ctx.sub, "admin": ctx.has_permission("anything")}

    client = TestClient(app)
    assert client.get("/typed", headers=bearer(ajwt, data={"team": "a"})).json() == {
        "team": "a",
        "level": 0,
        "is_model": True,
    }
    # data that does not match the declared model is an invalid token, not a 500
    wrong = client.get("/typed", headers=bearer(ajwt, data={"level": "x"}))
    assert wrong.status_code == 401
    assert client.get("/optional", headers=bearer(ajwt, permissions=("admin",))).json() == {
        "sub": "alice",
        "admin": True,
    }
    assert input_names(operation(app, "/optional")) == set()


def test_data_model_instance_injects_typed_context() -> None:
    ajwt = make_ajwt(data_model=Profile)
    app = FastAPI()

    @app.get("/typed")
    @ajwt.token_required
    async def typed(ctx: TokenContext[Profile], token_data: dict[str, Any]) -> dict[str, Any]:
        return {"team": ctx.data.team, "raw": token_data}

    client = TestClient(app)
    assert client.get("/typed", headers=bearer(ajwt, data={"team": "b"})).json() == {
        "team": "b",
        "raw": {"team": "b"},
    }


def test_refresh_decorator_injects_refresh_data(style: str) -> None:
    ajwt = make_ajwt()
    ajwt.config_refresh(REFRESH_SECRET)
    app = FastAPI()
    if style == "async":

        @app.post("/refresh")
        @ajwt.refresh
        async def refresh(refresh_data: dict[str, Any], ctx: RefreshContext) -> dict[str, Any]:
            return {"data": refresh_data, "sub": ctx.sub}

    else:

        @app.post("/refresh")
        @ajwt.refresh
        def refresh(refresh_data: dict[str, Any], ctx: RefreshContext) -> dict[str, Any]:
            return {"data": refresh_data, "sub": ctx.sub}

    client = TestClient(app)
    assert client.post("/refresh").status_code == 401
    _, refresh_token = ajwt.create_token(sub="alice", refresh_data={"user_id": 1})
    client.cookies.set("refresh_token", refresh_token)
    response = client.post("/refresh", headers=_csrf(ajwt, refresh_token, client))
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"user_id": 1}, "sub": "alice"}
    op = operation(app, "/refresh", "post")
    assert input_names(op) == set()
    assert op["security"]


def _csrf(ajwt: ApoJWT, refresh_token: str, client: TestClient) -> dict[str, str]:
    """The double-submit CSRF cookie and header that go with a refresh cookie."""
    value = ajwt.csrf_token(refresh_token)
    client.cookies.set(ajwt.refresh_csrf_cookie_name, value)
    return {ajwt.csrf_header_name: value}


def test_stacked_decorators() -> None:
    ajwt = make_ajwt()
    app = FastAPI()

    @app.get("/both")
    @ajwt.permission("a")
    @ajwt.permission("b")
    async def both(token_subject: str) -> dict[str, str]:
        return {"sub": token_subject}

    client = TestClient(app)
    assert client.get("/both", headers=bearer(ajwt, permissions=("a", "b"))).status_code == 200
    assert client.get("/both", headers=bearer(ajwt, permissions=("a",))).status_code == 403
    assert input_names(operation(app, "/both")) == set()


def test_dependency_overrides_apply_to_decorated_routes() -> None:
    ajwt = make_ajwt()
    app = FastAPI()

    @app.get("/me")
    @ajwt.permission_required("orders:read")
    async def me(token_subject: str) -> dict[str, str]:
        return {"sub": token_subject}

    fake = ajwt.decode(bearer(ajwt, sub="override")["Authorization"][7:])

    async def fake_guard() -> TokenContext:
        return fake

    app.dependency_overrides[ajwt.permission_required("orders:read")] = fake_guard
    assert TestClient(app).get("/me").json() == {"sub": "override"}


# -- thread-pool hops ----------------------------------------------------------------------


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    original = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(func)
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return calls


@pytest.mark.parametrize("seed_semantics", [False, True])
def test_thread_pool_hops(hops: list[object], seed_semantics: bool) -> None:
    kwargs: dict[str, Any] = {}
    if seed_semantics:
        kwargs["token_finder"] = lambda **kw: kw["authorization"]

    ajwt = make_ajwt(**kwargs)
    app = FastAPI()

    @app.get("/async")
    @ajwt.permission("p")
    async def async_route(token_subject: str, authorization: Annotated[str | None, Header()] = None) -> str:
        return token_subject

    @app.get("/sync")
    @ajwt.permission("p")
    def sync_route(token_subject: str, authorization: Annotated[str | None, Header()] = None) -> str:
        return token_subject

    @app.get("/baseline")
    def baseline() -> str:
        return "alice"

    headers = bearer(ajwt, permissions=("p",))
    with TestClient(app) as client:
        hops.clear()
        assert client.get("/async", headers=headers).json() == "alice"
        assert hops == []
        assert client.get("/baseline").json() == "alice"
        plain = len(hops)  # FastAPI's own: the endpoint (and, for a return annotation, serialisation)
        hops.clear()
        assert client.get("/sync", headers=headers).json() == "alice"
        assert len(hops) == plain


# -- decorator-order mistakes and configuration -------------------------------------------------


def test_guard_above_route_decorator_fails_at_import_time() -> None:
    ajwt = make_ajwt()
    app = FastAPI()
    router = APIRouter()

    with pytest.raises(ConfigurationError, match="below the route decorator"):

        @ajwt.token_required
        @app.get("/wrong")
        def wrong() -> None: ...

    with pytest.raises(ConfigurationError, match="/on-router"):

        @ajwt.permission_required("x")
        @router.get("/on-router")
        async def wrong_router() -> None: ...


def test_template_none_needs_a_token_finder() -> None:
    ajwt = make_ajwt(template=None)
    with pytest.raises(ConfigurationError, match="token_finder"):

        @ajwt.token_required
        def handler() -> None: ...

    ajwt.config_refresh(REFRESH_SECRET)
    with pytest.raises(ConfigurationError, match="refresh_finder"):

        @ajwt.refresh
        def refresh() -> None: ...


def test_async_framework_is_accepted_and_ignored(style: str) -> None:
    for flag in (True, False):
        ajwt = make_ajwt(async_framework=flag)
        client = TestClient(build(style, ajwt))
        assert client.get("/items/1", headers=bearer(ajwt, permissions=("orders:read",))).status_code == 200


# -- apojwt 1.x token_finder and exception_handler ---------------------------------------------


def test_custom_token_finder_receives_handler_arguments(style: str) -> None:
    received: list[dict[str, Any]] = []

    def finder(*args: Any, **kwargs: Any) -> str:
        received.append(kwargs)
        return str(kwargs["x_token"])

    ajwt = make_ajwt(token_finder=finder)
    app = FastAPI()
    if style == "async":

        @app.get("/custom/{cid}")
        @ajwt.token_required
        async def custom(cid: int, token_subject: str, x_token: Annotated[str, Header()] = "") -> dict[str, Any]:
            return {"cid": cid, "sub": token_subject}

    else:

        @app.get("/custom/{cid}")
        @ajwt.token_required
        def custom(cid: int, token_subject: str, x_token: Annotated[str, Header()] = "") -> dict[str, Any]:
            return {"cid": cid, "sub": token_subject}

    client = TestClient(app)
    token = bearer(ajwt)["Authorization"][7:]
    assert client.get("/custom/3", headers={"X-Token": token}).json() == {"cid": 3, "sub": "alice"}
    assert received[-1] == {"cid": 3, "x_token": token}
    # the template's Authorization header is not consulted any more
    assert client.get("/custom/3", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert operation(app, "/custom/{cid}")["security"] == [{"BearerAuth": []}]


def test_custom_token_finder_on_the_dependency_path() -> None:
    ajwt = make_ajwt(token_finder=lambda **kwargs: kwargs["authorization"].replace("Bearer ", ""))
    by_request = make_ajwt(token_finder=lambda request: request.headers["x-token"])
    app = FastAPI()

    @app.get("/dep")
    async def dep(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    @app.get("/req")
    async def req(ctx: Annotated[TokenContext, Depends(by_request.token_required)]) -> str:
        return ctx.sub

    client = TestClient(app)
    assert client.get("/dep", headers=bearer(ajwt)).json() == "alice"
    assert client.get("/dep").status_code == 401  # the finder raised: no token
    assert client.get("/req", headers={"X-Token": bearer(ajwt)["Authorization"][7:]}).json() == "alice"
    assert client.get("/req").status_code == 401


class Teapot(Exception):
    pass


def test_exception_handler_is_called_with_code_message_and_handler_arguments(style: str) -> None:
    calls: list[tuple[int, str, dict[str, Any]]] = []

    def handler(code: int, msg: str, *args: Any, **kwargs: Any) -> NoReturn:
        calls.append((code, msg, kwargs))
        raise HTTPException(status_code=code, detail=f"custom: {msg}")

    ajwt = make_ajwt(exception_handler=handler)
    client = TestClient(build(style, ajwt))
    r = client.get("/items/5?q=z")
    assert r.status_code == 401
    assert r.json()["detail"].startswith("custom: Not authenticated")
    assert calls[-1][0] == 401
    assert calls[-1][2] == {"item_id": 5, "q": "z"}
    r = client.get("/items/5", headers=bearer(ajwt, permissions=("x",)))
    assert r.status_code == 403
    assert calls[-1][0] == 403


def test_exception_handler_with_the_short_signature() -> None:
    def handler(code: int, msg: str) -> NoReturn:
        raise HTTPException(status_code=418 if code == 401 else code, detail=msg)

    ajwt = make_ajwt(exception_handler=handler)
    client = TestClient(build("sync", ajwt))
    assert client.get("/items/5?q=z").status_code == 418


@pytest.mark.parametrize("route", ["/items/1", "/echo"])
def test_exception_handler_that_returns_does_not_open_the_door(style: str, route: str) -> None:
    def forgetful(code: int, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    ajwt = make_ajwt(exception_handler=forgetful)  # type: ignore[arg-type]
    client = TestClient(build(style, ajwt), raise_server_exceptions=False)
    method = client.get if route.startswith("/items") else client.post
    kwargs: dict[str, Any] = {} if route.startswith("/items") else {"json": {"n": 1}}
    r = method(route, **kwargs)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    wrong = method(route, headers=bearer(ajwt, permissions=("other",)), **kwargs)
    assert wrong.status_code == (403 if route.startswith("/items") else 200)


def test_exception_handler_on_the_dependency_path() -> None:
    def handler(code: int, msg: str) -> NoReturn:
        raise HTTPException(status_code=code, detail="dep: " + msg)

    ajwt = make_ajwt(exception_handler=handler)
    app = FastAPI()

    @app.get("/dep")
    async def dep(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    r = TestClient(app).get("/dep")
    assert r.status_code == 401
    assert r.json()["detail"].startswith("dep: ")


def test_direct_call_outside_a_framework() -> None:
    token = bearer(make_ajwt())["Authorization"][7:]
    ajwt = make_ajwt(template=None, token_finder=lambda token: token)

    @ajwt.token_required
    def plain(token: str, token_subject: str) -> str:
        return token_subject

    @ajwt.token_required
    async def plain_async(token: str, token_subject: str) -> str:
        return token_subject

    assert plain(token=token) == "alice"
    assert anyio.run(lambda: plain_async(token=token)) == "alice"
    with pytest.raises(MissingTokenError):
        plain(token="")


_FUTURE_SOURCE = """
from __future__ import annotations

from fastapi import FastAPI

from fastapi_apojwt import TokenContext


def build(ajwt):
    app = FastAPI()

    class Local:
        pass

    @app.get("/future")
    @ajwt.token_required
    async def future(ctx: TokenContext, token_subject: str, token_data: Local) -> dict:
        return {"sub": ctx.sub, "also": token_subject}

    return app
"""


def test_string_annotations_are_resolved_one_by_one() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_FUTURE_SOURCE, "<future>", "exec"), namespace)  # noqa: S102 - a fixed test source
    ajwt = make_ajwt()
    app = namespace["build"](ajwt)
    client = TestClient(app)
    assert client.get("/future", headers=bearer(ajwt)).json() == {"sub": "alice", "also": "alice"}
    assert "requestBody" not in operation(app, "/future")


def test_deeply_nested_data_never_500() -> None:
    """The library's own nesting limit, the same on every Python (3.13's parser alone accepts 1,500 levels)."""
    ajwt = make_ajwt(max_token_bytes=200_000)
    app = FastAPI()

    @app.get("/deep")
    @ajwt.token_required
    def deep(token_data: dict[str, Any]) -> str:
        return "ok"

    client = TestClient(app, raise_server_exceptions=False)

    def data_for_depth(depth: int) -> Any:
        """Data that makes the claims set ``depth`` levels deep (the claims object is level 1, ``data`` 2)."""
        nested: Any = {}
        for _ in range(depth - 2):
            nested = {"a": nested}
        return nested

    # Exactly at the limit: accepted; brackets inside strings are not nesting.
    assert client.get("/deep", headers=bearer(ajwt, data=data_for_depth(MAX_JSON_DEPTH))).status_code == 200
    in_strings = {"s": "[{" * 2000, "t": ['\\"]}', "}]" * 100]}
    assert client.get("/deep", headers=bearer(ajwt, data=in_strings)).status_code == 200

    # One level past the limit, and deeper than the JSON parser recurses on 3.10-3.12
    # (sys.getrecursionlimit() is 1000), yet under the 16 KiB header limit: signed by hand
    # (the encoder refuses the deepest), refused as malformed, never a 500.
    now = int(time.time())
    for depth in (MAX_JSON_DEPTH + 1, 1500):
        claims = (
            f'{{"sub":"alice","perms":[],"type":"access","iss":"{ISSUER}","aud":["{AUDIENCE}"],'
            f'"iat":{now},"nbf":{now},"exp":{now + 60},"data":' + '{"a":' * (depth - 2) + "{}" + "}" * (depth - 1)
        )
        segments = [
            base64.urlsafe_b64encode(part.encode()).rstrip(b"=").decode()
            for part in ('{"alg":"HS256","typ":"JWT"}', claims)
        ]
        signing_input = ".".join(segments)
        signature = hmac.digest(SECRET.encode(), signing_input.encode(), "sha256")
        token = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
        assert len(token) < 16384
        response = client.get("/deep", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, depth
        assert response.json() == {"detail": MalformedTokenError.message}


def test_handler_arguments_named_like_code_and_msg() -> None:
    seen: list[tuple[int, str, dict[str, Any]]] = []

    def handler(code: int, msg: str, *args: Any, **kwargs: Any) -> NoReturn:
        seen.append((code, msg, kwargs))
        raise HTTPException(status_code=code, detail=msg)

    ajwt = make_ajwt(exception_handler=handler)
    app = FastAPI()

    @app.get("/codes/{code}")
    @ajwt.token_required
    def by_code(code: str, msg: str = "") -> str:
        return code

    response = TestClient(app).get("/codes/abc?msg=hello")
    assert response.status_code == 401
    assert seen[-1][0] == 401
    assert seen[-1][2] == {}


def test_seed_semantics_with_a_redis_store(redis: Any) -> None:
    """A `def` handler with a user finder verifies in FastAPI's worker thread, store I/O on the app's loop."""
    from fastapi_apojwt.stores.redis import RedisStore

    ajwt = make_ajwt(token_finder=lambda **kw: kw["x_token"], store=RedisStore.from_url(redis.url))
    app = FastAPI()

    @app.get("/sync")
    @ajwt.token_required
    def sync_route(token_subject: str, x_token: Annotated[str, Header()] = "") -> str:
        return token_subject

    token = bearer(ajwt)["Authorization"][7:]
    with TestClient(app) as client:
        assert client.get("/sync", headers={"X-Token": token}).json() == "alice"
        client.portal.call(ajwt.revoke_token, token)
        assert client.get("/sync", headers={"X-Token": token}).status_code == 401
        client.portal.call(ajwt.store.close)

"""Guards as FastAPI dependencies: every way of declaring them, stable identity, overrides."""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

from datetime import datetime, timezone
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Security
from fastapi.testclient import TestClient

from fastapi_apojwt import AccessGuard, ApoJWT, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET


@pytest.fixture
def ajwt() -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")


def auth(ajwt: ApoJWT, *perms: str, sub: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {ajwt.create_token(sub=sub, permissions=list(perms))}"}


# -- identity ------------------------------------------------------------------------------------


def test_guards_have_stable_identity(ajwt: ApoJWT) -> None:
    assert ajwt.token_required is ajwt.token_required
    assert ajwt.permission("a") is ajwt.permission("a")
    assert ajwt.permission("a", "b") is ajwt.permission("a", "b")
    assert ajwt.permission_required("a") is ajwt.permission("a")
    assert ajwt.permission("a", any_of=True) is ajwt.permission("a", any_of=True)
    assert ajwt.permission("a") is not ajwt.permission("b")
    assert ajwt.permission("a", "b") is not ajwt.permission("a", "b", any_of=True)
    assert ajwt.permission("a") is not ajwt.permission("a", fresh=True)
    assert ajwt.fresh_token_required is ajwt.fresh_token_required
    assert isinstance(ajwt.permission("a"), AccessGuard)
    assert ajwt.permission("a").permissions == ("a",)


def test_guards_of_different_instances_differ(ajwt: ApoJWT) -> None:
    other = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    assert other.permission("a") is not ajwt.permission("a")
    assert other.token_required is not ajwt.token_required


# -- every way of declaring ------------------------------------------------------------------


def test_depends_default_annotated_and_security(ajwt: ApoJWT) -> None:
    app = FastAPI()

    @app.get("/default")
    async def default(ctx: TokenContext = Depends(ajwt.permission("p"))) -> str:  # noqa: B008
        return ctx.sub

    @app.get("/annotated")
    async def annotated(ctx: Annotated[TokenContext, Depends(ajwt.permission("p"))]) -> str:
        return ctx.sub

    @app.get("/security")
    async def security(ctx: Annotated[TokenContext, Security(ajwt.permission("p"))]) -> str:
        return ctx.sub

    @app.get("/sync")
    def sync(ctx: Annotated[TokenContext, Depends(ajwt.permission("p"))]) -> str:
        return ctx.sub

    client = TestClient(app)
    for path in ("/default", "/annotated", "/security", "/sync"):
        assert client.get(path, headers=auth(ajwt, "p")).json() == "alice"
        assert client.get(path, headers=auth(ajwt, "q")).status_code == 403
        assert client.get(path).status_code == 401


def test_route_router_and_app_level_dependencies(ajwt: ApoJWT) -> None:
    app = FastAPI(dependencies=[Depends(ajwt.token_required)])
    router = APIRouter(prefix="/orders", dependencies=[Depends(ajwt.permission("orders:read"))])

    @router.get("")
    async def list_orders() -> str:
        return "orders"

    @router.post("", dependencies=[Depends(ajwt.permission("orders:write"))])
    async def create_order() -> str:
        return "created"

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    app.include_router(router)
    client = TestClient(app)
    assert client.get("/ping").status_code == 401  # app-level
    assert client.get("/ping", headers=auth(ajwt)).json() == "pong"
    assert client.get("/orders", headers=auth(ajwt)).status_code == 403  # router-level
    assert client.get("/orders", headers=auth(ajwt, "orders:read")).json() == "orders"
    assert client.post("/orders", headers=auth(ajwt, "orders:read")).status_code == 403  # route-level
    assert client.post("/orders", headers=auth(ajwt, "orders:write")).status_code == 403
    assert client.post("/orders", headers=auth(ajwt, "orders:read", "orders:write")).status_code == 200
    assert client.post("/orders", headers=auth(ajwt, "admin")).status_code == 200


def test_router_included_twice_with_different_guards(ajwt: ApoJWT) -> None:
    router = APIRouter()

    @router.get("/x")
    async def x() -> str:
        return "x"

    app = FastAPI()
    app.include_router(router, prefix="/public")
    app.include_router(router, prefix="/private", dependencies=[Depends(ajwt.permission("p"))])
    client = TestClient(app)
    assert client.get("/public/x").status_code == 200
    assert client.get("/private/x").status_code == 401
    assert client.get("/private/x", headers=auth(ajwt, "p")).status_code == 200


def test_guard_inside_a_user_dependency(ajwt: ApoJWT) -> None:
    app = FastAPI()

    async def current_user(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return {"name": ctx.sub, "perms": list(ctx.permissions)}

    @app.get("/me")
    async def me(user: Annotated[dict[str, Any], Depends(current_user)]) -> dict[str, Any]:
        return user

    client = TestClient(app)
    assert client.get("/me", headers=auth(ajwt, "p")).json() == {"name": "alice", "perms": ["p"]}
    assert client.get("/me").status_code == 401


# -- per-request cache and overrides -----------------------------------------------------------


def test_same_guard_twice_in_a_request_verifies_once(ajwt: ApoJWT, monkeypatch: pytest.MonkeyPatch) -> None:
    app = FastAPI()
    guard = ajwt.permission("p")
    calls: list[str] = []
    original = ajwt.verifier.context  # every verification path ends here

    def counting(token: str) -> TokenContext:
        calls.append("verify")
        return original(token)

    monkeypatch.setattr(ajwt.verifier, "context", counting)

    async def helper(ctx: Annotated[TokenContext, Depends(guard)]) -> str:
        return ctx.sub

    @app.get("/twice", dependencies=[Depends(guard)])
    async def twice(ctx: Annotated[TokenContext, Depends(guard)], sub: Annotated[str, Depends(helper)]) -> list[str]:
        return [ctx.sub, sub]

    assert TestClient(app).get("/twice", headers=auth(ajwt, "p")).json() == ["alice", "alice"]
    assert calls == ["verify"]


def fake_context(sub: str = "tester", perms: tuple[str, ...] = ("everything",)) -> TokenContext:
    now = datetime.now(timezone.utc)
    return TokenContext(
        sub=sub, permissions=perms, data={}, iss="", aud=(), iat=now, nbf=None, exp=now, jti=None, claims={}, token="t"
    )


def test_dependency_overrides(ajwt: ApoJWT) -> None:
    app = FastAPI()
    router = APIRouter(dependencies=[Depends(ajwt.permission("router"))])

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    @app.get("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> str:
        return ctx.sub

    @router.get("/in-router")
    async def in_router() -> str:
        return "ok"

    app.include_router(router)
    client = TestClient(app)
    assert client.get("/me").status_code == 401

    app.dependency_overrides[ajwt.token_required] = lambda: fake_context("me-override")
    # Overriding by a fresh lookup of the same permissions works: the guard is memoised.
    app.dependency_overrides[ajwt.permission("orders:read")] = lambda: fake_context("orders-override")
    app.dependency_overrides[ajwt.permission_required("router")] = lambda: fake_context()
    assert client.get("/me").json() == "me-override"
    assert client.get("/orders").json() == "orders-override"
    assert client.get("/in-router").json() == "ok"

    app.dependency_overrides.clear()
    assert client.get("/me").status_code == 401
    assert client.get("/orders").status_code == 401
    assert client.get("/in-router").status_code == 401


def test_override_of_a_decorated_route(ajwt: ApoJWT) -> None:
    app = FastAPI()

    @app.get("/legacy")
    @ajwt.permission_required("legacy")
    async def legacy(token_subject: str) -> str:
        return token_subject

    client = TestClient(app)
    assert client.get("/legacy").status_code == 401
    assert client.get("/legacy", headers=auth(ajwt, "legacy")).json() == "alice"
    app.dependency_overrides[ajwt.permission("legacy")] = lambda: fake_context("override")
    assert client.get("/legacy").json() == "override"


def test_the_guard_returns_the_context(ajwt: ApoJWT) -> None:
    app = FastAPI()

    @app.get("/ctx")
    async def ctx_route(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        assert isinstance(ctx, TokenContext)
        return {"sub": ctx.sub, "perms": list(ctx.permissions), "admin": ctx.admin, "jti": bool(ctx.jti)}

    body = TestClient(app).get("/ctx", headers=auth(ajwt, "admin", sub="root")).json()
    assert body == {"sub": "root", "perms": ["admin"], "admin": True, "jti": True}


def test_two_instances_in_one_app_do_not_accept_each_others_tokens(ajwt: ApoJWT) -> None:
    partner = ApoJWT("a-partner-secret-of-at-least-32-bytes!!", iss="partner", server_audience=[AUDIENCE])
    app = FastAPI()

    @app.get("/ours")
    async def ours(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    @app.get("/theirs")
    async def theirs(ctx: Annotated[TokenContext, Depends(partner.token_required)]) -> str:
        return ctx.sub

    client = TestClient(app)
    assert client.get("/ours", headers=auth(ajwt)).status_code == 200
    assert client.get("/theirs", headers=auth(ajwt)).status_code == 401
    assert client.get("/theirs", headers=auth(partner)).status_code == 200
    assert client.get("/ours", headers=auth(partner)).status_code == 401

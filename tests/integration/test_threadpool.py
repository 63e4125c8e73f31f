"""The guard costs no thread-pool hop: FastAPI awaits it directly.

Every hop to the thread pool goes through ``anyio.to_thread.run_sync`` (Starlette's
``run_in_threadpool`` calls it), so counting its calls during one guarded request
counts the hops: none for an ``async def`` route, and for a ``def`` route exactly the
ones FastAPI itself makes for the same route without a guard (to run the
handler and, in current releases, to check its response).
"""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET

ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions sent to the thread pool while the test runs."""
    calls: list[str] = []
    original = anyio.to_thread.run_sync

    async def counting(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(repr(func))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return calls


def make_app() -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/r", dependencies=[Depends(ajwt.permission("p"))])

    @app.get("/async")
    async def async_route(ctx: Annotated[TokenContext, Depends(ajwt.permission("p"))]) -> str:
        return ctx.sub

    @app.get("/async-token")
    async def async_token(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    @app.get("/sync")
    def sync_route(ctx: Annotated[TokenContext, Depends(ajwt.permission("p"))]) -> str:
        return ctx.sub

    @app.get("/async-decorated")
    @ajwt.permission_required("p")
    async def async_decorated(token_subject: str) -> str:
        return token_subject

    @app.get("/sync-decorated")
    @ajwt.permission_required("p")
    def sync_decorated(token_subject: str) -> str:
        return token_subject

    @app.get("/sync-unguarded")
    def sync_unguarded() -> str:
        return "free"

    @router.get("/async")
    async def router_async() -> str:
        return "ok"

    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app())


@pytest.fixture(scope="module")
def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ajwt.create_token(sub='alice', permissions=['p'])}"}


@pytest.mark.parametrize("path", ["/async", "/async-token", "/async-decorated", "/r/async"])
def test_no_hop_for_an_async_route(client: TestClient, headers: dict[str, str], hops: list[str], path: str) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert hops == []


@pytest.mark.parametrize("path", ["/async", "/r/async"])
def test_no_hop_when_rejecting_either(client: TestClient, hops: list[str], path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    no_perm = {"Authorization": f"Bearer {ajwt.create_token(sub='a')}"}
    assert client.get(path, headers=no_perm).status_code == 403
    assert hops == []


@pytest.mark.parametrize(("path", "handler"), [("/sync", "sync_route"), ("/sync-decorated", "sync_decorated")])
def test_a_sync_route_pays_only_fastapis_own_hops(
    client: TestClient, headers: dict[str, str], hops: list[str], path: str, handler: str
) -> None:
    assert client.get("/sync-unguarded").json() == "free"
    baseline = len(hops)
    assert baseline >= 1  # FastAPI runs a def handler (and its response check) in the pool
    hops.clear()
    assert client.get(path, headers=headers).json() == "alice"
    assert len(hops) == baseline
    assert handler in hops[0]
    assert not any("Guard" in hop for hop in hops)


def test_the_counter_sees_a_sync_dependency(hops: list[str]) -> None:
    """Sanity check of the method: a plain ``def`` dependency on an async route costs one hop."""
    app = FastAPI()

    def sync_dependency() -> int:
        return 1

    @app.get("/x")
    async def x(value: Annotated[int, Depends(sync_dependency)]) -> int:
        return value

    assert TestClient(app).get("/x").json() == 1
    assert len(hops) == 1
    assert "sync_dependency" in hops[0]

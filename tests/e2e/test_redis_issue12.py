"""Issue 12 on a real redis-server and a 3-node cluster: the "used" read, microsecond cut-offs, session lists,
refresh_token_required refusing used-up tokens, lifespan closing the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.stores.redis import RedisStore
from tests.integration.refresh_helpers import make_ajwt, make_app, refresh_headers
from tests.redis_topology import Cluster, redis_cluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with redis_cluster() as running:
        yield running


@pytest.fixture(params=["single", "cluster"])
def url(request: pytest.FixtureRequest, shared_redis_url: str) -> str:
    if request.param == "single":
        return shared_redis_url
    return str(request.getfixturevalue("cluster").url)


async def test_is_refresh_token_used_reads_what_use_wrote(url: str, request: pytest.FixtureRequest) -> None:
    store = RedisStore.from_url(url, prefix=f"{request.node.name}:")
    assert not await store.is_refresh_token_used("r1", family="{odd}")
    assert await store.use_refresh_token("r1", family="{odd}", ttl=30)
    assert await store.is_refresh_token_used("r1", family="{odd}")
    assert not await store.is_refresh_token_used("r1", family="other")  # keyed under the family's tag
    await store.close()


async def test_flows_over_redis(url: str, request: pytest.FixtureRequest) -> None:
    store = RedisStore.from_url(url, prefix=f"{request.node.name}:")
    ajwt = make_ajwt(store=store)
    app = make_app(ajwt)
    sub = f"{request.node.name}-alice"

    def rotate(client: httpx.AsyncClient, token: str, path: str = "/auth/refresh") -> Any:
        return client.post(path, headers=refresh_headers(token, ajwt.csrf_token(token)))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        _, first = ajwt.create_token(sub=sub)
        _, second = ajwt.create_token(sub=sub)
        await asyncio.sleep(0.05)  # the scheduled records
        listed = await ajwt.list_sessions(sub)
        assert len(listed) == 2
        assert listed[0].created_at > listed[1].created_at

        assert (await rotate(client, first)).status_code == 200
        assert (await rotate(client, first, "/auth/logout")).status_code == 401  # used up: reuse on logout
        assert [info.family for info in await ajwt.list_sessions(sub)] == [listed[0].family]

        await ajwt.revoke_subject(sub)  # then log in again at once: the microsecond cut-off lets it through
        access, third = ajwt.create_token(sub=sub)
        assert (await client.get("/me", headers={"Authorization": f"Bearer {access}"})).status_code == 200
        assert (await rotate(client, second)).status_code == 401
        assert (await rotate(client, third)).status_code == 200
    await ajwt.aclose()
    await ajwt.aclose()


def test_lifespan_closes_the_pool(shared_redis_url: str) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    store = RedisStore.from_url(shared_redis_url)
    ajwt = ApoJWT("x" * 40, store=store)
    app = FastAPI(lifespan=ajwt.lifespan)

    @app.get("/")
    async def root() -> bool:
        return await store.is_revoked(jti="j", sub="s", issued_at=1.0)

    with TestClient(app) as client:
        assert client.get("/").json() is False
        assert store._client is not None
    assert store._client is None

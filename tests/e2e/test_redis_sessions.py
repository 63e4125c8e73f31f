"""RedisStore's session index on a real redis-server: order, updates, expiry, TTL, bound."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from fastapi_apojwt.stores.redis import MAX_SESSIONS, RedisStore

pytestmark = pytest.mark.e2e


@pytest.fixture
def raw(shared_redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(shared_redis_url)
    yield client
    client.close()


def index_keys(prefix: str, sub: str) -> list[str]:
    tag = hashlib.sha256(sub.encode()).hexdigest()[:16]
    return [f"{prefix}i:{{S{tag}}}", f"{prefix}x:{{S{tag}}}"]


async def test_sessions_order_update_expiry_and_ttl(
    shared_redis_url: str, raw: Redis, request: pytest.FixtureRequest
) -> None:
    prefix = f"{request.node.name}:"
    store = RedisStore.from_url(shared_redis_url, prefix=prefix)
    now = time.time()
    await store.add_session("alice", "long", created_at=now - 9, refreshed_at=now - 9, expires_at=now + 300)
    await store.add_session("alice", "short", created_at=now - 1, refreshed_at=now - 1, expires_at=now + 1.2)
    assert [s[0] for s in await store.sessions("alice")] == ["short", "long"]
    assert all(200_000 < raw.pttl(key) <= 300_000 for key in index_keys(prefix, "alice"))  # the latest expiry

    await store.add_session("alice", "long", created_at=now - 9, refreshed_at=now, expires_at=now + 100)
    assert (await store.sessions("alice"))[1] == ("long", now - 9, now, now + 100)
    assert all(raw.pttl(key) > 200_000 for key in index_keys(prefix, "alice"))  # extended, never shrunk

    await asyncio.sleep(1.3)
    assert [s[0] for s in await store.sessions("alice")] == ["long"]  # filtered on read
    await store.add_session("alice", "next", created_at=time.time(), refreshed_at=time.time(), expires_at=now + 50)
    index, order = index_keys(prefix, "alice")
    assert sorted(raw.hkeys(index)) == [b"long", b"next"]  # pruned on write
    assert raw.zcard(order) == 2

    await store.add_session("alice", "dead", created_at=now, refreshed_at=now, expires_at=now - 1)
    assert b"dead" not in raw.hkeys(index)
    await store.close()


async def test_sessions_are_bounded(shared_redis_url: str, raw: Redis, request: pytest.FixtureRequest) -> None:
    prefix = f"{request.node.name}:"
    store = RedisStore.from_url(shared_redis_url, prefix=prefix)
    now = time.time()
    for start in range(0, MAX_SESSIONS + 3, 50):
        await asyncio.gather(
            *(
                store.add_session("busy", f"f{i:04}", created_at=now + i, refreshed_at=now, expires_at=now + 600 + i)
                for i in range(start, min(start + 50, MAX_SESSIONS + 3))
            )
        )
    sessions = await store.sessions("busy")
    assert len(sessions) == MAX_SESSIONS
    assert sessions[0][0] == f"f{MAX_SESSIONS + 2:04}"
    assert {s[0] for s in sessions}.isdisjoint({"f0000", "f0001", "f0002"})  # the first to expire went
    assert raw.hlen(index_keys(prefix, "busy")[0]) == MAX_SESSIONS
    await store.close()

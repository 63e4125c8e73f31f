"""RedisStore(wait_replicas=N) against a real primary and replica: confirmed writes, 503 when unconfirmed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from fastapi_apojwt import ServiceUnavailableError
from fastapi_apojwt.stores.redis import RedisStore
from tests.redis_topology import Replicated, primary_with_replica

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pair() -> Iterator[Replicated]:
    with primary_with_replica() as running:
        yield running


@pytest.fixture
def replica_client(pair: Replicated) -> Iterator[Redis]:
    client = Redis(host="127.0.0.1", port=pair.replica.port)
    yield client
    client.close()


async def test_confirmed_writes_are_on_the_replica(
    pair: Replicated, replica_client: Redis, request: pytest.FixtureRequest
) -> None:
    prefix = f"{request.node.name}:"
    store = RedisStore.from_url(pair.primary.url, prefix=prefix, wait_replicas=1)
    now = time.time()
    await store.revoke_token("j", ttl=60)
    await store.revoke_family("f", ttl=60)
    await store.revoke_subject("s", issued_before=10.0, ttl=60)
    assert await store.use_refresh_token("r", family="f", ttl=60)
    await store.add_session("s", "f", created_at=now, refreshed_at=now, expires_at=now + 60)
    # acknowledged means replicated: all five records are already on the replica, no polling
    assert len(replica_client.keys(f"{prefix}*")) == 6  # t, f, s, u, and the session index's two keys
    assert not await store.use_refresh_token("r", family="f", ttl=60)
    assert await store.is_revoked(jti="j", sub="x", issued_at=0)
    await store.close()


async def test_more_replicas_than_exist_is_503(pair: Replicated) -> None:
    store = RedisStore.from_url(pair.primary.url, prefix="two:", wait_replicas=2, wait_timeout=0.1)
    with pytest.raises(ServiceUnavailableError) as caught:
        await store.revoke_token("j", ttl=60)
    assert caught.value.status_code == 503
    await store.close()


async def test_frozen_replica_is_503_and_the_refresh_token_stays_usable(pair: Replicated) -> None:
    store = RedisStore.from_url(pair.primary.url, prefix="frozen:", wait_replicas=1, wait_timeout=0.3)
    primary = Redis(host="127.0.0.1", port=pair.primary.port)
    now = time.time()
    pair.replica.pause()
    try:
        for write in (
            store.revoke_token("j", ttl=60),
            store.revoke_family("f", ttl=60),
            store.revoke_subject("s", issued_before=1.0, ttl=60),
            store.add_session("s", "f", created_at=now, refreshed_at=now, expires_at=now + 60),
            store.use_refresh_token("r", family="f", ttl=60),
        ):
            with pytest.raises(ServiceUnavailableError):
                await write
        assert primary.keys("frozen:u:*") == []  # the unconfirmed use was given back
        # a retry while the replica is still frozen is not a replay either: still 503, still usable
        with pytest.raises(ServiceUnavailableError):
            await store.use_refresh_token("r", family="f", ttl=60)
    finally:
        pair.replica.resume()
    for _ in range(100):
        try:
            used = await store.use_refresh_token("r", family="f", ttl=60)
            break
        except ServiceUnavailableError:
            await asyncio.sleep(0.1)  # the replica is catching up
    else:
        pytest.fail("no confirmation after the replica came back")
    assert used is True
    assert not await store.use_refresh_token("r", family="f", ttl=60)
    primary.close()
    await store.close()


async def test_without_wait_replicas_nothing_waits(pair: Replicated) -> None:
    store = RedisStore.from_url(pair.primary.url, prefix="nowait:")
    pair.replica.pause()
    try:
        await store.revoke_token("j", ttl=60)  # acknowledged by the primary alone
        assert await store.use_refresh_token("r", family="f", ttl=60)
    finally:
        pair.replica.resume()
    await store.close()

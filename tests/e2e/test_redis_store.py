"""RedisStore against a real redis-server: semantics, atomicity, TTLs, prefix, outage and recovery."""

import asyncio
import hashlib
from collections.abc import Iterator

import pytest
from redis import Redis

from fastapi_apojwt import ServiceUnavailableError
from fastapi_apojwt.stores import TokenStore
from fastapi_apojwt.stores.redis import RedisStore
from tests.servers import RedisServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def raw(shared_redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(shared_redis_url)
    yield client
    client.close()


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def new_store(url: str, prefix: str) -> RedisStore:
    return RedisStore.from_url(url, prefix=prefix)


async def test_is_a_token_store(shared_redis_url: str) -> None:
    store = new_store(shared_redis_url, "t0:")
    assert isinstance(store, TokenStore)
    await store.close()


async def test_revocations_and_ttls(shared_redis_url: str, raw: Redis, request: pytest.FixtureRequest) -> None:
    prefix = f"{request.node.name}:"
    store = new_store(shared_redis_url, prefix)
    assert not await store.is_revoked(jti="j1", sub="alice", issued_at=100.0, family="f1")

    await store.revoke_token("j1", ttl=60)
    assert await store.is_revoked(jti="j1", sub="alice", issued_at=100.0)
    assert not await store.is_revoked(jti="j2", sub="alice", issued_at=100.0)

    await store.revoke_family("f1", ttl=120)
    assert await store.is_revoked(jti="j2", sub="alice", issued_at=100.0, family="f1")
    assert not await store.is_revoked(jti="j2", sub="alice", issued_at=100.0, family="f2")

    await store.revoke_subject("bob", issued_before=200.5, ttl=300)
    assert await store.is_revoked(jti=None, sub="bob", issued_at=200.0)
    assert await store.is_revoked(jti=None, sub="bob", issued_at=200.5)  # at the cut-off: revoked
    assert not await store.is_revoked(jti=None, sub="bob", issued_at=201.0)
    await store.revoke_subject("bob", issued_before=150.0, ttl=10)  # older cut-off, shorter ttl: no effect
    assert await store.is_revoked(jti=None, sub="bob", issued_at=200.0)

    assert await store.use_refresh_token("r1", family="f9", ttl=30)
    assert not await store.use_refresh_token("r1", family="f9", ttl=30)

    keys = sorted(k.decode() for k in raw.scan_iter(match=f"{prefix}*"))
    # hash tags hold a digest of the id (first 16 hex digits of sha256), never the id itself
    expected = (f"t:{{{h('j1')}}}", f"f:{{F{h('f1')}}}", f"s:{{S{h('bob')}}}", f"u:{{F{h('f9')}}}:r1")
    assert keys == sorted(f"{prefix}{k}" for k in expected)
    ttls = {k: raw.pttl(k) for k in keys}
    assert all(ttl > 0 for ttl in ttls.values()), ttls  # nothing without a TTL
    assert ttls[f"{prefix}s:{{S{h('bob')}}}"] > 250_000  # the longer TTL was kept
    await store.close()


async def test_prefixes_isolate_services(shared_redis_url: str) -> None:
    a, b = new_store(shared_redis_url, "svc-a:"), new_store(shared_redis_url, "svc-b:")
    await a.revoke_token("same-jti", ttl=60)
    assert await a.is_revoked(jti="same-jti", sub="", issued_at=0)
    assert not await b.is_revoked(jti="same-jti", sub="", issued_at=0)
    await a.close()
    await b.close()


async def test_use_refresh_token_is_atomic_across_clients(shared_redis_url: str) -> None:
    stores = [new_store(shared_redis_url, "atomic:") for _ in range(5)]
    results = await asyncio.gather(*(s.use_refresh_token("burst", family="f", ttl=30) for s in stores * 10))
    assert results.count(True) == 1
    for s in stores:
        await s.close()


def test_store_follows_the_event_loop(shared_redis_url: str) -> None:
    store = new_store(shared_redis_url, "loops:")

    async def revoke_then_check(jti: str) -> bool:
        await store.revoke_token(jti, ttl=30)
        try:
            return await store.is_revoked(jti=jti, sub="", issued_at=0)
        finally:
            await store.close()  # connections belong to the loop that opened them

    assert asyncio.run(revoke_then_check("a"))
    assert asyncio.run(revoke_then_check("b"))  # a second loop: new connections, no error


async def test_outage_fails_closed_and_recovers(redis: RedisServer) -> None:
    store = new_store(redis.url, "outage:")
    await store.revoke_token("j", ttl=60)
    redis.stop()
    for operation in (
        store.is_revoked(jti="j", sub="", issued_at=0),
        store.revoke_token("k", ttl=60),
        store.revoke_family("f", ttl=60),
        store.revoke_subject("s", issued_before=1, ttl=60),
        store.use_refresh_token("u", family="f", ttl=60),
    ):
        with pytest.raises(ServiceUnavailableError) as caught:
            await operation
        assert caught.value.status_code == 503
        assert caught.value.headers == {"Retry-After": "1"}
    redis.start()
    # the same store object reconnects on its own (the data is gone: this redis keeps none on disk)
    assert not await store.is_revoked(jti="j", sub="", issued_at=0)
    await store.revoke_token("j", ttl=60)
    assert await store.is_revoked(jti="j", sub="", issued_at=0)
    await store.close()


async def test_unreachable_url_is_503(redis: RedisServer) -> None:
    redis.stop()
    store = RedisStore.from_url(redis.url, connect_timeout=0.5)
    with pytest.raises(ServiceUnavailableError):
        await store.is_revoked(jti="x", sub="", issued_at=0)
    await store.close()


def test_from_url_checks_its_argument() -> None:
    from fastapi_apojwt import ConfigurationError

    with pytest.raises(ConfigurationError):
        RedisStore.from_url("localhost:6379")


def test_sync_callers_step_by_hand_then_run_on_a_loop(shared_redis_url: str) -> None:
    # What sync views do (Flask, sync decorated handlers): step the coroutine without a loop
    # first; a store that needs I/O must say "no loop" (not "outage") so they retry on one.
    from starlette.requests import HTTPConnection

    from tests.integration.refresh_helpers import make_ajwt

    ajwt = make_ajwt(store=new_store(shared_redis_url, "sync:"))
    access, refresh = ajwt.create_token(sub="alice")
    csrf = ajwt.csrf_token(refresh)
    cookie = f"refresh_token={refresh}; csrf_refresh_token={csrf}".encode()
    scope = {"type": "http", "method": "POST", "headers": [(b"cookie", cookie), (b"x-csrf-token", csrf.encode())]}
    for factory in (lambda: ajwt.verify(access), lambda: ajwt.refresh.authenticate(HTTPConnection(scope))):
        coroutine = factory()
        with pytest.raises(RuntimeError, match="event loop"):
            coroutine.send(None)
        coroutine.close()

    async def on_a_loop() -> tuple[str, str]:
        try:
            verified = await ajwt.verify(access)
            refreshed = await ajwt.refresh.authenticate(HTTPConnection(scope))
            return verified.sub, refreshed.sub
        finally:
            await ajwt.store.close()

    assert asyncio.run(on_a_loop()) == ("alice", "alice")  # the by-hand attempts used nothing up

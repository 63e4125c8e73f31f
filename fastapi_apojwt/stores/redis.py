"""A token store in Redis, shared by every process and machine of a service (extra ``redis``).

Works with a single Redis (or a primary with replicas) and with Redis Cluster.
Keys (all under a configurable prefix, all with a TTL, so nothing grows
without bound); ``h(x)`` is the first 16 hex digits of ``sha256(x)``, so the
hash tag ``{...}`` is well formed whatever the subject or id holds::

    <prefix>t:{h(jti)}           a revoked token        ("1", until the token expires)
    <prefix>f:{Fh(fam)}          a revoked family       ("1", for the longest token lifetime)
    <prefix>u:{Fh(fam)}:<jti>    a used refresh token   (the using call's nonce, until the token expires)
    <prefix>s:{Sh(sub)}          a subject's cut-off    (a timestamp; later cut-offs win)
    <prefix>i:{Sh(sub)}          a subject's sessions   (hash: family -> "created refreshed expires")
    <prefix>x:{Sh(sub)}          their expiry order     (sorted set: family scored by expiry)

Every atomic step touches keys of one hash tag, so one Redis Cluster slot: the
family's keys share ``{F...}``, the subject's ``{S...}``. ``is_revoked`` reads
keys of up to three slots: one ``MGET`` on a single Redis, a pipeline of ``GET``
on a cluster (sound without atomicity: the records are set-once flags and
cut-offs that only grow). ``use_refresh_token`` is one Lua script that stores a
per-call nonce, so a command that redis-py resends after a lost reply is
recognised as the same call, not taken for a replay.

With ``wait_replicas=N`` every write is followed, on the same connection, by
``WAIT N timeout``: fewer confirmations become ``ServiceUnavailableError``
(and a refresh token whose use was not confirmed is released again). Any Redis
failure becomes ``ServiceUnavailableError`` (a 503 with ``Retry-After``):
tokens are never accepted while Redis cannot answer, and the client reconnects
by itself when Redis is back. Each outage is logged once, as a WARNING on the
``fastapi_apojwt.stores.redis`` logger, and its end as an INFO record. Every
operation has an overall ``deadline`` (default 1 s, retries and reconnects
included): past it, the answer is that 503.

With ``mirror=True`` each revocation is also appended to one stream,
``<prefix>revocations``, and each process answers ``is_revoked`` from a local
mirror that follows it (see :mod:`fastapi_apojwt.stores.mirror`), as long as the
mirror can prove it was current within ``max_staleness`` seconds; otherwise it
asks Redis as above. ``use_refresh_token`` always asks Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

try:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoScriptError, ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError('RedisStore needs redis-py: pip install "fastapi-apojwt[redis]"') from missing

from ..errors import ConfigurationError, ServiceUnavailableError
from ._redis_keys import KeyLayout
from ._redis_scripts import ADD_SESSION, RELEASE, REVOKE_SUBJECT, USE, Script
from .mirror import RevocationMirror, append_event

__all__ = ["RedisStore"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

MAX_SESSIONS = 1000
"""Sessions kept per subject; beyond that, the one that would expire first is dropped."""

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


class _ReplicasBehind(Exception):
    """Fewer replicas than ``wait_replicas`` confirmed a write in time."""


def _reraise_without_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("RedisStore needs a running event loop.") from None


if sys.version_info >= (3, 11):
    _within = asyncio.timeout
else:  # pragma: no cover - Python 3.10

    @contextlib.asynccontextmanager
    async def _within(seconds: float) -> AsyncIterator[None]:
        """``asyncio.timeout`` for Python 3.10: cancel the block after ``seconds``, as ``TimeoutError``."""
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always inside a task
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        handle = asyncio.get_running_loop().call_later(seconds, expire)
        try:
            yield
        except asyncio.CancelledError:
            if expired:
                raise asyncio.TimeoutError from None
            raise
        finally:
            handle.cancel()


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be a number of seconds > 0.")
    return float(value)


def _ms(seconds: float) -> int:
    return max(1000, int(seconds * 1000))


def _describe(exc: BaseException) -> str:
    """The class of a failure and a short, fixed reason: never its message (it may echo a command)."""
    name = type(exc).__name__
    if isinstance(exc, _ReplicasBehind):
        return f"{name}: fewer replicas than wait_replicas confirmed a write in time"
    cause: BaseException | None = exc
    while cause is not None:  # the OS's own words for the errno, if the failure came from a socket
        if isinstance(cause, OSError) and isinstance(cause.errno, int) and cause.errno > 0:
            return f"{name}: {os.strerror(cause.errno)}"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, (RedisTimeoutError, asyncio.TimeoutError)):
        return f"{name}: no reply in time"
    if type(exc).__name__ == "MaxConnectionsError":  # redis-py's pool is full (the class is not in every 5.x)
        return f"{name}: every connection of the pool is in use"
    if isinstance(exc, RedisConnectionError):
        return f"{name}: cannot connect, or the connection was lost"
    if isinstance(exc, ResponseError):
        return f"{name}: Redis answered with an error"
    return f"{name}: the command failed"


def _give_back_later(release: Callable[[], Awaitable[Any]], tasks: set[asyncio.Task[None]]) -> None:
    """Run ``release`` in the background, a few times over some seconds, until Redis answered twice.

    Twice: a use cut short by the deadline may still reach Redis after the first answer.
    """

    async def attempts() -> None:
        answered = 0
        for attempt in range(12):
            await asyncio.sleep(min(2.0, 0.25 * 2**attempt))
            with contextlib.suppress(ServiceUnavailableError):
                await release()
                answered += 1
                if answered >= 2:
                    return

    task = asyncio.get_running_loop().create_task(attempts())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _number(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be an integer >= 0.")
    return value


class RedisStore:
    """Token state in Redis or Redis Cluster (redis-py's asyncio client).

    Example:
        ```python
        from fastapi_apojwt import ApoJWT
        from fastapi_apojwt.stores.redis import RedisStore

        ajwt = ApoJWT(secret, store=RedisStore.from_url("redis://localhost:6379/0"))
        ```

    Connections belong to the event loop that opened them (uvicorn runs one per
    process); when the store is used from another loop it opens new ones. Close
    it (``await store.close()``) in your app's lifespan.

    Args:
        client: A ``redis.asyncio.Redis`` or ``redis.asyncio.RedisCluster``
            client. Prefer :meth:`from_url`, which sets short timeouts and also
            works when the event loop changes.
        prefix: Prepended to every key, so several services can share a
            database. It may not contain ``{`` or ``}`` (they would change the
            keys' cluster hash slots).
        wait_replicas: After every write, wait until this many replicas confirm
            it (Redis ``WAIT``); fewer within ``wait_timeout`` is a 503. ``0``
            (the default) does not wait.
        wait_timeout: Seconds ``WAIT`` may take.
        deadline: Seconds any one operation may take in all (connecting,
            retries and ``WAIT`` included) before it fails with a 503.
        mirror: Answer ``is_revoked`` from a local mirror of the revocation
            records that a Redis stream keeps current (``False``: one round trip
            per check). Turn it on for every process that shares ``prefix``: a
            process without it does not append its revocations to the stream.
        max_staleness: With ``mirror``, the seconds after which a mirror that
            has not heard from Redis stops answering (the check asks Redis
            directly); the longest a revocation made elsewhere can go unseen.
    """

    def __init__(
        self,
        client: Redis | RedisCluster | None = None,
        *,
        prefix: str = "apojwt:",
        wait_replicas: int = 0,
        wait_timeout: float = 0.5,
        connect: Callable[[], Redis | RedisCluster] | None = None,
        deadline: float = 1.0,
        mirror: bool = False,
        max_staleness: float = 0.25,
    ) -> None:
        """Use ``client`` (or ``connect()``: a new client per event loop); :meth:`from_url` is the usual way."""
        if not isinstance(prefix, str):
            raise ConfigurationError("prefix must be a string.")
        if "{" in prefix or "}" in prefix:
            raise ConfigurationError("prefix must not contain '{' or '}': they would change the keys' hash slots.")
        if client is not None and not isinstance(client, (Redis, RedisCluster)):
            raise ConfigurationError("client must be a redis.asyncio.Redis or redis.asyncio.RedisCluster.")
        self.wait_replicas = _number(wait_replicas, "wait_replicas")
        if isinstance(wait_timeout, bool) or not isinstance(wait_timeout, (int, float)) or not wait_timeout > 0:
            raise ConfigurationError("wait_timeout must be a number of seconds > 0.")
        self._wait_ms = max(1, round(wait_timeout * 1000))
        self.deadline = _seconds(deadline, "deadline")
        if self.wait_replicas and self.deadline <= wait_timeout:
            raise ConfigurationError("deadline must be longer than wait_timeout: WAIT runs within it.")
        if not isinstance(mirror, bool):
            raise ConfigurationError("mirror must be True or False.")
        self.mirror = mirror
        self.max_staleness = _seconds(max_staleness, "max_staleness")
        self._mirror: RevocationMirror | None = None
        self._releases: set[asyncio.Task[None]] = set()
        self.prefix = prefix
        self.keys = KeyLayout(prefix)
        if client is not None and connect is not None:
            raise ConfigurationError("Pass either client= or connect=, not both.")
        self._factory = connect
        self._client = client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down = False  # an outage was logged and has not ended yet

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "apojwt:",
        socket_timeout: float = 2.0,
        connect_timeout: float = 1.0,
        wait_replicas: int = 0,
        wait_timeout: float = 0.5,
        deadline: float = 1.0,
        mirror: bool = False,
        max_staleness: float = 0.25,
        **options: Any,
    ) -> RedisStore:
        """A store connecting to ``url`` on first use.

        ``redis://``, ``rediss://`` or ``unix://`` for one Redis;
        ``redis+cluster://host:port`` or ``rediss+cluster://host:port`` for a
        Redis Cluster, seeded from any of its nodes (database 0 only: a
        cluster has no other).

        Timeouts are short so that an unreachable Redis turns into a quick 503
        rather than a hung request, and ``deadline`` bounds each operation as a
        whole; a dropped connection is retried once, so a restarted Redis is
        picked up without restarting the application. ``mirror=True``: see the
        class.

        Example:
            ```python
            store = RedisStore.from_url("redis://localhost:6379/0", prefix="shop:")
            cluster = RedisStore.from_url("redis+cluster://10.0.0.5:6379", wait_replicas=1)
            ```
        """
        if not isinstance(url, str) or "://" not in url:
            raise ConfigurationError("RedisStore.from_url needs a URL such as redis://localhost:6379/0.")
        settings: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": connect_timeout,
            "retry": Retry(NoBackoff(), 1),
            "health_check_interval": 30,
            **options,
        }
        store_options: dict[str, Any] = {
            "prefix": prefix,
            "wait_replicas": wait_replicas,
            "wait_timeout": wait_timeout,
            "deadline": deadline,
            "mirror": mirror,
            "max_staleness": max_staleness,
        }
        scheme, rest = url.split("://", 1)
        plain = _CLUSTER_SCHEMES.get(scheme.lower())
        if plain is None:
            return cls(connect=lambda: Redis.from_url(url, **settings), **store_options)
        parts = urlsplit(f"{plain}://{rest}")
        if parts.path.strip("/") not in ("", "0") or "db=" in parts.query:
            raise ConfigurationError("A Redis Cluster has database 0 only: use redis+cluster://host:port or .../0.")
        if not parts.hostname:
            raise ConfigurationError("A Redis Cluster URL needs a node to start from: redis+cluster://host:port.")
        seed = urlunsplit((parts.scheme, parts.netloc, "", parts.query, ""))
        return cls(connect=lambda: RedisCluster.from_url(seed, **settings), **store_options)

    def _redis(self) -> Redis | RedisCluster:
        """The client for the running event loop (a new loop gets new connections)."""
        if self._factory is None:
            if self._client is None:
                raise ConfigurationError("RedisStore needs a client or a URL (RedisStore.from_url).")
            return self._client
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._factory()
            self._loop = loop
            self._mirror = None  # it followed the stream on the old loop
        return self._client

    def _mirror_here(self) -> RevocationMirror | None:
        """The mirror of the running event loop, started on first use (``None`` without ``mirror``)."""
        if not self.mirror:
            return None
        mirror = self._mirror
        loop = asyncio.get_running_loop()
        if mirror is None or mirror.loop is not loop:
            self._redis()  # the loop's client first: it would drop a mirror made before it
            mirror = self._mirror = RevocationMirror(
                self._redis, prefix=self.prefix, max_staleness=self.max_staleness, deadline=self.deadline
            )
        return mirror

    async def _run(self, operation: Callable[[Any], Awaitable[T]]) -> T:
        try:
            client = self._redis()
        except RuntimeError:
            # No running event loop: a sync caller stepped the coroutine by hand and
            # runs it again on a loop (nothing was sent to Redis yet).
            _reraise_without_loop()
            raise
        try:
            async with _within(self.deadline):
                if isinstance(client, RedisCluster):
                    # Learn the slot map before sending anything: concurrent first commands on a new
                    # cluster client break its connections (AttributeError in redis-py 8.1); a no-op after.
                    await client.initialize()
                result = await operation(client)
        except ConfigurationError:
            raise
        except Exception as exc:
            # ConnectionError, TimeoutError, any RedisError, OSError, too few replicas: fail closed.
            _reraise_without_loop()
            self._failed(exc)
            raise ServiceUnavailableError from None
        if self._down:
            self._down = False
            logger.info("Redis token store recovered: requests that need token state are answered again.")
        return result

    def _failed(self, exc: Exception) -> None:
        """Log the first failure of an outage; later ones are the same outage until a success."""
        if not self._down:
            self._down = True
            logger.warning(
                "Redis token store unavailable (%s); requests that need token state get 503 until it answers again.",
                _describe(exc),
            )

    # -- commands ---------------------------------------------------------------------------

    @staticmethod
    async def _eval(client: Any, script: Script, keys: list[str], args: list[Any]) -> Any:
        try:
            return await client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(script.text, len(keys), *keys, *args)

    async def _write(self, client: Any, keys: tuple[str, ...], script: Script | None, *args: Any) -> Any:
        """Run one write: ``script`` on ``keys`` with ``args``, or (no script) the command ``args`` on ``keys[0]``.

        With ``wait_replicas``, ``WAIT`` follows on the same connection: it
        counts the replicas that caught up with the last write *of its
        connection*, so both go in one pipeline. On one Redis that is one
        connection; on a cluster the pipeline sends both, on one connection, to
        the primary owning the keys (a slot that moved meanwhile is a failure,
        never a confirmation by another node).
        """
        if not self.wait_replicas:
            if script is None:
                return await client.execute_command(*args)
            return await self._eval(client, script, list(keys), list(args))
        command = args if script is None else ("EVAL", script.text, len(keys), *keys, *args)
        wait = ("WAIT", self.wait_replicas, self._wait_ms)
        if isinstance(client, RedisCluster):
            pipe: Any = client.pipeline()
            pipe.execute_command(*command)
            pipe.execute_command(*wait, target_nodes=client.get_node_from_key(keys[0]))
            result, acks = await pipe.execute(allow_redirections=False)
        else:
            async with client.pipeline(transaction=False) as pipe:
                pipe.execute_command(*command)
                pipe.execute_command(*wait)
                result, acks = await pipe.execute()
        if int(acks) < self.wait_replicas:
            raise _ReplicasBehind
        return result

    # -- the protocol -----------------------------------------------------------------------

    async def is_revoked(self, *, jti: str | None, sub: str, issued_at: float, family: str | None = None) -> bool:
        """See :meth:`TokenStore.is_revoked`: the mirror's answer, or one ``MGET`` (a pipeline on a cluster)."""
        keys = [self.keys.subject(sub)]
        if jti is not None:
            keys.append(self.keys.token(jti))
        if family is not None:
            keys.append(self.keys.family(family))
        if self.mirror:
            try:
                mirror = self._mirror_here()
            except RuntimeError:
                _reraise_without_loop()
                raise
            if mirror is not None and mirror.fresh():
                return mirror.is_revoked(keys[0], keys[1:], issued_at)

        async def read(r: Any) -> list[bytes | str | None]:
            if not isinstance(r, RedisCluster):
                values: list[bytes | str | None] = await r.mget(keys)
                return values
            pipe: Any = r.pipeline()
            for key in keys:
                pipe.get(key)
            return list(await pipe.execute())

        cut_off, *others = await self._run(read)
        if any(value is not None for value in others):
            return True
        if cut_off is None:
            return False
        try:
            return issued_at <= float(cut_off)
        except ValueError:
            return True  # a record we cannot read: fail closed

    async def _revoke(self, key: str, value: str, ttl_ms: int, script: Script | None, *args: Any) -> None:
        """Write a revocation record, then (``mirror``) its event, and take it into this loop's mirror.

        Record first: a mirror reloading from a stream position before the event finds the record.
        """

        async def write(r: Any) -> None:
            await self._write(r, (key,), script, *args)
            if self.mirror:
                await append_event(r, f"{self.prefix}revocations", key, value, ttl_ms)

        await self._run(write)
        if self.mirror:
            mirror = self._mirror_here()
            if mirror is not None:
                mirror.apply(key, float(value), ttl_ms / 1000)

    async def revoke_token(self, jti: str, *, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_token`."""
        key, ms = self.keys.token(jti), _ms(ttl)
        await self._revoke(key, "1", ms, None, "SET", key, b"1", "PX", ms)

    async def revoke_family(self, family: str, *, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_family`."""
        key, ms = self.keys.family(family), _ms(ttl)
        await self._revoke(key, "1", ms, None, "SET", key, b"1", "PX", ms)

    async def revoke_subject(self, sub: str, *, issued_before: float, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_subject`: one Lua script keeps the later cut-off and the longer TTL."""
        key, ms = self.keys.subject(sub), _ms(ttl)
        cut_off = repr(float(issued_before))
        await self._revoke(key, cut_off, ms, REVOKE_SUBJECT, cut_off, str(ms))

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        """See :meth:`TokenStore.use_refresh_token`: one Lua script, atomic across processes, idempotent per call.

        When the use cannot be confirmed (Redis fails, or too few replicas
        acknowledge it), it is given back before the error is raised, as far as
        Redis can still be reached: the client's retry is not a replay.
        """
        key = self.keys.used(family, jti)
        nonce = secrets.token_hex(16)
        released = False

        async def use(r: Any) -> Any:
            nonlocal released
            try:
                return await self._write(r, (key,), USE, nonce, str(_ms(ttl)))
            except Exception:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._eval(r, RELEASE, [key], [nonce]), timeout=1.0)
                    released = True
                raise

        try:
            return bool(await self._run(use))
        except ServiceUnavailableError:
            if not released:  # the deadline cut the call short: the script may still run once Redis answers
                _give_back_later(lambda: self._run(lambda r: self._eval(r, RELEASE, [key], [nonce])), self._releases)
            raise

    async def is_refresh_token_used(self, jti: str, *, family: str) -> bool:
        """See :meth:`TokenStore.is_refresh_token_used`: one ``EXISTS`` of the key ``use_refresh_token`` sets."""
        key = self.keys.used(family, jti)
        found: int = await self._run(lambda r: r.exists(key))
        return bool(found)

    async def add_session(
        self, sub: str, family: str, *, created_at: float, refreshed_at: float, expires_at: float
    ) -> None:
        """See :meth:`SessionIndex.add_session`: one Lua script under the subject's hash tag."""
        now = time.time()
        if expires_at <= now:
            return  # nothing to list, ever
        index, order = self.keys.sessions(sub)
        times = (repr(float(created_at)), repr(float(refreshed_at)), repr(float(expires_at)))
        args = (family, *times, repr(now), str(MAX_SESSIONS))
        await self._run(lambda r: self._write(r, (index, order), ADD_SESSION, *args))

    async def sessions(self, sub: str) -> list[tuple[str, float, float, float]]:
        """See :meth:`SessionIndex.sessions`: one ``HGETALL``."""
        index, _ = self.keys.sessions(sub)
        records: dict[bytes | str, bytes | str] = await self._run(lambda r: r.hgetall(index))
        now = time.time()
        found: list[tuple[str, float, float, float]] = []
        for field, value in records.items():
            family = field.decode() if isinstance(field, bytes) else field
            try:
                created, refreshed, expires = (float(part) for part in (value.split()))
            except ValueError:
                continue  # not a record this store wrote
            if expires > now:
                found.append((family, created, refreshed, expires))
        found.sort(key=lambda session: session[1], reverse=True)
        return found

    async def close(self) -> None:
        """Stop the mirror and close the connections of the current client."""
        mirror, self._mirror = self._mirror, None
        if mirror is not None:
            await mirror.close()
        for task in list(self._releases):
            task.cancel()
        client, self._client = self._client, None
        if client is not None:
            closer: Any = client
            try:
                # aclose() since redis-py 5.0.1; close() before it (deprecated after).
                await (closer.aclose() if hasattr(closer, "aclose") else closer.close())
            except Exception:  # noqa: S110 - closing a broken connection is not an error worth raising
                pass

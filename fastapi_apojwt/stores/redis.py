"""A token store in Redis, shared by every process and machine of a service (extra ``redis``).

Keys (all under a configurable prefix, all with a TTL, so nothing grows
without bound)::

    <prefix>t:<jti>   a revoked token        ("1", until the token expires)
    <prefix>f:<fam>   a revoked family       ("1", for the longest token lifetime)
    <prefix>s:<sub>   a subject's cut-off    (a timestamp; later cut-offs win)
    <prefix>u:<jti>   a used refresh token   (its family, until the token expires)

``is_revoked`` is one ``MGET``; ``use_refresh_token`` is one ``SET NX PX``, so
of concurrent refreshes with the same token, on any number of processes,
exactly one wins. Any Redis failure becomes ``ServiceUnavailableError`` (a 503
with ``Retry-After``): tokens are never accepted while Redis cannot answer, and
the client reconnects by itself when Redis is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

try:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError('RedisStore needs redis-py: pip install "fastapi-apojwt[redis]"') from missing

from ..errors import ConfigurationError, ServiceUnavailableError

__all__ = ["RedisStore"]

T = TypeVar("T")

# Raise a subject's cut-off to max(old, new) and its TTL to max(old, new), atomically.
_REVOKE_SUBJECT = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
local cut = tonumber(ARGV[1])
if old > cut then cut = old end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], string.format('%.6f', cut), 'PX', ttl)
return 1
"""


def _reraise_without_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("RedisStore needs a running event loop.") from None


def _ms(seconds: float) -> int:
    return max(1000, int(seconds * 1000))


class RedisStore:
    """Token state in Redis (redis-py's asyncio client).

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
        client: A ``redis.asyncio.Redis`` client. Prefer :meth:`from_url`,
            which sets short timeouts and also works when the event loop changes.
        prefix: Prepended to every key, so several services can share a database.
    """

    def __init__(self, client: Redis | None = None, *, prefix: str = "apojwt:") -> None:
        """Use ``client``; see :meth:`from_url` for the usual way to build a store."""
        if not isinstance(prefix, str):
            raise ConfigurationError("prefix must be a string.")
        self.prefix = prefix
        self._factory: Callable[[], Redis] | None = None
        self._client = client
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "apojwt:",
        socket_timeout: float = 2.0,
        connect_timeout: float = 1.0,
        **options: Any,
    ) -> RedisStore:
        """A store connecting to ``url`` (``redis://``, ``rediss://`` or ``unix://``) on first use.

        Timeouts are short so that an unreachable Redis turns into a quick 503
        rather than a hung request; a dropped connection is retried once, so a
        restarted Redis is picked up without restarting the application.

        Example:
            ```python
            store = RedisStore.from_url("redis://localhost:6379/0", prefix="shop:")
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
        store = cls(prefix=prefix)
        store._factory = lambda: Redis.from_url(url, **settings)
        return store

    def _redis(self) -> Redis:
        """The client for the running event loop (a new loop gets new connections)."""
        if self._factory is None:
            if self._client is None:
                raise ConfigurationError("RedisStore needs a client or a URL (RedisStore.from_url).")
            return self._client
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._factory()
            self._loop = loop
        return self._client

    async def _run(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        try:
            client = self._redis()
        except RuntimeError:
            # No running event loop: a sync caller stepped the coroutine by hand and
            # runs it again on a loop (nothing was sent to Redis yet).
            _reraise_without_loop()
            raise
        try:
            return await operation(client)
        except ConfigurationError:
            raise
        except Exception:
            # ConnectionError, TimeoutError, any RedisError, OSError: fail closed.
            _reraise_without_loop()
            raise ServiceUnavailableError from None

    async def is_revoked(self, *, jti: str | None, sub: str, issued_at: float, family: str | None = None) -> bool:
        """See :meth:`TokenStore.is_revoked`: one ``MGET``."""
        p = self.prefix
        keys = [f"{p}s:{sub}"]
        if jti is not None:
            keys.append(f"{p}t:{jti}")
        if family is not None:
            keys.append(f"{p}f:{family}")
        values: list[bytes | str | None] = await self._run(lambda r: r.mget(keys))
        cut_off, *others = values
        if any(value is not None for value in others):
            return True
        if cut_off is None:
            return False
        try:
            return issued_at <= float(cut_off)
        except ValueError:
            return True  # a record we cannot read: fail closed

    async def revoke_token(self, jti: str, *, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_token`."""
        await self._run(lambda r: r.set(f"{self.prefix}t:{jti}", b"1", px=_ms(ttl)))

    async def revoke_family(self, family: str, *, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_family`."""
        await self._run(lambda r: r.set(f"{self.prefix}f:{family}", b"1", px=_ms(ttl)))

    async def revoke_subject(self, sub: str, *, issued_before: float, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_subject`: one Lua script keeps the later cut-off and the longer TTL."""
        key = f"{self.prefix}s:{sub}"

        async def run(r: Redis) -> Any:
            client: Any = r
            return await client.eval(_REVOKE_SUBJECT, 1, key, repr(float(issued_before)), str(_ms(ttl)))

        await self._run(run)

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        """See :meth:`TokenStore.use_refresh_token`: ``SET NX PX``, atomic across processes."""
        created = await self._run(lambda r: r.set(f"{self.prefix}u:{jti}", family.encode(), nx=True, px=_ms(ttl)))
        return bool(created)

    async def close(self) -> None:
        """Close the connections of the current client."""
        client, self._client = self._client, None
        if client is not None:
            closer: Any = client
            try:
                # aclose() since redis-py 5.0.1; close() before it (deprecated after).
                await (closer.aclose() if hasattr(closer, "aclose") else closer.close())
            except Exception:  # noqa: S110 - closing a broken connection is not an error worth raising
                pass

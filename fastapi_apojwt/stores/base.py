"""The token-state store protocol: revocation, refresh rotation and families.

A store answers two questions on the request path, each in one round trip:
is this token (or its family, or its subject) revoked, and may this refresh
token be used now (exactly once). Everything it keeps expires on its own.

Writing a backend: implement the seven coroutines below (no base class needed,
the protocol is structural) and pass an instance as ``ApoJWT(store=...)``.

* ``use_refresh_token`` must be atomic across every process sharing the
  store: of concurrent calls with the same ``jti``, exactly one returns ``True``.
* A revocation, once acknowledged, must hold for its whole ``ttl``.
* ``is_refresh_token_used`` reads what ``use_refresh_token`` wrote, so
  ``ajwt.refresh_token_required`` (which does not use the token up) refuses a
  token a rotation used up, and revokes its family. A store written before
  it existed still works everywhere else; ``refresh_token_required`` then
  fails closed (every request gets a 503, and an ERROR is logged), since it
  could not tell a stolen, used-up token from a live one.
* When the backend cannot answer, raise (``ServiceUnavailableError``, or any
  exception: ApoJWT turns it into a 503). Never answer "not revoked" on failure.

A store that can also list a subject's login sessions (for
``ajwt.list_sessions``) implements the two coroutines of :class:`SessionIndex`
as well; it is a separate protocol, so a store without them is still a
``TokenStore``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["SessionIndex", "TokenStore"]


@runtime_checkable
class TokenStore(Protocol):
    """What ApoJWT needs from a token-state backend.

    Times are UNIX timestamps in seconds. ``ttl`` arguments are the number of
    seconds a record must be kept (the remaining lifetime of the longest token
    it can affect); a store may forget a record after that. Implementations must
    raise ``ServiceUnavailableError`` when the backend cannot answer: ApoJWT then
    fails closed with a 503.

    Example:
        ```python
        ajwt = ApoJWT(secret, store=RedisStore.from_url("redis://localhost:6379/0"))
        ```
    """

    async def is_revoked(self, *, jti: str | None, sub: str, issued_at: float, family: str | None = None) -> bool:
        """Whether the token ``jti``, its ``family``, or its subject (as of its issue time) is revoked."""
        ...

    async def revoke_token(self, jti: str, *, ttl: float) -> None:
        """Revoke one token by its ``jti``."""
        ...

    async def revoke_family(self, family: str, *, ttl: float) -> None:
        """Revoke every token of a rotation family (one login session)."""
        ...

    async def revoke_subject(self, sub: str, *, issued_before: float, ttl: float) -> None:
        """Revoke every token of ``sub`` issued at or before ``issued_before`` (a later cut-off wins)."""
        ...

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        """Atomically mark a refresh token as used; ``False`` if it already was (a replay)."""
        ...

    async def is_refresh_token_used(self, jti: str, *, family: str) -> bool:
        """Whether ``use_refresh_token(jti, family=family, ...)`` has marked this token as used (a read only)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class SessionIndex(Protocol):
    """What a store needs to list a subject's login sessions (refresh families).

    Optional: ApoJWT uses it when its store has these two coroutines. Times are
    UNIX timestamps in seconds; each session is forgotten once its
    ``expires_at`` passes, so nothing grows without bound (a store may also
    keep only the most recent sessions of a subject, e.g. 1,000).

    Example:
        ```python
        store = MemoryStore()
        assert isinstance(store, SessionIndex)
        await store.add_session("alice", family, created_at=now, refreshed_at=now, expires_at=now + 86400)
        [(family, created_at, refreshed_at, expires_at)] = await store.sessions("alice")
        ```
    """

    async def add_session(
        self, sub: str, family: str, *, created_at: float, refreshed_at: float, expires_at: float
    ) -> None:
        """Record or update one login session (refresh family) of ``sub``.

        It is forgotten once ``expires_at`` passes.
        """
        ...

    async def sessions(self, sub: str) -> list[tuple[str, float, float, float]]:
        """The recorded, unexpired sessions of ``sub``, newest ``created_at`` first.

        Each is ``(family, created_at, refreshed_at, expires_at)``.
        """
        ...

"""The default store: process memory, zero configuration, bounded by expiry."""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

__all__ = ["MemoryStore"]

MAX_SESSIONS = 1000
"""Sessions kept per subject; beyond that, the one that would expire first is dropped."""

_Session = tuple[float, float, float]  # (created_at, refreshed_at, expires_at)


class _ExpiringSet:
    """A dict of key -> expiry with lazy, amortised pruning."""

    __slots__ = ("_clock", "_entries", "_heap")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._entries: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._clock = clock

    def add(self, key: str, value_until: float) -> None:
        self._prune()
        self._entries[key] = max(value_until, self._entries.get(key, 0.0))
        heapq.heappush(self._heap, (value_until, key))

    def get(self, key: str) -> float | None:
        until = self._entries.get(key)
        if until is None:
            return None
        if until <= self._clock():
            return None
        return until

    def __len__(self) -> int:
        return len(self._entries)

    def _prune(self) -> None:
        now = self._clock()
        heap, entries = self._heap, self._entries
        while heap and heap[0][0] <= now:
            until, key = heapq.heappop(heap)
            if entries.get(key, until + 1) <= now:
                del entries[key]


class MemoryStore:
    """Token state in this process's memory.

    Right for a single process. Several workers or machines need a shared
    store such as :class:`~fastapi_apojwt.stores.redis.RedisStore`, or a token
    revoked on one is still accepted on the others.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        """Create an empty store; ``clock`` is for tests."""
        self._clock = clock
        self._revoked = _ExpiringSet(clock)
        self._families = _ExpiringSet(clock)
        self._used = _ExpiringSet(clock)
        self._subjects: dict[str, tuple[float, float]] = {}  # sub -> (cut-off, keep until)
        self._sessions: dict[str, dict[str, _Session]] = {}  # sub -> family -> times
        self._sweep_sessions_at = 1024  # number of subjects at which expired sessions are swept

    async def is_revoked(self, *, jti: str | None, sub: str, issued_at: float, family: str | None = None) -> bool:
        """See :meth:`TokenStore.is_revoked`."""
        if jti is not None and self._revoked.get(jti) is not None:
            return True
        if family is not None and self._families.get(family) is not None:
            return True
        cut = self._subjects.get(sub)
        if cut is not None:
            cut_off, until = cut
            if until <= self._clock():
                del self._subjects[sub]
            elif issued_at <= cut_off:
                return True
        return False

    async def revoke_token(self, jti: str, *, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_token`."""
        self._revoked.add(jti, self._clock() + ttl)

    async def revoke_family(self, family: str, *, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_family`."""
        self._families.add(family, self._clock() + ttl)

    async def revoke_subject(self, sub: str, *, issued_before: float, ttl: float) -> None:
        """See :meth:`TokenStore.revoke_subject`."""
        now = self._clock()
        if len(self._subjects) > 1024:  # amortised: forget cut-offs no live token can predate
            for key in [k for k, (_, until) in self._subjects.items() if until <= now]:
                del self._subjects[key]
        previous = self._subjects.get(sub, (0.0, 0.0))
        self._subjects[sub] = (max(previous[0], issued_before), max(previous[1], self._clock() + ttl))

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        """See :meth:`TokenStore.use_refresh_token`. Atomic: no await inside."""
        if self._used.get(jti) is not None:
            return False
        self._used.add(jti, self._clock() + ttl)
        return True

    async def is_refresh_token_used(self, jti: str, *, family: str) -> bool:
        """See :meth:`TokenStore.is_refresh_token_used`."""
        return self._used.get(jti) is not None

    async def add_session(
        self, sub: str, family: str, *, created_at: float, refreshed_at: float, expires_at: float
    ) -> None:
        """See :meth:`SessionIndex.add_session`. Expired sessions are pruned on write, at most 1,000 kept."""
        now = self._clock()
        sessions = self._sessions.get(sub)
        if sessions is None:
            if expires_at <= now:
                return
            if len(self._sessions) >= self._sweep_sessions_at:  # amortised: forget subjects with nothing live
                for key in [k for k, v in self._sessions.items() if all(s[2] <= now for s in v.values())]:
                    del self._sessions[key]
                self._sweep_sessions_at = max(1024, 2 * len(self._sessions))
            sessions = self._sessions[sub] = {}
        for key in [k for k, s in sessions.items() if s[2] <= now]:
            del sessions[key]
        if expires_at > now:
            sessions[family] = (created_at, refreshed_at, expires_at)
        while len(sessions) > MAX_SESSIONS:
            del sessions[min(sessions, key=lambda k: sessions[k][2])]
        if not sessions:
            del self._sessions[sub]

    async def sessions(self, sub: str) -> list[tuple[str, float, float, float]]:
        """See :meth:`SessionIndex.sessions`."""
        now = self._clock()
        found = [(family, *times) for family, times in self._sessions.get(sub, {}).items() if times[2] > now]
        found.sort(key=lambda session: session[1], reverse=True)
        return found

    async def close(self) -> None:
        """Nothing to release."""

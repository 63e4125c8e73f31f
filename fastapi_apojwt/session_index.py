"""The session index's parts: ``SessionInfo``, the tick source of login times and cut-offs, scheduling.

``Sessions`` (in ``sessions``) records a login session in the store's index
(``SessionIndex``) when ``create_token`` starts one, and on every rotation;
``ajwt.list_sessions(sub)`` reads them back as :class:`SessionInfo`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["WALL_TICKS", "SessionInfo", "Ticks", "closer_of", "schedule", "session_start"]


def session_start(claims: Mapping[str, Any]) -> float | None:
    """When the token's session started: ``auth_time``, or ``iat`` for tokens without it (apojwt 1.x).

    ``None`` for claims that have neither (a context built by hand, e.g. in a test override).
    """
    started = claims.get("auth_time", claims.get("iat"))
    return None if started is None else float(started)


class Ticks:
    """Strictly increasing times, on a microsecond grid, from one clock.

    Login times (``auth_time``) and subject cut-offs are both taken here, so two
    calls in the same instant of the clock still order: a cut-off is after every
    login before it and before every login after it. The microsecond grid
    survives every store's round trip (Redis keeps cut-offs as ``%.6f``).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        """Ticks of ``clock``."""
        self.clock = clock
        self._last = 0.0
        self._lock = threading.Lock()  # sync handlers mint from worker threads

    def __call__(self) -> float:
        """The next tick: ``clock()`` rounded to the microsecond, and later than the previous tick."""
        now = round(float(self.clock()), 6)
        with self._lock:
            if now <= self._last:
                now = round(self._last + 1e-6, 6)
            self._last = now
        return now


WALL_TICKS = Ticks(time.time)  # every instance on the wall clock shares one, so they order too


class SessionInfo(BaseModel):
    """One live login session (refresh family) of a subject, from ``await ajwt.list_sessions(sub)``.

    Example:
        ```python
        for info in await ajwt.list_sessions("alice"):
            print(info.family, info.created_at, info.refreshed_at, info.expires_at)
        await ajwt.revoke_family(info.family)  # "log out that device"
        ```
    """

    model_config = ConfigDict(frozen=True)

    family: str
    """The refresh family id: pass it to ``ajwt.revoke_family`` to end the session."""
    sub: str
    """The subject."""
    created_at: datetime
    """The login (aware, UTC)."""
    refreshed_at: datetime
    """The last rotation, or the login (aware, UTC)."""
    expires_at: datetime
    """When its current refresh token expires (aware, UTC)."""


def schedule(
    record: Callable[[], Coroutine[Any, Any, None]],
    *,
    pending: set[asyncio.Task[None]],
    inline: bool,
    defer: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
) -> None:
    """Run ``record()`` from synchronous code without waiting for I/O.

    On a running event loop it becomes a task (kept in ``pending``); ``inline``
    (the memory store, which never suspends) runs it right here; from one of
    FastAPI's worker threads (a sync handler) it becomes a task on the app's
    loop. Anywhere else (no loop at all: a script, a Flask view) it is handed to
    ``defer``, to run with the next store operation on a loop: a temporary loop
    of its own would open (and leak) connections of a loop-bound store.
    """
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        _spawn(loop, record, pending)
        return
    if inline and _step(record()):
        return
    try:
        import anyio.from_thread

        anyio.from_thread.run_sync(lambda: _spawn(asyncio.get_running_loop(), record, pending))
    except Exception:  # not a worker thread of a running loop
        defer(record)


def _spawn(
    loop: asyncio.AbstractEventLoop,
    record: Callable[[], Coroutine[Any, Any, None]],
    pending: set[asyncio.Task[None]],
) -> None:
    task = loop.create_task(record())
    pending.add(task)
    task.add_done_callback(pending.discard)


def _step(coroutine: Coroutine[Any, Any, None]) -> bool:
    """Run a coroutine that should never suspend to its end, without an event loop; ``False`` if it needed one."""
    try:
        while coroutine.send(None) is None:  # a bare yield needs no loop
            pass
    except StopIteration:
        return True
    except RuntimeError:
        return False  # "no running event loop"
    coroutine.close()  # it waits for real I/O after all
    return False


def closer_of(source: object) -> Callable[[], Awaitable[Any]] | None:
    """The ``aclose()`` (or async ``close()``) of ``source``, if it has one."""
    for name in ("aclose", "close"):
        method = getattr(source, name, None)
        if method is not None and asyncio.iscoroutinefunction(method):
            return method  # type: ignore[no-any-return]
    return None

"""Auth events: what happened to sessions and tokens, for listeners and for the log.

Every event is an :class:`AuthEvent` (immutable; never the token itself) and a
log record on the ``fastapi_apojwt.events`` logger whose ``event`` attribute
is its name, so a log pipeline can count them without any code::

    refreshed          a refresh token was used up by a rotation         sub, family, jti
    refresh_reuse      a used-up refresh token came back (replay)        family, sub, jti
    token_revoked      one token was revoked                             jti
    family_revoked     a login session (refresh family) was revoked      family
    subject_revoked    every token of a subject issued so far            sub
    auth_failed        a guard refused a request                         reason
    store_unavailable  the token store stopped answering (once per outage) reason

``auth_failed`` carries ``reason`` = the RFC 6750 error and a short code, e.g.
``"invalid_token:expired"`` or ``"insufficient_scope:permission"`` (a failure
without an RFC 6750 error code is the code alone: ``"missing_token"``,
``"csrf"``).

Listeners (``ajwt.add_event_listener(callback)``) are called in the order they
were added. A sync listener runs inline, on the request path: keep it quick. An
async listener is *scheduled* as a task on the running event loop and never
awaited by the request, so a slow one cannot delay a response; each is bounded
by :attr:`EventBus.listener_timeout` seconds. Outside any event loop (a sync
script, a Flask view) it runs on a short-lived thread of its own. A listener
that raises (or times out) is logged on ``fastapi_apojwt.events`` and never
breaks the request.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .errors import ApoJWTError

__all__ = ["EVENT_NAMES", "AuthEvent", "EventBus", "EventListener", "EventName", "describe_failure", "failure_reason"]

logger = logging.getLogger("fastapi_apojwt.events")

EventName = Literal[
    "refreshed",
    "refresh_reuse",
    "token_revoked",
    "family_revoked",
    "subject_revoked",
    "auth_failed",
    "store_unavailable",
]
EVENT_NAMES: tuple[str, ...] = EventName.__args__  # type: ignore[attr-defined]

_LEVELS = {"refresh_reuse": logging.WARNING, "store_unavailable": logging.WARNING, "auth_failed": logging.DEBUG}


class AuthEvent(BaseModel):
    """One auth event (immutable). Fields an event does not concern are ``None``.

    Example:
        ```python
        def audit(event: AuthEvent) -> None:
            if event.name == "refresh_reuse":
                alert(f"stolen refresh token? session {event.family} of {event.sub} revoked")

        ajwt.add_event_listener(audit)
        ```
    """

    model_config = ConfigDict(frozen=True)

    name: EventName
    """What happened (see the module's table)."""
    sub: str | None = None
    """The subject concerned, when known."""
    family: str | None = None
    """The refresh family (login session) concerned, when known."""
    jti: str | None = None
    """The token id concerned, when known (never the token)."""
    reason: str | None = None
    """Why: ``"invalid_token:expired"`` for ``auth_failed``, the failure's class for ``store_unavailable``."""
    at: datetime
    """When (aware, UTC)."""


EventListener = Callable[[AuthEvent], Awaitable[None] | None]
"""A sync or async callable receiving each :class:`AuthEvent`."""

_CODES: dict[str, str] = {
    "MissingTokenError": "missing_token",
    "InvalidRequestError": "request",
    "MalformedTokenError": "malformed",
    "TokenTooLargeError": "too_large",
    "InvalidAlgorithmError": "algorithm",
    "InvalidSignatureError": "signature",
    "ExpiredTokenError": "expired",
    "ImmatureTokenError": "not_yet_valid",
    "InvalidIssuerError": "issuer",
    "InvalidAudienceError": "audience",
    "InvalidClaimError": "claim",
    "WrongTokenTypeError": "token_type",
    "RevokedTokenError": "revoked",
    "TokenReuseError": "reuse",
    "FreshTokenRequiredError": "not_fresh",
    "UnknownKeyError": "unknown_key",
    "CSRFError": "csrf",
    "InsufficientPermissionError": "permission",
    "ServiceUnavailableError": "unavailable",
}


def failure_reason(error: ApoJWTError) -> str:
    """``"<RFC 6750 error>:<short code>"`` for ``error`` (the code alone when it has no RFC 6750 error)."""
    code = "invalid"
    for cls in type(error).__mro__:  # the nearest class we know (a user's subclass maps to its parent's code)
        if cls.__name__ in _CODES:
            code = _CODES[cls.__name__]
            break
    rfc6750 = getattr(error, "error", None)
    return f"{rfc6750}:{code}" if isinstance(rfc6750, str) and rfc6750 else code


_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-+/=.]{20,}")


def describe_failure(exc: BaseException) -> str:
    """The class of a store failure and a short message, safe to log.

    The message is cut to one line of at most 100 characters, and anything
    that looks like token material (a run of 20 or more base64/base64url
    characters: tokens, ids, digests) is replaced by ``…``.
    """
    detail = getattr(exc, "detail", None) if isinstance(exc, ApoJWTError) else None
    text = str(detail if detail is not None else exc).splitlines()[0] if str(exc) else ""
    text = _TOKEN_LIKE.sub("…", text)[:100]
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class EventBus:
    """Listeners of one ``ApoJWT`` and the ``fastapi_apojwt.events`` log records.

    Args:
        clock: The time source stamped on events (``ApoJWT``'s ``clock``).
    """

    listener_timeout: float = 10.0
    """Seconds an async listener may run before it is cancelled (and logged)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        """No listeners yet."""
        self.clock = clock
        self.listeners: list[EventListener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def add_listener(self, callback: EventListener) -> EventListener:
        """Call ``callback(event)`` for every event from now on; returns it (so it works as a decorator)."""
        if not callable(callback):
            raise TypeError("an event listener must be callable: callback(event: AuthEvent)")
        self.listeners.append(callback)
        return callback

    def remove_listener(self, callback: EventListener) -> None:
        """Stop calling ``callback`` (nothing happens if it was not added)."""
        if callback in self.listeners:
            self.listeners.remove(callback)

    def emit(
        self,
        name: EventName,
        *,
        sub: str | None = None,
        family: str | None = None,
        jti: str | None = None,
        reason: str | None = None,
    ) -> AuthEvent:
        """Log the event and hand it to every listener; never raises because of a listener."""
        event = AuthEvent(
            name=name,
            sub=sub,
            family=family,
            jti=jti,
            reason=reason,
            at=datetime.fromtimestamp(self.clock(), timezone.utc),
        )
        level = _LEVELS.get(name, logging.INFO)
        if logger.isEnabledFor(level):
            fields = (("sub", sub), ("family", family), ("jti", jti), ("reason", reason))
            details = " ".join(f"{key}={value}" for key, value in fields if value is not None)
            logger.log(level, "auth event %s %s", name, details, extra={"event": name, "auth_event": event})
        for listener in tuple(self.listeners):
            self._deliver(listener, event)
        return event

    def _deliver(self, listener: EventListener, event: AuthEvent) -> None:
        try:
            result = listener(event)
        except Exception:
            logger.exception("auth event listener %r failed on %s", listener, event.name)
            return
        if inspect.isawaitable(result):
            self._schedule(listener, result, event)

    def _schedule(self, listener: EventListener, awaitable: Awaitable[None], event: AuthEvent) -> None:
        async def run() -> None:
            try:
                await asyncio.wait_for(awaitable, timeout=self.listener_timeout)
            except asyncio.TimeoutError:
                timeout = self.listener_timeout
                logger.error("auth event listener %r took longer than %ss on %s", listener, timeout, event.name)
            except Exception:
                logger.exception("auth event listener %r failed on %s", listener, event.name)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            threading.Thread(target=asyncio.run, args=(run(),), name="apojwt-event", daemon=True).start()
            return
        task = loop.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the async listeners still running on this loop (at shutdown, in tests)."""
        loop = asyncio.get_running_loop()
        pending = [task for task in self._tasks if task.get_loop() is loop and not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout if timeout is not None else self.listener_timeout)

    def __repr__(self) -> str:
        return f"<EventBus {len(self.listeners)} listener(s)>"

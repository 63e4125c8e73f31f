"""Sessions: refresh families over a store — redeem, rotate, revoke.

How a refresh works (``ajwt.refresh``, :meth:`Sessions.redeem`):

1. find the refresh token (the ``refresh_token`` cookie, or ``refresh_finder``);
2. when it came from a cookie, check the CSRF double submit (see ``csrf``);
3. verify the token, and ask the store whether the token, its family (the
   login session) or its subject is revoked;
4. use it up atomically (``store.use_refresh_token``), as the very last step
   that can fail: a rotation that fails (a 503) before or during it leaves the
   token usable, so the client's retry is not a replay. A token that was
   already used is a replay: the whole family is revoked and the request
   gets a 401, so a stolen refresh token dies as soon as either the thief or
   the user presents it after the other. ``ajwt.refresh_token_required``
   does not use the token up but asks the store whether it was
   (``store.is_refresh_token_used``), with the same consequence.

Tokens minted while handling a refresh (``ajwt.rotate(ctx)``, or
``ajwt.create_token(...)`` in the handler as apojwt 1.x code does) join the
family of the token that was used and are not fresh: the redeem step marks the
request's context with the rotation (:func:`current_rotation`).

Every token minted by a login carries ``auth_time`` (OIDC, RFC 9068: when the
session started, a NumericDate with microseconds) and every rotation copies
it, so the subject cut-off of ``revoke_subject`` is compared with the
session's start: a refresh in flight when the cut-off is set cannot extend the
session. Login times and cut-offs come from one tick source (:meth:`Sessions.tick`),
strictly increasing within a process, so a login right after ``revoke_subject``
(the change-password flow) is never caught by it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from typing import Any, NoReturn, TypeVar

from starlette.requests import HTTPConnection

from ._settings import RefreshSettings
from .context import FrozenDict, RefreshContext, TokenContext
from .csrf import check_csrf
from .errors import (
    ApoJWTError,
    ConfigurationError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    TokenReuseError,
)
from .events import EventBus, describe_failure, failure_reason
from .finders import RefreshTokenFinder
from .keys import HMAC_ALGORITHMS, KeyMaterial, KeySet
from .session_index import WALL_TICKS, SessionInfo, Ticks, closer_of, schedule, session_start
from .stores import MemoryStore, SessionIndex, TokenStore
from .tokens import REFRESH, TokenCodec
from .verifier import Verifier

__all__ = [
    "SessionInfo",
    "Sessions",
    "Ticks",
    "current_rotation",
    "end_rotation",
    "family_of",
    "refresh_key_set",
    "rotating",
    "session_start",
    "store_call",
    "token_id",
]

T = TypeVar("T")

logger = logging.getLogger(__name__)

_ROTATION: ContextVar[RefreshContext | None] = ContextVar("apojwt_rotation", default=None)


def current_rotation() -> RefreshContext | None:
    """The refresh token this request is rotating (set by ``ajwt.refresh``), if any."""
    return _ROTATION.get()


def end_rotation() -> None:
    """Forget the rotation: later ``create_token`` calls in this context start new sessions.

    Not needed in a refresh handler: the rotation ends with the request, and
    every pair minted there for the rotated subject stays in its family.
    """
    _ROTATION.set(None)


def _forget_rotation(marker: Token[RefreshContext | None]) -> None:
    """End a request's rotation (a no-op from another context, or when already ended)."""
    with suppress(ValueError, RuntimeError):
        _ROTATION.reset(marker)


@contextmanager
def rotating(context: RefreshContext) -> Iterator[None]:
    """Within the block, ``create_token`` continues the family of ``context`` and mints non-fresh tokens.

    ``ajwt.refresh`` arranges this by itself for FastAPI handlers. A framework
    that calls the view outside the guard's context (Flask's sync views)
    wraps the view call in this block, so nothing leaks into the next request.
    """
    marker = _ROTATION.set(context)
    try:
        yield
    finally:
        _ROTATION.reset(marker)


def token_id(claims: Mapping[str, Any], token: str) -> str:
    """The token's ``jti``; for apojwt 1.x tokens (no ``jti``), a digest of the token itself."""
    jti = claims.get("jti")
    if isinstance(jti, str) and jti:
        return jti
    return "sha256:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)


async def store_call(awaitable: Awaitable[T]) -> T:
    """Await a store operation; any failure of the backend becomes a 503 (fail closed).

    ``Sessions.call`` does the same and also logs each outage once.
    """
    try:
        return await awaitable
    except ApoJWTError:
        raise
    except Exception:
        _reraise_without_loop()
        raise ServiceUnavailableError from None


def _reraise_without_loop() -> None:
    """Inside ``except``: re-raise when no event loop runs at all.

    A sync caller (a Flask view, a sync decorated handler) may first step the
    coroutine by hand, without a loop, and run it again on a loop when it
    needs one (an I/O store). Such a failure is not an outage; anywhere a
    loop runs, failures stay 503s.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("no running event loop: run this coroutine on an event loop") from None


def refresh_key_set(secret: KeyMaterial, *, access_keys: KeySet, strict: bool) -> KeySet:
    """The keys of refresh tokens: an HMAC secret that must differ from the access secret."""
    algorithm = access_keys.algorithm if access_keys.algorithm in HMAC_ALGORITHMS else "HS256"
    signing = access_keys.signing
    if isinstance(secret, (str, bytes)) and signing is not None and access_keys.algorithm in HMAC_ALGORITHMS:
        raw = secret.encode() if isinstance(secret, str) else secret
        if raw == signing.key:
            raise ConfigurationError(
                "The refresh secret equals the access secret. Use a separate random secret "
                "(e.g. from `apojwt keygen hmac`) so one token type can never pass for the other."
            )
    return KeySet.build(algorithm=algorithm, secret=secret, strict=strict, what="refresh secret")


def family_of(target: str | TokenContext[Any] | RefreshContext) -> str:
    """The family id named by ``target`` (an id, or a context whose token belongs to a family)."""
    if isinstance(target, str):
        family: object = target
    elif isinstance(target, RefreshContext):
        family = target.family
    else:
        family = target.claims.get("fam")
    if not isinstance(family, str) or not family:
        raise InvalidClaimError("This token belongs to no refresh family; revoke it or its subject instead.")
    return family


class Sessions:
    """Login sessions (refresh families) and revocation, over a token store.

    Args:
        store: Where revocations and used refresh tokens are kept.
        verifier: The access-token verifier (to revoke an access token given as a string).
        exp_period: The access-token lifetime in seconds.
        strict: Refuse (``ConfigurationError``) a ``MemoryStore`` under a multi-process server
            instead of warning (see ``fastapi_apojwt.deployment``).
    """

    def __init__(self, store: TokenStore, verifier: Verifier, *, exp_period: float, strict: bool = False) -> None:
        """Hold the parts; refresh tokens are off until :meth:`configure`."""
        self.store = store
        self.verifier = verifier
        self.exp_period = exp_period
        self.settings: RefreshSettings | None = None
        """How refresh tokens travel (``None`` until ``config_refresh()``)."""
        self.codec: TokenCodec | None = None
        """The refresh-token codec (``None`` until ``config_refresh()``)."""
        self._finder: RefreshTokenFinder | None = None
        clock = verifier.codec.clock
        self.tick = WALL_TICKS if clock is time.time else Ticks(clock)
        """Login times and subject cut-offs: strictly increasing (see :class:`Ticks`)."""
        self.events = EventBus(clock)
        """Auth event listeners and the ``fastapi_apojwt.events`` log records."""
        self._down = False  # a store outage was logged and no call has succeeded since
        self._pending: set[asyncio.Task[None]] = set()  # session records scheduled by create_token
        self._deferred: list[Callable[[], Coroutine[Any, Any, None]]] = []  # ...from code outside any loop
        self._warned_no_used_read = False
        if isinstance(store, MemoryStore):
            from .deployment import check_token_state

            check_token_state(
                "ApoJWT's token state is in a MemoryStore (the default)",
                strict=strict,
                fix="Share it: ApoJWT(..., store=RedisStore.from_url(url)) (fastapi_apojwt.stores.redis.RedisStore).",
            )

    def configure(self, settings: RefreshSettings, keys: KeySet) -> None:
        """Turn refresh tokens on (``config_refresh()``): signed with ``keys``, checked like access tokens."""
        access = self.verifier.codec
        self.codec = TokenCodec(
            keys=keys,
            issuer=access.issuer,
            audience=access.audience,
            leeway=access.leeway,
            max_token_bytes=access.max_token_bytes,
            clock=access.clock,
        )
        self.settings = settings
        self._finder = RefreshTokenFinder(settings)

    def _refresh_codec(self) -> TokenCodec:
        if self.codec is None:
            raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
        return self.codec

    @property
    def clock(self) -> Callable[[], float]:
        """The clock tokens are checked against."""
        return self.verifier.codec.clock

    def family_ttl(self) -> float:
        """How long a family or subject revocation must be kept: the longest token lifetime."""
        refresh = self.settings.exp_period if self.settings is not None else 0.0
        return max(self.exp_period, refresh) + self.verifier.codec.leeway + 1

    def _remaining(self, exp: float) -> float:
        return max(1.0, exp - self.clock() + self.verifier.codec.leeway)

    # -- the store, its outages -------------------------------------------------------

    async def call(self, awaitable: Awaitable[T]) -> T:
        """Await a store operation: a failure becomes a 503 (fail closed), each outage logged once.

        The first failure after a success is logged (a WARNING: the failure's
        class and a short message, never token material) and emitted as the
        ``store_unavailable`` event; the next success logs the recovery.
        """
        try:
            result = await awaitable
        except Exception as error:
            self._fail(error)
        if self._down:
            self._recovered()
        return result

    def _fail(self, error: Exception) -> NoReturn:
        """Inside ``except``: raise what a store operation that raised ``error`` raises (an outage: a 503)."""
        if isinstance(error, ServiceUnavailableError):
            self._outage(error)
            raise error
        if isinstance(error, ApoJWTError):
            raise error
        _reraise_without_loop()
        self._outage(error)
        raise ServiceUnavailableError from None

    def _recovered(self) -> None:
        self._down = False
        logger.info("The token store answers again (%s).", type(self.store).__name__)

    def _outage(self, error: BaseException) -> None:
        if self._down:
            return
        self._down = True
        reason = describe_failure(error)
        logger.warning(
            "The token store (%s) is unavailable: %s. Requests that need token state get 503 until it answers.",
            type(self.store).__name__,
            reason,
        )
        self.events.emit("store_unavailable", reason=reason)

    # -- the request path -------------------------------------------------------------

    async def check(self, context: TokenContext[Any]) -> None:
        """Raise ``RevokedTokenError`` if an access token, its family or its subject is revoked (503 if unknown)."""
        if self._deferred:
            await self._flush()
        claims = context.claims
        # The store is awaited here, not through call(), and the jti is the context's (verified)
        # one: every guarded request comes by. Measured: 9.3k instructions against 11.8k.
        try:
            revoked = await self.store.is_revoked(
                jti=context.jti or token_id(claims, context.token),
                sub=context.sub,
                issued_at=claims.get("auth_time", claims["iat"]),
                family=claims.get("fam"),
            )
        except Exception as error:
            self._fail(error)
        if self._down:
            self._recovered()
        if revoked:
            raise RevokedTokenError

    def failed(self, error: ApoJWTError) -> None:
        """Emit ``auth_failed`` for a guard's refusal (a 503 is ``store_unavailable``'s, once per outage)."""
        if not isinstance(error, ServiceUnavailableError):
            self.events.emit("auth_failed", reason=failure_reason(error))

    async def redeem(self, connection: HTTPConnection, *, retire: bool = True) -> RefreshContext:
        """Find, CSRF-check, verify and (``retire``) use up the refresh token of ``connection``."""
        codec = self._refresh_codec()
        if self._deferred:
            await self._flush()
        settings, finder = self.settings, self._finder
        assert settings is not None  # noqa: S101 - set with the codec
        assert finder is not None  # noqa: S101 - set with the codec
        token, from_cookie = finder(connection)
        if from_cookie and settings.csrf:
            check_csrf(
                connection,
                token=token,
                key=settings.csrf_key,
                cookie_name=settings.csrf_cookie_name,
                header_name=settings.csrf_header_name,
                what="refresh",
            )
        context = await self._verify_refresh(codec, token, retire=retire)
        if retire:
            # It ends with the request: FastAPI's request exit stack resets it (an in-process client such
            # as httpx's ASGITransport runs the app in the caller's own task). A sync framework that steps
            # this coroutine in a long-lived thread calls its view inside ``rotating(context)``.
            marker = _ROTATION.set(context)
            for key in ("fastapi_inner_astack", "fastapi_astack"):
                stack = connection.scope.get(key)
                if stack is not None and hasattr(stack, "callback"):
                    stack.callback(_forget_rotation, marker)
                    break
        return context

    async def _verify_refresh(self, codec: TokenCodec, token: str, *, retire: bool) -> RefreshContext:
        claims: dict[str, Any] = codec.verify(token, REFRESH)
        jti = token_id(claims, token)
        family = claims.get("fam") or jti  # an apojwt 1.x token is a family of its own
        sub = claims.get("sub") or ""
        started: float = claims.get("auth_time", claims["iat"])  # verified: a number
        store = self.store
        if await self.call(store.is_revoked(jti=jti, sub=sub, issued_at=started, family=family)):
            raise RevokedTokenError
        # Built from verified, frozen claims: model_construct keeps claims and data the FrozenDicts
        # they are (validation would copy them into plain, mutable dicts).
        context = RefreshContext.model_construct(
            sub=sub,
            data=claims.get("data") or FrozenDict(),
            exp=_utc(claims["exp"]),
            iat=_utc(claims["iat"]),
            jti=jti,
            family=family,
            claims=claims,
            token=token,
        )
        if not retire:
            if await self._is_used(jti, family):
                await self._replayed(sub, family, jti)
            return context
        # The last step that may fail: a 503 up to here leaves the token usable (no retry is a replay).
        if not await self.call(store.use_refresh_token(jti, family=family, ttl=self._remaining(claims["exp"]))):
            await self._replayed(sub, family, jti)
        self.events.emit("refreshed", sub=sub, family=family, jti=jti)
        await self._record(sub, family, created_at=started, refreshed_at=self.clock())
        return context

    async def _is_used(self, jti: str, family: str) -> bool:
        check = getattr(self.store, "is_refresh_token_used", None)
        if check is None:
            # Fail closed: without it a used-up (possibly stolen) refresh token would pass this guard.
            if not self._warned_no_used_read:
                self._warned_no_used_read = True
                logger.error(
                    "%s has no is_refresh_token_used(jti, *, family): ajwt.refresh_token_required refuses every "
                    "token (503) until the store implements it (see fastapi_apojwt.stores.TokenStore).",
                    type(self.store).__name__,
                )
            raise ServiceUnavailableError
        return bool(await self.call(check(jti, family=family)))

    async def _replayed(self, sub: str, family: str, jti: str) -> None:
        """A used-up refresh token came back: revoke its family and refuse it."""
        self.events.emit("refresh_reuse", sub=sub or None, family=family, jti=jti)
        await self.revoke_family(family)
        raise TokenReuseError

    # -- the session index ------------------------------------------------------------

    async def _record(self, sub: str, family: str, *, created_at: float, refreshed_at: float) -> None:
        """Record a session in the store's index, if it keeps one; a failure is logged, never raised."""
        store = self.store
        if not isinstance(store, SessionIndex) or self.settings is None:
            return
        expires_at = float(int(refreshed_at) + int(self.settings.exp_period))  # the exp of the pair minted now
        try:
            await self.call(
                store.add_session(sub, family, created_at=created_at, refreshed_at=refreshed_at, expires_at=expires_at)
            )
        except Exception:  # noqa: S110 - the outage is logged once by call(); a list entry is not worth a 503
            pass

    def record_login(self, sub: str, family: str, *, created_at: float) -> None:
        """Record a new session from synchronous code (``create_token``): now, or as soon as possible.

        On a running event loop the record is a task of its own (listed well
        within a second); the memory store is written right here; a sync
        handler on FastAPI's worker thread schedules it on the app's loop;
        anywhere else it runs on a short-lived thread.
        """
        store = self.store
        if not isinstance(store, SessionIndex) or self.settings is None:
            return

        def record() -> Coroutine[Any, Any, None]:
            return self._record(sub, family, created_at=created_at, refreshed_at=created_at)

        schedule(record, pending=self._pending, inline=isinstance(store, MemoryStore), defer=self._deferred.append)

    async def _flush(self) -> None:
        """Run the session records deferred by logins outside any event loop."""
        while self._deferred:
            await self._deferred.pop(0)()

    async def list_sessions(self, sub: str) -> list[SessionInfo]:
        """The live login sessions of ``sub``, newest login first (revoked and expired ones left out)."""
        store = self.store
        if not isinstance(store, SessionIndex):
            raise ConfigurationError(
                f"{type(store).__name__} keeps no session index: list_sessions() needs a store with "
                "add_session() and sessions() (fastapi_apojwt.stores.SessionIndex), such as MemoryStore or RedisStore."
            )
        sub = str(sub)
        await self._flush()
        pending = [task for task in self._pending if task.get_loop() is asyncio.get_running_loop()]
        if pending:  # this process's logins of the last moments: let them land first
            await asyncio.wait(pending, timeout=1.0)
        records = await self.call(store.sessions(sub))
        now = self.clock()
        live = [record for record in records if record[3] > now]
        checks = (self.call(store.is_revoked(jti=None, sub=sub, issued_at=r[1], family=r[0])) for r in live)
        revoked = await asyncio.gather(*checks)
        sessions = [
            SessionInfo(family=f, sub=sub, created_at=_utc(c), refreshed_at=_utc(r), expires_at=_utc(e))
            for (f, c, r, e), gone in zip(live, revoked, strict=True)
            if not gone
        ]
        sessions.sort(key=lambda info: info.created_at, reverse=True)
        return sessions

    # -- minting ----------------------------------------------------------------------

    def mint_refresh(
        self, sub: str, refresh_data: dict[str, Any], *, family: str | None, issued_at: float, auth_time: float
    ) -> str:
        """A new refresh token of ``family`` (its own family when ``None``) in the session started at ``auth_time``."""
        codec = self._refresh_codec()
        assert self.settings is not None  # noqa: S101 - set with the codec
        claims = codec.base_claims(self.settings.exp_period, now=issued_at)
        claims.update(sub=sub, data=refresh_data, type=REFRESH, fam=family or claims["jti"], auth_time=auth_time)
        return codec.encode(claims)

    def refresh_claims(self, token: str) -> dict[str, Any] | None:
        """The verified claims of a refresh token, or ``None`` if ``token`` is not one."""
        if self.codec is None:
            return None
        try:
            return self.codec.verify(token, REFRESH)
        except ApoJWTError:
            return None

    # -- revocation -------------------------------------------------------------------

    async def revoke_token(self, target: str | TokenContext[Any] | RefreshContext) -> None:
        """Revoke one token (access or refresh) until it expires."""
        if isinstance(target, str):
            token = target
            try:
                target = self.verifier.decode(token)
            except ExpiredTokenError:
                return  # an expired token is refused anyway
            except InvalidTokenError as access_error:
                if self.codec is None:
                    raise
                try:
                    claims = self.codec.verify(token, REFRESH)
                except ExpiredTokenError:
                    return
                except InvalidTokenError:
                    raise access_error from None
                jti = token_id(claims, token)
                await self.call(self.store.revoke_token(jti, ttl=self._remaining(claims["exp"])))
                self.events.emit("token_revoked", sub=claims.get("sub") or None, jti=jti)
                return
        jti = token_id(target.claims, target.token)
        await self.call(self.store.revoke_token(jti, ttl=self._remaining(target.exp.timestamp())))
        self.events.emit("token_revoked", sub=target.sub or None, jti=jti)

    async def revoke_family(self, family: str | RefreshContext | TokenContext[Any]) -> None:
        """Revoke a refresh family (one login session): its refresh and access tokens."""
        name = family_of(family)
        await self.call(self.store.revoke_family(name, ttl=self.family_ttl()))
        self.events.emit("family_revoked", family=name)

    async def revoke_subject(self, sub: str, *, issued_before: float | datetime | None = None) -> None:
        """Revoke every token of ``sub`` whose session started at or before ``issued_before`` (default: now).

        The default cut-off is a tick (:class:`Ticks`): every login before the
        call is at or before it, every login after it is later, even within the
        same clock instant.
        """
        if isinstance(issued_before, datetime):
            cut_off = issued_before.timestamp()
        else:
            cut_off = self.tick() if issued_before is None else float(issued_before)
        await self.call(self.store.revoke_subject(str(sub), issued_before=cut_off, ttl=self.family_ttl()))
        self.events.emit("subject_revoked", sub=str(sub))

    # -- shutdown ---------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the store and the remote key source, if any (idempotent); pending records finish first."""
        pending = [task for task in self._pending if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        await self.events.drain(timeout=2.0)
        for closer in (self.store.close, closer_of(self.verifier.key_source)):
            if closer is None:
                continue
            try:
                await closer()
            except Exception as error:
                logger.warning("Closing %r failed: %s", closer, describe_failure(error))

    @asynccontextmanager
    async def lifespan(self, app: object = None) -> AsyncIterator[None]:
        """A FastAPI lifespan closing the store and the key source at shutdown: ``FastAPI(lifespan=ajwt.lifespan)``.

        Inside your own lifespan: ``async with ajwt.lifespan(app): yield``.
        """
        try:
            yield
        finally:
            await self.aclose()

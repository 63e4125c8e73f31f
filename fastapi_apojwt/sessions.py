"""Sessions: refresh families over a store — redeem, rotate, revoke.

How a refresh works (``ajwt.refresh``, :meth:`Sessions.redeem`):

1. find the refresh token (the ``refresh_token`` cookie, or ``refresh_finder``);
2. when it came from a cookie, check the CSRF double submit (see ``csrf``);
3. verify the token, and ask the store whether the token, its family (the
   login session) or its subject is revoked;
4. use it up atomically (``store.use_refresh_token``). A token that was
   already used is a replay: the whole family is revoked and the request
   gets a 401, so a stolen refresh token dies as soon as either the thief or
   the user presents it after the other.

Tokens minted while handling a refresh (``ajwt.rotate(ctx)``, or
``ajwt.create_token(...)`` in the handler as apojwt 1.x code does) join the
family of the token that was used and are not fresh: the redeem step marks the
request's context with the rotation (:func:`current_rotation`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, TypeVar

from starlette.requests import HTTPConnection

from ._settings import RefreshSettings
from .context import RefreshContext, TokenContext
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
from .finders import RefreshTokenFinder
from .keys import HMAC_ALGORITHMS, KeyMaterial, KeySet
from .stores import TokenStore
from .tokens import REFRESH, TokenCodec
from .verifier import Verifier

__all__ = [
    "Sessions",
    "current_rotation",
    "end_rotation",
    "family_of",
    "refresh_key_set",
    "rotating",
    "store_call",
    "token_id",
]

T = TypeVar("T")

_ROTATION: ContextVar[RefreshContext | None] = ContextVar("apojwt_rotation", default=None)


def current_rotation() -> RefreshContext | None:
    """The refresh token this request is rotating (set by ``ajwt.refresh``), if any."""
    return _ROTATION.get()


def end_rotation() -> None:
    """Forget the rotation: ``create_token`` calls this once it has minted the family's next pair."""
    _ROTATION.set(None)


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
    """Await a store operation; any failure of the backend becomes a 503 (fail closed)."""
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
    """

    def __init__(self, store: TokenStore, verifier: Verifier, *, exp_period: float) -> None:
        """Hold the parts; refresh tokens are off until :meth:`configure`."""
        self.store = store
        self.verifier = verifier
        self.exp_period = exp_period
        self.settings: RefreshSettings | None = None
        """How refresh tokens travel (``None`` until ``config_refresh()``)."""
        self.codec: TokenCodec | None = None
        """The refresh-token codec (``None`` until ``config_refresh()``)."""
        self._finder: RefreshTokenFinder | None = None

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

    # -- the request path -------------------------------------------------------------

    async def check(self, context: TokenContext[Any]) -> None:
        """Raise ``RevokedTokenError`` if an access token, its family or its subject is revoked (503 if unknown)."""
        claims = context.claims
        revoked = await store_call(
            self.store.is_revoked(
                jti=token_id(claims, context.token), sub=context.sub, issued_at=claims["iat"], family=claims.get("fam")
            )
        )
        if revoked:
            raise RevokedTokenError

    async def redeem(self, connection: HTTPConnection, *, retire: bool = True) -> RefreshContext:
        """Find, CSRF-check, verify and (``retire``) use up the refresh token of ``connection``."""
        codec = self._refresh_codec()
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
            # In a request task (FastAPI) this ends with the request. A sync framework that steps
            # this coroutine in a long-lived thread calls its view inside ``rotating(context)``;
            # a leftover value only ever errs towards rejecting (not fresh, an older family).
            _ROTATION.set(context)
        return context

    async def _verify_refresh(self, codec: TokenCodec, token: str, *, retire: bool) -> RefreshContext:
        claims: dict[str, Any] = codec.verify(token, REFRESH)
        jti = token_id(claims, token)
        family = claims.get("fam") or jti  # an apojwt 1.x token is a family of its own
        sub = claims.get("sub") or ""
        store = self.store
        if await store_call(store.is_revoked(jti=jti, sub=sub, issued_at=claims["iat"], family=family)):
            raise RevokedTokenError
        if retire and not await store_call(
            store.use_refresh_token(jti, family=family, ttl=self._remaining(claims["exp"]))
        ):
            await store_call(store.revoke_family(family, ttl=self.family_ttl()))
            raise TokenReuseError
        return RefreshContext(
            sub=sub,
            data=claims.get("data") or {},
            exp=_utc(claims["exp"]),
            iat=_utc(claims["iat"]),
            jti=jti,
            family=family,
            claims=claims,
            token=token,
        )

    # -- minting ----------------------------------------------------------------------

    def mint_refresh(self, sub: str, refresh_data: dict[str, Any], *, family: str | None, issued_at: float) -> str:
        """A new refresh token of ``family`` (its own family when ``None``)."""
        codec = self._refresh_codec()
        assert self.settings is not None  # noqa: S101 - set with the codec
        claims = codec.base_claims(self.settings.exp_period, now=issued_at)
        claims.update(sub=sub, data=refresh_data, type=REFRESH, fam=family or claims["jti"])
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
                await store_call(self.store.revoke_token(jti, ttl=self._remaining(claims["exp"])))
                return
        jti = token_id(target.claims, target.token)
        await store_call(self.store.revoke_token(jti, ttl=self._remaining(target.exp.timestamp())))

    async def revoke_family(self, family: str | RefreshContext | TokenContext[Any]) -> None:
        """Revoke a refresh family (one login session): its refresh and access tokens."""
        await store_call(self.store.revoke_family(family_of(family), ttl=self.family_ttl()))

    async def revoke_subject(self, sub: str, *, issued_before: float | datetime | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``issued_before`` (default: now)."""
        if isinstance(issued_before, datetime):
            cut_off = issued_before.timestamp()
        else:
            cut_off = self.clock() if issued_before is None else float(issued_before)
        await store_call(self.store.revoke_subject(str(sub), issued_before=cut_off, ttl=self.family_ttl()))

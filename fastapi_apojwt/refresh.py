"""Refresh tokens: finding them, CSRF, rotation with reuse detection, families, revocation.

How a refresh works (``ajwt.refresh``):

1. find the refresh token (the ``refresh_token`` cookie, or ``refresh_finder``);
2. when it came from a cookie, check the CSRF double submit: the
   ``X-CSRF-Token`` header must equal the ``csrf_refresh_token`` cookie, and
   both must equal an HMAC of the token under a key derived from the refresh
   secret, so someone who can plant cookies cannot choose both halves;
3. verify the token, and ask the store whether the token, its family (the
   login session) or its subject is revoked;
4. retire it atomically (``store.use_refresh_token``). A token that was
   already used is a replay: the whole family is revoked and the request
   gets a 401, so a stolen refresh token dies as soon as either the thief or
   the user presents it after the other.

Tokens minted while handling a refresh (``ajwt.rotate(ctx)``, or
``ajwt.create_token(...)`` in the handler as apojwt 1.x code does) join the
family of the token that was used and are not fresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
from base64 import urlsafe_b64encode
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._cache import utc
from .context import RefreshContext, TokenContext
from .errors import (
    ApoJWTError,
    ConfigurationError,
    CSRFError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidTokenError,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    TokenReuseError,
)
from .finders import Finder, cookie_token, handler_call, user_finder
from .tokens import ACCESS, REFRESH

if TYPE_CHECKING:
    from .core import ApoJWT

__all__ = [
    "ImplicitRefreshMiddleware",
    "csrf_value",
    "current_rotation",
    "derive_csrf_key",
    "end_rotation",
    "refresh_context",
    "rotating",
    "token_id",
    "verify_refresh_token",
]

T = TypeVar("T")

_ROTATION: ContextVar[RefreshContext | None] = ContextVar("apojwt_rotation", default=None)
# Deny by default: every method but the safe ones (RFC 9110 §9.2.1) needs the CSRF pair.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


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


async def store_call(awaitable: Awaitable[T]) -> T:
    """Await a store operation; any failure of the backend becomes a 503 (fail closed)."""
    try:
        return await awaitable
    except ApoJWTError:
        raise
    except Exception:
        reraise_without_loop()
        raise ServiceUnavailableError from None


def reraise_without_loop() -> None:
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


# -- CSRF ------------------------------------------------------------------------------


def derive_csrf_key(secret: bytes, purpose: str) -> bytes:
    """A key for CSRF values, derived from a token secret (every instance derives the same one)."""
    return hmac.new(secret, b"fastapi-apojwt csrf v1 " + purpose.encode(), hashlib.sha256).digest()


def csrf_value(key: bytes, token: str) -> str:
    """The CSRF value bound to ``token``: an HMAC of the token, base64url."""
    digest = hmac.new(key, token.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _as_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def check_csrf(
    connection: HTTPConnection, *, token: str, key: bytes, cookie_name: str, header_name: str, what: str
) -> None:
    """The double-submit check: header == cookie == HMAC(key, token), in constant time."""
    headers = connection.headers.getlist(header_name)
    if len(headers) != 1 or not headers[0]:
        raise CSRFError(
            f"CSRF check failed: send the value of the {cookie_name} cookie in the {header_name} header "
            f"with this {what} request."
        )
    try:
        cookie = connection.cookies.get(cookie_name)
    except Exception:
        cookie = None
    if not cookie:
        raise CSRFError(f"CSRF check failed: the {cookie_name} cookie is missing; log in again.")
    sent = _as_bytes(headers[0])
    expected = _as_bytes(csrf_value(key, token))
    same_as_cookie = hmac.compare_digest(sent, _as_bytes(cookie))
    bound_to_token = hmac.compare_digest(sent, expected)
    if not (same_as_cookie and bound_to_token):
        raise CSRFError(f"CSRF check failed: the {header_name} header does not match the {cookie_name} cookie.")


def check_access_csrf(owner: ApoJWT, connection: HTTPConnection, token: str) -> None:
    """CSRF check for a cookie-held access token on any method but GET, HEAD, OPTIONS and TRACE.

    A WebSocket handshake cannot carry the CSRF header, so there the browser's
    ``Origin`` must be this site (or one of ``allowed_origins``).
    """
    if not owner.access_csrf:
        return
    if connection.scope.get("type") == "websocket":
        check_websocket_origin(owner, connection)
        return
    if connection.scope.get("type") != "http":
        return
    if connection.scope.get("method", "GET").upper() in _SAFE_METHODS:
        return
    check_csrf(
        connection,
        token=token,
        key=owner._access_csrf_key(),
        cookie_name=owner.access_csrf_cookie_name,
        header_name=owner.csrf_header_name,
        what="cookie-authenticated",
    )


def check_websocket_origin(owner: ApoJWT, connection: HTTPConnection) -> None:
    """Refuse a browser's cookie-authenticated WebSocket handshake from another site.

    Browsers send cookies with cross-site WebSocket handshakes and always send
    ``Origin`` with them; a handshake without ``Origin`` is not from a browser.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return
    origin = origin.strip().lower()
    if origin in owner.access_allowed_origins:
        return
    host = connection.headers.get("host", "").strip().lower()
    if host and urlsplit(origin).netloc == host:
        return
    raise CSRFError(
        "Cross-site WebSocket handshake refused: its Origin is not this site "
        "(add the page's origin to config_access_cookies(allowed_origins=...))."
    )


# -- finding the refresh token ------------------------------------------------------------


def adapt_finder(finder: Callable[..., Any]) -> Finder:
    """Adapt an apojwt 1.x ``refresh_finder`` (``(*args, **kwargs) -> str``) to read a connection.

    On the classic decorator path the finder first gets the handler's
    arguments, as in apojwt 1.x. Otherwise, decided once: a finder without
    parameters is called as is (it reads a request global, as on Flask); each
    parameter is filled from the
    connection: ``request``/``connection``/``websocket`` get the connection,
    a ``Cookie()``/``Header()`` default reads that cookie or header, any other
    name reads the cookie of that name, and ``**kwargs`` receives every cookie.
    """
    from fastapi import params

    try:
        parameters = list(inspect.signature(finder).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    plan: list[tuple[str, str, str]] = []  # (parameter, source, key)
    var_keyword = False
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif parameter.name in ("request", "connection", "websocket"):
            plan.append((parameter.name, "connection", ""))
        elif isinstance(parameter.default, params.Header):
            alias = parameter.default.alias or parameter.name.replace("_", "-")
            plan.append((parameter.name, "header", alias))
        elif isinstance(parameter.default, params.Cookie):
            plan.append((parameter.name, "cookie", parameter.default.alias or parameter.name))
        else:
            plan.append((parameter.name, "cookie", parameter.name))

    legacy = user_finder(finder)

    def find(connection: HTTPConnection) -> str | None:
        if handler_call.get() is not None:  # the classic decorator: the handler's arguments, as apojwt 1.x
            token = legacy(connection)
            if token is not None:
                return token
        kwargs: dict[str, Any] = dict(connection.cookies) if var_keyword else {}
        for name, source, key in plan:
            if source == "connection":
                kwargs[name] = connection
            elif source == "header":
                kwargs[name] = connection.headers.get(key)
            else:
                kwargs[name] = connection.cookies.get(key)
        try:
            value = finder(**kwargs)
        except Exception:
            return None  # a finder that cannot find the token means: no token
        return value if isinstance(value, str) and value else None

    return find


def find_refresh_token(owner: ApoJWT, connection: HTTPConnection) -> tuple[str, bool]:
    """The refresh token of ``connection`` and whether a cookie carried it."""
    finder = owner._refresh_finder_adapter or cookie_token(owner.refresh_cookie_name)
    token = finder(connection)
    if token is None:
        hint = ""
        if owner.refresh_cookie.secure and connection.url.scheme in ("http", "ws"):
            hint = " Non-browser clients do not send Secure cookies over plain http."
        raise MissingTokenError(
            f"No refresh token: the {owner.refresh_cookie_name} cookie is missing (log in first; "
            f"the browser only sends it to paths under {owner.refresh_cookie.path}).{hint}"
        )
    try:
        from_cookie = any(hmac.compare_digest(_as_bytes(v), _as_bytes(token)) for v in connection.cookies.values())
    except Exception:
        from_cookie = True
    return token, from_cookie


# -- verifying, retiring, rotating ----------------------------------------------------------


async def verify_refresh_token(owner: ApoJWT, token: str, *, retire: bool = True) -> RefreshContext:
    """Verify a refresh token, check revocation and (``retire``) use it up; framework-free."""
    codec = owner.refresh_codec
    if codec is None:
        raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
    claims: dict[str, Any] = codec.verify(token, REFRESH)
    jti = token_id(claims, token)
    family = claims.get("fam")
    if family is None:
        family = jti  # an apojwt 1.x token is a family of its own
    sub = claims.get("sub") or ""
    store = owner.store
    if await store_call(store.is_revoked(jti=jti, sub=sub, issued_at=claims["iat"], family=family)):
        raise RevokedTokenError
    if retire:
        ttl = max(1.0, claims["exp"] - owner.clock() + codec.leeway)
        if not await store_call(store.use_refresh_token(jti, family=family, ttl=ttl)):
            await store_call(store.revoke_family(family, ttl=owner._family_ttl()))
            raise TokenReuseError
    return RefreshContext(
        sub=sub,
        data=claims.get("data") or {},
        exp=utc(claims["exp"]),
        iat=utc(claims["iat"]),
        jti=jti,
        family=family,
        claims=claims,
        token=token,
    )


async def refresh_context(owner: ApoJWT, connection: HTTPConnection, *, retire: bool = True) -> RefreshContext:
    """Find, CSRF-check, verify and (``retire``) use up the refresh token of ``connection``."""
    if owner.refresh_codec is None:
        raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
    token, from_cookie = find_refresh_token(owner, connection)
    if from_cookie and owner.refresh_csrf:
        check_csrf(
            connection,
            token=token,
            key=owner._refresh_csrf_key,
            cookie_name=owner.refresh_csrf_cookie_name,
            header_name=owner.csrf_header_name,
            what="refresh",
        )
    context = await verify_refresh_token(owner, token, retire=retire)
    if retire:
        # In a request task (FastAPI) this ends with the request. A sync framework that steps
        # this coroutine in a long-lived thread should call its view inside ``rotating(context)``;
        # a leftover value only ever errs towards rejecting (not fresh, an older family).
        _ROTATION.set(context)
    return context


def reissue_access(owner: ApoJWT, context: TokenContext[Any]) -> str:
    """A new access token with the claims of ``context`` (not fresh), for the implicit refresh."""
    claims = owner.codec.base_claims(owner.exp_period)
    for name in ("sub", "perms", "data", "fam"):
        if name in context.claims:
            claims[name] = context.claims[name]
    claims.update(type=ACCESS, fresh=False)
    return owner.codec.encode(claims)


# -- revocation -------------------------------------------------------------------------------


def _remaining(owner: ApoJWT, exp: datetime) -> float:
    return max(1.0, exp.timestamp() - owner.clock() + owner.codec.leeway)


async def revoke_token(owner: ApoJWT, target: str | TokenContext[Any] | RefreshContext) -> None:
    """Revoke one token until it expires (see :meth:`ApoJWT.revoke_token`)."""
    if isinstance(target, str):
        try:
            context: TokenContext[Any] | RefreshContext = owner.decode(target)
        except ExpiredTokenError:
            return  # an expired token is refused anyway
        except InvalidTokenError as access_error:
            if owner.refresh_codec is None:
                raise
            try:
                claims = owner.refresh_codec.verify(target, REFRESH)
            except ExpiredTokenError:
                return
            except InvalidTokenError:
                raise access_error from None
            jti = token_id(claims, target)
            await store_call(owner.store.revoke_token(jti, ttl=_remaining(owner, utc(claims["exp"]))))
            return
        target = context
    jti = token_id(target.claims, target.token)
    await store_call(owner.store.revoke_token(jti, ttl=_remaining(owner, target.exp)))


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


# -- implicit refresh of access cookies -----------------------------------------------------------


class ImplicitRefreshMiddleware:
    """Renew a nearly expired access cookie on the way out of a request.

    Opt-in, for ``ApoJWT(token_location="cookies")``: when a request carries a
    valid, unrevoked access cookie with less than ``within`` seconds left, a
    successful response (status < 400) gets a new access cookie (same subject,
    permissions and data, not fresh) and its CSRF cookie. A response that sets
    or clears the access cookie itself (a login, a logout) is left alone.

    Example:
        ```python
        app.add_middleware(ImplicitRefreshMiddleware, ajwt=ajwt, within=300)
        ```
    """

    def __init__(self, app: ASGIApp, *, ajwt: ApoJWT, within: float = 300) -> None:
        """Wrap ``app``; ``within`` is the remaining lifetime (seconds) below which the cookie is renewed."""
        if ajwt.token_location != "cookies":
            raise ConfigurationError("ImplicitRefreshMiddleware needs ApoJWT(token_location='cookies').")
        if isinstance(within, bool) or not isinstance(within, (int, float)) or within <= 0:
            raise ConfigurationError("within must be a positive number of seconds.")
        self.app = app
        self.ajwt = ajwt
        self.within = float(within)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; renew the access cookie in the response when due."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner = self.ajwt
        context = await self._due(HTTPConnection(scope))
        if context is None:
            await self.app(scope, receive, send)
            return
        cookie_prefix = (owner.access_cookie_name + "=").encode("latin-1")

        async def send_renewed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                sets_cookie = any(
                    name == b"set-cookie" and value.startswith(cookie_prefix) for name, value in message["headers"]
                )
                if not sets_cookie and await self._still_valid(context):
                    renewed = Response()
                    owner.set_access_cookies(renewed, reissue_access(owner, context))
                    headers = MutableHeaders(scope=message)
                    for value in renewed.headers.getlist("set-cookie"):
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_renewed)

    async def _due(self, connection: HTTPConnection) -> TokenContext[Any] | None:
        owner = self.ajwt
        try:
            token = connection.cookies.get(owner.access_cookie_name)
            if not token:
                return None
            context = await owner.verify(token)
        except Exception:
            return None  # the route's own guard answers for a bad token
        if context.exp.timestamp() - owner.clock() > self.within:
            return None
        return context

    async def _still_valid(self, context: TokenContext[Any]) -> bool:
        try:
            await self.ajwt._check_not_revoked(context)
        except Exception:
            return False
        return True

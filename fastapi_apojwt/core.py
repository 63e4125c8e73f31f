"""``ApoJWT``: the facade. It validates settings once, wires the parts and keeps the contract's names.

The parts, each in its own module (see the docs' "How it fits together"):
``Verifier`` (keys, codec, cache), ``Sessions`` (store, refresh tokens,
revocation), ``Issuer`` (minting) and the guards built from them.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from pydantic import BaseModel
from starlette.responses import Response

from ._decorate import Ambient, decorate
from ._http import http_errors
from ._settings import AccessCookieSettings, AccessSettings, RefreshSettings, Template, TokenLocation, setting
from .context import RefreshContext, TokenContext
from .cookies import CookieSettings
from .errors import ConfigurationError
from .finders import AccessTokenFinder
from .guards import AccessGuard, Failure, Guard, GuardSet, RefreshGuard
from .issuer import Issuer
from .jwks import WELL_KNOWN_PATH, JWKSOptions, build_keys
from .keys import KeyMaterial, KeySet
from .oauth2 import OAuth2Error, oauth2_error_handler
from .openapi import document_app
from .permissions import PermissionPolicy
from .publish import jwks_router
from .sessions import SessionInfo, Sessions, refresh_key_set
from .stores import MemoryStore, TokenStore
from .tokens import TokenCodec
from .transport import TokenCookies
from .verifier import KeySource, Verifier

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["ApoJWT", "KeySource"]

LoaderT = TypeVar("LoaderT", bound=Callable[..., Any])


_ACCESS_ARGUMENTS = tuple(inspect.signature(AccessSettings.build).parameters)
_KEY_ARGUMENTS = tuple(inspect.signature(build_keys).parameters)
_REFRESH_ARGUMENTS = tuple(inspect.signature(RefreshSettings.build).parameters)
_COOKIE_ARGUMENTS = tuple(inspect.signature(AccessCookieSettings.build).parameters)


def _ambient_flask() -> Ambient | None:
    """The Flask template when a decorated view is called inside a Flask request, else ``None``."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    from . import flask as flask_template

    return flask_template


def _decorate(guard: Guard, function: Callable[..., Any]) -> Callable[..., Any]:
    """The classic decorator of ``guard``'s template."""
    if guard.template == "flask":
        from .flask import decorate_view

        return decorate_view(guard, function)
    return decorate(guard, function, ambient=_ambient_flask)


def _raw_secret(keys: KeySet | None) -> bytes | None:
    signing = keys.signing if keys is not None else None
    return signing.key if signing is not None and isinstance(signing.key, bytes) else None


class ApoJWT:
    """JWT authentication and permission checks for FastAPI (and Flask).

    Build one per service, at import time; every setting is checked here so a
    misconfiguration fails at start-up with a message that says how to fix it.

    Example:
        ```python
        from typing import Annotated
        from fastapi import Depends, FastAPI
        from fastapi_apojwt import ApoJWT, TokenContext

        ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="auth.example.com",
                      server_audience=["https://api.example.com"])
        app = FastAPI()

        @app.get("/orders")
        async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]):
            return {"sub": ctx.sub}
        ```

    Args:
        secret: HMAC secret (HS*), or a PEM private key (or key object) for RS*/PS*/ES*/EdDSA;
            omit it for a verify-only instance (``public_key=``, ``jwks=`` or ``jwks_url=``).
        exp_period: Access token lifetime in seconds.
        iss: The issuer written into and required of every token.
        server_audience: The audiences this service answers to (empty: only tokens without ``aud``).
        algorithm: The one algorithm tokens must be signed with.
        admin_permission: A permission that passes every permission check.
        template: ``"fastapi"`` (default), ``"flask"``, or ``None`` (bring ``token_finder`` and ``exception_handler``).
        async_framework: Accepted for apojwt 1.x compatibility; coroutines are detected.
        token_finder: ``(*args, **kwargs) -> str`` returning the access token (the handler's arguments
            on the decorator path, as apojwt 1.x; ``request`` and ``authorization`` as a dependency).
        exception_handler: ``(code, msg, *args, **kwargs) -> NoReturn`` called on every failure; it must raise.
        public_key: One public key (PEM or key object) or several, to verify with.
        previous_keys: Retired keys or secrets that still verify (a list, or ``{kid: key}``).
        kid: The ``kid`` written into tokens (default: the key's RFC 7638 thumbprint).
        jwks: A verify-only instance from a JWK set (a dict or its JSON text).
        jwks_url: A verify-only instance whose JWK set is fetched (lazily, cached) from this URL.
        jwks_options: How ``jwks_url=`` is fetched and cached (``JWKSOptions``).
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        max_token_bytes: Longer tokens are refused before any cryptography.
        data_model: A pydantic model the ``data`` claim is validated into (``TokenContext[Model]``).
        wildcards: Let a granted ``prefix:*`` cover every permission under ``prefix:``.
        strict: Refuse weak HMAC secrets instead of warning (``WeakSecretWarning``).
        store: Where token state lives (default: this process's memory; many workers: a WARNING, strict refuses).
        token_location: ``"headers"`` (bearer), ``"cookies"`` (see :meth:`config_access_cookies`), or both in
            the order to try them (``("headers", "cookies")``: the first place holding a token decides).
        access_cookie_name: The access cookie's name (``token_location="cookies"``).
        scheme_name: The OpenAPI name of the access-token security scheme.
        clock: The time source (for tests).
        websocket_query_param: Opt-in: also read a WebSocket handshake's token from this query parameter.
        websocket_subprotocol: Opt-in: also read it from ``Sec-WebSocket-Protocol: <marker>, <token>``.
        cache_size: Verified access tokens remembered (``0``: none); see the Performance page.
        permissions_claim: Where permissions come from: a claim, a dotted path or several (another issuer's tokens).
        oidc_discovery: Verify only, with the key set named by ``iss``'s OpenID configuration (``jwks_uri``).
    """

    def __init__(
        self, secret: KeyMaterial | None = None, exp_period: int = 900, iss: str = "",
        server_audience: Sequence[str] = (), algorithm: str = "HS256", admin_permission: str | None = None,
        template: Template | None = "fastapi", async_framework: bool = False,
        token_finder: Callable[..., str] | None = None, exception_handler: Callable[..., NoReturn] | None = None,
        *,
        public_key: KeyMaterial | Iterable[KeyMaterial] | None = None,
        previous_keys: Iterable[KeyMaterial] | Mapping[str, KeyMaterial] = (), kid: str | None = None,
        jwks: Mapping[str, Any] | str | None = None, jwks_url: str | None = None,
        jwks_options: JWKSOptions | None = None, leeway: float = 0, max_token_bytes: int = 8192,
        data_model: type[BaseModel] | None = None, wildcards: bool = False, strict: bool = False,
        store: TokenStore | None = None, token_location: TokenLocation | Sequence[TokenLocation] = "headers",
        access_cookie_name: str = "access_token", scheme_name: str = "BearerAuth",
        clock: Callable[[], float] = time.time, websocket_query_param: str | None = None,
        websocket_subprotocol: str | None = None, cache_size: int = 4096,
        permissions_claim: str | Sequence[str] = "perms", oidc_discovery: bool = False,
    ) -> None:  # fmt: skip
        """Check every setting and wire keys, verifier, sessions, issuer and guards."""
        arguments = locals()  # AccessSettings.build and build_keys take the arguments of the same names
        settings = AccessSettings.build(**{name: arguments[name] for name in _ACCESS_ARGUMENTS})
        keys, remote_keys = build_keys(**{name: arguments[name] for name in _KEY_ARGUMENTS})
        if jwks is not None or remote_keys is not None:
            settings = replace(settings, algorithm=keys.algorithm)  # the pinned one, or "" when each JWK has its own
        self.settings = settings
        """The access-token settings (frozen)."""
        self.policy = PermissionPolicy(admin=admin_permission, wildcards=wildcards)
        self.verifier = Verifier.build(keys, settings, policy=self.policy, key_source=remote_keys)
        """Verifies access tokens: ``await verifier.verify(token)``, ``verifier.decode(token)``."""
        if remote_keys is not None:
            remote_keys.on_update = self.verifier.use_keys
        store = store if store is not None else MemoryStore(clock=clock)
        self.sessions = Sessions(store, self.verifier, exp_period=settings.exp_period, strict=strict)
        """Refresh families and revocation over the store (warns of a MemoryStore under many workers)."""
        self.add_event_listener = self.sessions.events.add_listener
        """Call a sync or async ``callback(event: AuthEvent)`` on every auth event (see ``fastapi_apojwt.events``)."""
        self.aclose = self.sessions.aclose
        """``await ajwt.aclose()``: close the store and the JWKS client at shutdown (idempotent)."""
        self.lifespan = self.sessions.lifespan
        """A lifespan doing that: ``FastAPI(lifespan=ajwt.lifespan)``, or ``async with ajwt.lifespan(app):``."""
        self.issuer = Issuer(self.verifier.codec, self.sessions, exp_period=settings.exp_period)
        """Mints tokens."""
        self.create_token_pair = http_errors(self.issuer.create_token_pair)
        """``create_token`` typed ``tuple[str, str]``: ``access, refresh = ajwt.create_token_pair(sub="alice")``."""
        self.create_access_token = http_errors(self.issuer.create_access_token)
        """An access token alone, typed ``str`` (no refresh token even once refresh is configured)."""
        cookies = AccessCookieSettings(cookie_name=settings.access_cookie_name)
        key = cookies.csrf_key(_raw_secret(keys))
        self.cookies = TokenCookies(cookies, key, exp_period=settings.exp_period, sessions=self.sessions)
        """The token cookies and their settings (``cookies.access``: see :meth:`config_access_cookies`)."""
        self._finder = AccessTokenFinder(settings, cookies, key)
        self.guards = GuardSet(
            verifier=self.verifier,
            sessions=self.sessions,
            finder=self._finder,
            settings=settings,
            policy=self.policy,
            instance=self,
            failure=Failure(exception_handler),
            decorator=_decorate,
        )
        """This instance's guards (``guards.permission(...)`` memoised)."""
        self.token_required = self.guards.token_required
        """Guard: any valid access token. A dependency and a decorator."""
        self.token_optional = self.guards.token_optional
        """Guard: like ``token_required``, but ``None`` when no token is sent (a bad one is still a 401)."""
        self.current_user = self.guards.current_user
        """Guard: the user the ``@ajwt.user_loader`` function returns for the access token (``None``: 401)."""

    exp_period = setting[float]("settings", "exp_period", "Access token lifetime in seconds.")
    iss = setting[str]("settings", "iss", "The issuer of every token.")
    server_audience = setting[tuple[str, ...]]("settings", "server_audience", "The audiences this service answers to.")
    algorithm = setting[str]("settings", "algorithm", "The algorithm tokens are signed with.")
    template = setting[Template | None]("settings", "template", "What the classic decorators target.")
    token_location = setting[str | tuple[str, ...]]("settings", "token_location", "Where access tokens travel.")
    scheme_name = setting[str]("settings", "scheme_name", "The OpenAPI name of the access scheme.")
    refresh_codec = setting[TokenCodec | None]("sessions", "codec", "The refresh-token codec, once configured.")
    store = setting[TokenStore]("sessions", "store", "Where token state lives.")
    codec = setting[TokenCodec]("verifier", "codec", "The access-token codec.")
    admin_permission = setting[str | None]("policy", "admin", "The permission that passes every check, if any.")
    key_source = setting[KeySource | None]("verifier", "key_source", "Where keys are refetched from (jwks_url=).")
    refresh_cookie_name = setting[str]("sessions.settings", "cookie_name", "", default="refresh_token")
    refresh_cookie = setting[CookieSettings]("sessions.settings", "cookie", "", default=CookieSettings())
    refresh_csrf = setting[bool]("sessions.settings", "csrf", "Whether refreshes are CSRF-checked.", default=True)
    refresh_csrf_cookie_name = setting[str]("sessions.settings", "csrf_cookie_name", "", default="csrf_refresh_token")
    refresh_scheme_name = setting[str]("sessions.settings", "scheme_name", "", default="RefreshCookie")
    csrf_header_name = setting[str]("cookies.access", "csrf_header_name", "Where CSRF values come back.")

    @property
    def keys(self) -> KeySet:
        """The keys this instance signs and verifies with (a refetched JWKS replaces them)."""
        return self.verifier.codec.keys

    # -- guards --------------------------------------------------------------------

    def permission(self, *permissions: str, any_of: bool = False, fresh: bool = False) -> AccessGuard:
        """Guard: a valid access token holding ``permissions`` (all of them, or ``any_of``).

        The same arguments always return the same object, so
        ``app.dependency_overrides[ajwt.permission("x")]`` works.

        Example:
            ```python
            @app.get("/orders", dependencies=[Depends(ajwt.permission("orders:read"))])
            async def orders(): ...
            ```
        """
        return self.guards.permission(permissions, any_of=any_of, fresh=fresh)

    def permission_required(self, *permissions: str, any_of: bool = False, fresh: bool = False) -> AccessGuard:
        """Alias of :meth:`permission`, the name apojwt 1.x used for the decorator."""
        return self.guards.permission(permissions, any_of=any_of, fresh=fresh)

    def user_loader(self, loader: LoaderT) -> LoaderT:
        """Register ``(ctx: TokenContext) -> User | None`` (sync: in the thread pool; or async) for ``current_user``."""
        return self.guards.user_loader(loader)

    @property
    def fresh_token_required(self) -> AccessGuard:
        """Guard: a valid access token minted by a login, not by a refresh."""
        return self.guards.fresh_token_required

    def _needs_refresh(self, name: str) -> None:
        if self.sessions.codec is None:
            raise ConfigurationError(
                f"ajwt.{name} is used but refresh tokens are not configured: "
                "call ajwt.config_refresh(refresh_secret) before declaring the route."
            )

    @property
    def refresh(self) -> RefreshGuard:
        """Guard: a valid refresh token, used up by the rotation; gives a ``RefreshContext``."""
        self._needs_refresh("refresh")
        return self.guards.refresh

    @property
    def refresh_token_required(self) -> RefreshGuard:
        """Guard: a valid, unrevoked refresh token (CSRF-checked), *not* used up: e.g. for logout."""
        self._needs_refresh("refresh_token_required")
        return self.guards.refresh_token_required

    # -- configuration ---------------------------------------------------------------

    def config_refresh(
        self,
        refresh_secret: KeyMaterial,
        refresh_exp_period: int = 86400,
        refresh_finder: Callable[..., str] | None = None,
        *,
        cookie_name: str = "refresh_token",
        cookie: CookieSettings | None = None,
        csrf: bool = True,
        csrf_cookie_name: str = "csrf_refresh_token",
        csrf_header_name: str = "X-CSRF-Token",
    ) -> None:
        """Enable refresh tokens, signed with their own secret (e.g. ``ajwt.config_refresh(refresh_secret)``).

        Args:
            refresh_secret: The HMAC secret of refresh tokens; it must differ from the access secret.
            refresh_exp_period: Refresh token lifetime in seconds.
            refresh_finder: ``(*args, **kwargs) -> str`` returning the refresh token instead of the cookie
                (``request`` gets the request; a ``Cookie()``/``Header()`` default or any other name, that value).
            cookie_name: The HTTP-only cookie carrying the refresh token.
            cookie: The refresh cookie's attributes (default: ``Secure``, ``SameSite=Strict``, ``Path=/auth``).
            csrf: Require the CSRF double submit when the refresh token comes from a cookie.
            csrf_cookie_name: The JS-readable cookie holding the CSRF value.
            csrf_header_name: The header the CSRF value must come back in.
        """
        arguments = locals()  # RefreshSettings.build takes the arguments of the same names
        keys = refresh_key_set(refresh_secret, access_keys=self.keys, strict=self.settings.strict)
        given = {name: arguments[name] for name in _REFRESH_ARGUMENTS if name in arguments}
        secret = _raw_secret(keys) or b""
        self.sessions.configure(RefreshSettings.build(**given, secret=secret, access_exp_period=self.exp_period), keys)
        self._use_access_cookies(replace(self.cookies.access, csrf_header_name=csrf_header_name))

    def config_access_cookies(
        self,
        *,
        cookie: CookieSettings | None = None,
        csrf: bool = True,
        csrf_cookie_name: str = "csrf_access_token",
        csrf_secret: str | bytes | None = None,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        """Set how access tokens travel in cookies (for ``ApoJWT(token_location="cookies")``).

        Unsafe requests (every method but GET, HEAD, OPTIONS and TRACE) must echo the
        ``csrf_access_token`` cookie in the ``X-CSRF-Token`` header. Without this call the defaults apply.

        Args:
            cookie: The access cookie's attributes (default: ``Secure``, ``SameSite=Lax``, ``Path=/``).
            csrf: Require the CSRF double submit on unsafe methods.
            csrf_cookie_name: The JS-readable cookie holding the CSRF value.
            csrf_secret: The key CSRF values derive from; only needed for asymmetric access tokens
                without refresh tokens (a token secret is used otherwise).
            allowed_origins: Other origins (``"https://app.example.com"``) whose pages may open
                cookie-authenticated WebSockets (a browser's handshake from elsewhere is refused).
        """
        arguments = locals()  # AccessCookieSettings.build takes the arguments of the same names
        given = {name: arguments[name] for name in _COOKIE_ARGUMENTS if name in arguments}
        names = {"cookie_name": self.settings.access_cookie_name, "csrf_header_name": self.csrf_header_name}
        self._use_access_cookies(AccessCookieSettings.build(**given | names))

    def _use_access_cookies(self, settings: AccessCookieSettings) -> None:
        refresh = self.sessions.codec  # the access-cookie CSRF key derives from a token secret
        key = settings.csrf_key(_raw_secret(self.keys), _raw_secret(refresh.keys if refresh is not None else None))
        self.cookies.configure(settings, key)
        self._finder.configure(settings, key)

    # -- minting and verifying ----------------------------------------------------------

    @http_errors
    def create_token(
        self,
        sub: str = "",
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        fresh: bool | None = None,
        family: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str | tuple[str, str]:
        """Mint an access token, or ``(access, refresh)`` once refresh is configured.

        A login starts a new refresh family of fresh tokens; called while ``ajwt.refresh`` handles
        a request for the same subject, the pair joins the family just used and is not fresh.
        Typed code uses :attr:`create_token_pair` (``tuple[str, str]``) or :attr:`create_access_token` (``str``).

        Example:
            ```python
            token = ajwt.create_token(sub="alice", permissions=["orders:read"], claims={"tenant": "acme"})
            ```
        """
        return self.issuer.create_token(sub, permissions, data, refresh_data, fresh=fresh, family=family, claims=claims)

    def rotate(
        self,
        context: RefreshContext,
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        claims: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """The next ``(access, refresh)`` pair of ``context``'s family (not fresh; its ``refresh_data`` kept)."""
        self._needs_refresh("rotate")
        return self.issuer.rotate(context, permissions, data, refresh_data, claims=claims)

    @http_errors
    def decode(self, token: str) -> TokenContext[Any]:
        """Verify an access token outside a request (signature, algorithm, time, issuer, audience, type, claims).

        Revocation needs the store: use :meth:`verify` for that.

        Raises:
            ApoJWTError: an ``InvalidTokenError`` subclass saying what is wrong.
        """
        return self.verifier.decode(token)

    @http_errors
    async def verify(self, token: str) -> TokenContext[Any]:
        """Like :meth:`decode`, and also reject revoked tokens (asks the store) and fetch unknown keys."""
        context = await self.verifier.verify(token)
        await self.sessions.check(context)
        return context

    def clear_token_cache(self) -> None:
        """Forget every cached verification (e.g. after changing keys by hand; revocation never needs it)."""
        self.verifier.clear_cache()

    # -- cookies -------------------------------------------------------------------------

    def csrf_token(self, token: str) -> str:
        """The CSRF value bound to a refresh token (or to an access token held in a cookie)."""
        return self.cookies.csrf_token(token)

    def set_refresh_cookies(self, response: Response, refresh_token: str) -> None:
        """Put a refresh token in its HTTP-only cookie, and its CSRF value in the JS-readable cookie."""
        self.cookies.set_refresh(response, refresh_token)

    def unset_refresh_cookies(self, response: Response) -> None:
        """Clear the refresh cookie and its CSRF cookie (logout)."""
        self.cookies.unset_refresh(response)

    def set_access_cookies(self, response: Response, access_token: str) -> None:
        """Put an access token in its HTTP-only cookie and its CSRF value in the JS-readable cookie."""
        self.cookies.set_access(response, access_token)

    def unset_access_cookies(self, response: Response) -> None:
        """Clear the access cookie and its CSRF cookie."""
        self.cookies.unset_access(response)

    # -- revocation ------------------------------------------------------------------------

    @http_errors
    async def revoke_token(self, token: str | TokenContext[Any] | RefreshContext) -> None:
        """Revoke one token (access or refresh) until it expires; 503 if the store cannot record it."""
        await self.sessions.revoke_token(token)

    @http_errors
    async def revoke_family(self, family: str | RefreshContext | TokenContext[Any]) -> None:
        """Revoke a refresh family (one login session), its refresh and access tokens (logout)."""
        await self.sessions.revoke_family(family)

    @http_errors
    async def revoke_subject(self, sub: str, *, issued_before: float | datetime | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``issued_before`` (default: now): "log out everywhere"."""
        await self.sessions.revoke_subject(sub, issued_before=issued_before)

    @http_errors
    async def list_sessions(self, sub: str) -> list[SessionInfo]:
        """The live login sessions (refresh families) of ``sub``, newest first: end one with :meth:`revoke_family`."""
        return await self.sessions.list_sessions(sub)

    # -- keys and docs -----------------------------------------------------------------------

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK set of this instance's asymmetric keys (``{"keys": [...]}``), each with its ``kid``."""
        return self.keys.jwks()

    def jwks_router(
        self, path: str = WELL_KNOWN_PATH, *, max_age: int = 300, include_in_schema: bool = False
    ) -> APIRouter:
        """A router serving this instance's public keys at ``GET /.well-known/jwks.json`` (with ``ETag``)."""
        algorithm = self.keys.algorithm
        return jwks_router(
            self.jwks, path=path, max_age=max_age, include_in_schema=include_in_schema, algorithm=algorithm
        )

    def init_app(self, app: FastAPI, *, token_url: str | None = None) -> None:
        """Document this instance's protected operations in ``app``'s OpenAPI schema.

        Each guarded operation gets its 401 (and 403) responses with the challenge, its
        permissions as scopes and ``x-permissions``; ``token_url`` (an OAuth2 password-form
        login route) adds a password-flow scheme so Swagger UI's "Authorize" can log in. It also
        renders ``fastapi_apojwt.oauth2.OAuth2Error`` as RFC 6749 §5.2 token-endpoint errors.
        """
        document_app(self, app, token_url=token_url)
        app.add_exception_handler(OAuth2Error, oauth2_error_handler)

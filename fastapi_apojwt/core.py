"""``ApoJWT``: validates settings once, owns keys and the store, hands out guards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

from pydantic import BaseModel
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.status import WS_1008_POLICY_VIOLATION

from . import refresh as _refresh
from ._cache import TokenCache, new_context
from .context import RefreshContext, TokenContext
from .cookies import CookieSettings, check_cookie_name, check_header_name, clear_token_cookies, set_token_cookies
from .errors import (
    ApoJWTError,
    ConfigurationError,
    MissingTokenError,
    RevokedTokenError,
    UnknownKeyError,
)
from .finders import Finder, UserFunction, bearer_token, cookie_token, handler_call, user_finder, websocket_token
from .guards import AccessGuard, RefreshGuard
from .jwks import WELL_KNOWN_PATH, JWKSOptions, build_keys, jwks_router
from .keys import HMAC_ALGORITHMS, KeyMaterial, KeySet
from .openapi import bearer_scheme_model, cookie_scheme_model, document_app
from .permissions import PermissionPolicy, check_permission_name
from .stores import MemoryStore, TokenStore
from .tokens import ACCESS, Claims, TokenCodec, new_jti

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["ApoJWT"]

Template = Literal["fastapi", "flask"]
_TEMPLATES = ("fastapi", "flask", None)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value < float("inf"):
        # Tokens carry whole seconds: a lifetime under one second would mint expired tokens.
        raise ConfigurationError(f"{name} must be a positive number of seconds (at least 1), got {value!r}.")
    return float(value)


def _revocation_query(context: TokenContext[Any]) -> tuple[str, str, float, str | None]:
    """``(jti, sub, issued_at, family)``: what the store is asked about an access token.

    Its claims were type-checked by the codec when the token was verified.
    """
    claims = context.claims
    return _refresh.token_id(claims, context.token), context.sub, claims["iat"], claims.get("fam")


class KeySource(Protocol):
    """A source of verification keys that can be refetched (e.g. a remote JWKS, see ``jwks.RemoteJWKS``)."""

    async def ensure_fresh(self) -> None:
        """Fetch keys if none are cached or the cache expired; raise ``ServiceUnavailableError`` if none."""
        ...

    async def refresh_for_unknown_key(self) -> bool:
        """Refetch keys after an unknown ``kid`` (rate-limited); ``True`` if the key set changed."""
        ...

    def ensure_fresh_sync(self) -> None:
        """Blocking twin of :meth:`ensure_fresh` (for :meth:`ApoJWT.decode`)."""
        ...

    def refresh_for_unknown_key_sync(self) -> bool:
        """Blocking twin of :meth:`refresh_for_unknown_key`."""
        ...


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
        secret: HMAC secret for HS*, or a PEM private key (or key object) for
            RS*/PS*/ES*/EdDSA. Omit it for a verify-only instance built from
            ``public_key=``, ``jwks=`` or ``jwks_url=``.
        exp_period: Access token lifetime in seconds.
        iss: The issuer written into and required of every token.
        server_audience: Audiences this service answers to. Tokens must name
            one of them; when empty, only tokens with no (or an empty) ``aud`` pass.
        algorithm: The one algorithm tokens must be signed with.
        admin_permission: A permission that passes every permission check.
        template: ``"fastapi"`` (default), ``"flask"``, or ``None`` (bring your
            own ``token_finder`` and ``exception_handler``).
        async_framework: Accepted for apojwt 1.x compatibility; coroutines are detected.
        token_finder: ``(*args, **kwargs) -> str`` returning the access token,
            overriding the template's. As a classic decorator it receives the
            handler's arguments (as apojwt 1.x); as a dependency, the keyword
            arguments ``request`` and ``authorization`` (the raw header).
        exception_handler: ``(code, msg, *args, **kwargs) -> NoReturn``, called on
            every HTTP authentication failure (with the handler's arguments on the
            decorator path); it must raise. If it returns, the request still fails.
        public_key: One public key (PEM or key object) or several, to verify
            tokens signed by their private keys.
        previous_keys: Keys (or HMAC secrets) retired from signing that still
            verify, as a list or as ``{kid: key}``; remove them once their tokens expired.
        kid: The ``kid`` written into tokens (default: the key's RFC 7638 thumbprint).
        jwks: A verify-only instance from a JWK set (a dict or its JSON text).
        jwks_url: A verify-only instance whose keys are fetched (lazily, cached)
            from this URL; see ``JWKSOptions``. With ``jwks=``/``jwks_url=``,
            leave ``algorithm`` as is to use each key's own ``alg``, or pin one.
        jwks_options: How ``jwks_url=`` is fetched and cached (``JWKSOptions``).
        strict: Refuse weak HMAC secrets instead of warning (``WeakSecretWarning``).
        websocket_query_param: Opt-in: also read a WebSocket handshake's token
            from this query parameter (query strings end up in access logs).
        websocket_subprotocol: Opt-in: also read a WebSocket handshake's token
            from ``Sec-WebSocket-Protocol: <this marker>, <token>`` (browsers).
        cache_size: How many verified access tokens to remember (an LRU keyed by
            the exact token string; ``0`` turns the cache off). Expiry and
            not-before are rechecked on every hit and revocation is asked of the
            store on every request; see the Performance page of the docs.
    """

    def __init__(
        self,
        secret: KeyMaterial | None = None,
        exp_period: int = 900,
        iss: str = "",
        server_audience: Sequence[str] = (),
        algorithm: str = "HS256",
        admin_permission: str | None = None,
        template: Template | None = "fastapi",
        async_framework: bool = False,
        token_finder: Callable[..., str] | None = None,
        exception_handler: Callable[..., NoReturn] | None = None,
        *,
        public_key: KeyMaterial | Iterable[KeyMaterial] | None = None,
        previous_keys: Iterable[KeyMaterial] | Mapping[str, KeyMaterial] = (),
        kid: str | None = None,
        jwks: Mapping[str, Any] | str | None = None,
        jwks_url: str | None = None,
        jwks_options: JWKSOptions | None = None,
        leeway: float = 0,
        max_token_bytes: int = 8192,
        data_model: type[BaseModel] | None = None,
        wildcards: bool = False,
        strict: bool = False,
        store: TokenStore | None = None,
        token_location: Literal["headers", "cookies"] = "headers",
        access_cookie_name: str = "access_token",
        scheme_name: str = "BearerAuth",
        clock: Callable[[], float] = time.time,
        websocket_query_param: str | None = None,
        websocket_subprotocol: str | None = None,
        cache_size: int = 4096,
    ) -> None:
        """Check every setting and prepare keys, codec, store and guards."""
        if template not in _TEMPLATES:
            raise ConfigurationError(f"template must be 'fastapi', 'flask' or None, got {template!r}.")
        if not isinstance(iss, str):
            raise ConfigurationError(f"iss must be a string, got {type(iss).__name__}.")
        if isinstance(server_audience, str):
            server_audience = [server_audience]
        audience = list(server_audience)
        if not all(isinstance(a, str) and a for a in audience):
            raise ConfigurationError("server_audience must be a list of non-empty strings.")
        if leeway < 0:
            raise ConfigurationError(f"leeway must be >= 0 seconds, got {leeway!r}.")
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int) or max_token_bytes < 1:
            raise ConfigurationError(f"max_token_bytes must be a positive integer, got {max_token_bytes!r}.")
        if token_location not in ("headers", "cookies"):
            raise ConfigurationError("token_location must be 'headers' or 'cookies'.")
        for name, fn in (("token_finder", token_finder), ("exception_handler", exception_handler)):
            if fn is not None and not callable(fn):
                raise ConfigurationError(f"{name} must be callable.")
        if isinstance(public_key, (str, bytes)) or (public_key is not None and not isinstance(public_key, Iterable)):
            public_keys: list[KeyMaterial] = [public_key]
        else:
            public_keys = list(public_key or ())

        self.exp_period = _positive("exp_period", exp_period)
        self.iss = iss
        self.server_audience = tuple(audience)
        self.algorithm = algorithm
        self.template = template
        self.async_framework = async_framework
        self.token_finder = token_finder
        self.exception_handler = exception_handler
        if data_model is not None and not (isinstance(data_model, type) and issubclass(data_model, BaseModel)):
            raise ConfigurationError(
                f"data_model must be a pydantic BaseModel subclass, got {data_model!r}: "
                "declare the shape of the token's data as `class Data(BaseModel): ...`."
            )
        self.data_model = data_model
        self.strict = strict
        self.scheme_name = scheme_name
        self.token_location = token_location
        self.access_cookie_name = check_cookie_name("access_cookie_name", access_cookie_name)
        self.access_cookie = CookieSettings(path="/", samesite="lax")
        self.access_csrf = True
        self.access_csrf_cookie_name = "csrf_access_token"
        self.access_allowed_origins: frozenset[str] = frozenset()
        self.csrf_header_name = "X-CSRF-Token"
        self._access_csrf_secret: bytes | None = None
        self.clock = clock
        self.policy = PermissionPolicy(admin=admin_permission, wildcards=wildcards)
        self.admin_permission = self.policy.admin

        keys, remote_keys = build_keys(
            algorithm=algorithm,
            secret=secret,
            public_keys=public_keys,
            previous_keys=previous_keys,
            kid=kid,
            strict=strict,
            jwks=jwks,
            jwks_url=jwks_url,
            jwks_options=jwks_options,
        )
        if jwks is not None or jwks_url is not None:
            self.algorithm = keys.algorithm  # the pinned one, or "" when each JWK brings its own
        self.codec = TokenCodec(
            keys=keys,
            issuer=iss,
            audience=audience,
            leeway=leeway,
            max_token_bytes=max_token_bytes,
            clock=clock,
        )
        self._key_source: KeySource | None = remote_keys
        if remote_keys is not None:
            remote_keys.on_update = self._use_keys
        self.store: TokenStore = store if store is not None else MemoryStore(clock=clock)
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError(f"cache_size must be an integer >= 0 (0 turns the cache off), got {cache_size!r}.")
        self._token_cache: TokenCache | None = TokenCache(cache_size) if cache_size else None
        self._context_class: type[TokenContext[Any]] = (
            TokenContext[data_model] if data_model is not None else TokenContext  # type: ignore[valid-type]
        )
        self._cache_config = (self._context_class, self.policy, data_model)
        self._access_finder: Finder = bearer_token if token_location == "headers" else cookie_token(access_cookie_name)
        if token_finder is not None:
            self._access_finder = user_finder(token_finder)
        self._access_finder = websocket_token(
            self._access_finder, query_param=websocket_query_param, subprotocol=websocket_subprotocol
        )
        self._exception_handler_call = (
            UserFunction(exception_handler, leading=2) if exception_handler is not None else None
        )
        self._access_scheme_model = (
            bearer_scheme_model("An access token from the login endpoint.")
            if token_location == "headers"
            else cookie_scheme_model(access_cookie_name)
        )
        self.refresh_codec: TokenCodec | None = None
        self.refresh_exp_period = 0.0
        self.refresh_finder: Callable[..., str] | None = None
        self.refresh_cookie_name = "refresh_token"
        self.refresh_cookie = CookieSettings()
        self.refresh_csrf = True
        self.refresh_csrf_cookie_name = "csrf_refresh_token"
        self._refresh_csrf_key = b""
        self._refresh_finder_adapter: Finder | None = None
        self.refresh_scheme_name = "RefreshCookie"
        self._refresh_scheme_model = cookie_scheme_model(self.refresh_cookie_name)

        self.token_required = AccessGuard(
            self, requirement=self.policy.requirement((), any_of=False), name="token_required"
        )
        """Guard: any valid access token. A dependency and a decorator."""
        self._permission_guards: dict[tuple[frozenset[str], bool, bool], AccessGuard] = {}
        self._refresh_guard = RefreshGuard(self)
        self._refresh_check_guard = RefreshGuard(self, name="refresh_token_required", retire=False)
        self._fresh_guard = AccessGuard(
            self, requirement=self.policy.requirement((), any_of=False), fresh=True, name="fresh_token_required"
        )

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
        if len(permissions) == 1 and isinstance(permissions[0], (list, tuple, set, frozenset)):
            permissions = tuple(permissions[0])
        for p in permissions:
            check_permission_name(p)
        if not permissions and not fresh:
            return self.token_required
        key = (frozenset(permissions), any_of, fresh)
        guard = self._permission_guards.get(key)
        if guard is None:
            requirement = self.policy.requirement(dict.fromkeys(permissions), any_of=any_of)
            label = ("any_of" if any_of else "permission") + repr(tuple(permissions))
            guard = AccessGuard(self, requirement=requirement, fresh=fresh, name=label)
            self._permission_guards[key] = guard
        return guard

    def permission_required(self, *permissions: str, any_of: bool = False, fresh: bool = False) -> AccessGuard:
        """Alias of :meth:`permission`, the name apojwt 1.x used for the decorator."""
        return self.permission(*permissions, any_of=any_of, fresh=fresh)

    @property
    def fresh_token_required(self) -> AccessGuard:
        """Guard: a valid access token minted by a login, not by a refresh."""
        return self._fresh_guard

    @property
    def refresh(self) -> RefreshGuard:
        """Guard: a valid refresh token; returns ``RefreshContext``. Needs :meth:`config_refresh`."""
        if self.refresh_codec is None:
            raise ConfigurationError(
                "ajwt.refresh is used but refresh tokens are not configured: "
                "call ajwt.config_refresh(refresh_secret) before declaring the route."
            )
        return self._refresh_guard

    @property
    def refresh_token_required(self) -> RefreshGuard:
        """Guard: a valid, unrevoked refresh token (CSRF-checked) that is *not* used up.

        For routes that act on the session without rotating it, such as logout.

        Example:
            ```python
            @app.post("/auth/logout")
            async def logout(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh_token_required)]):
                await ajwt.revoke_family(ctx)
                ajwt.unset_refresh_cookies(response)
            ```
        """
        if self.refresh_codec is None:
            raise ConfigurationError(
                "ajwt.refresh_token_required is used but refresh tokens are not configured: "
                "call ajwt.config_refresh(refresh_secret) before declaring the route."
            )
        return self._refresh_check_guard

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
        """Enable refresh tokens, signed with their own secret.

        Example:
            ```python
            ajwt.config_refresh("another-32-byte-or-longer-secret!!", refresh_exp_period=86400)
            access, refresh = ajwt.create_token(sub="alice")
            ```

        Args:
            refresh_secret: The HMAC secret of refresh tokens; it must differ from the access secret.
            refresh_exp_period: Refresh token lifetime in seconds.
            refresh_finder: ``(*args, **kwargs) -> str`` returning the refresh
                token, replacing the cookie. Parameters named ``request`` get the
                request, ``Cookie()``/``Header()`` defaults (or any other name) get
                that cookie or header.
            cookie_name: The HTTP-only cookie carrying the refresh token.
            cookie: Attributes of the refresh cookie (default: ``Secure``,
                ``SameSite=Strict``, ``Path=/auth``, ``Max-Age`` = the token lifetime).
            csrf: Require the double-submit CSRF check when the refresh token
                comes from a cookie (default on).
            csrf_cookie_name: The JS-readable cookie holding the CSRF value.
            csrf_header_name: The header the CSRF value must come back in.
        """
        refresh_algorithm = self.algorithm if self.algorithm in HMAC_ALGORITHMS else "HS256"
        if isinstance(refresh_secret, (str, bytes)) and self.algorithm in HMAC_ALGORITHMS:
            raw = refresh_secret.encode() if isinstance(refresh_secret, str) else refresh_secret
            signing = self.keys.signing
            if signing is not None and raw == signing.key:
                raise ConfigurationError(
                    "The refresh secret equals the access secret. Use a separate random secret "
                    "(e.g. from `apojwt keygen hmac`) so one token type can never pass for the other."
                )
        if refresh_finder is not None and not callable(refresh_finder):
            raise ConfigurationError("refresh_finder must be callable.")
        if cookie is not None and not isinstance(cookie, CookieSettings):
            raise ConfigurationError("cookie must be a CookieSettings.")
        check_cookie_name("cookie_name", cookie_name)
        check_cookie_name("csrf_cookie_name", csrf_cookie_name)
        check_header_name("csrf_header_name", csrf_header_name)
        if csrf_cookie_name == cookie_name:
            raise ConfigurationError("csrf_cookie_name must differ from cookie_name.")
        keys = KeySet.build(
            algorithm=refresh_algorithm, secret=refresh_secret, strict=self.strict, what="refresh secret"
        )
        self.refresh_codec = TokenCodec(
            keys=keys,
            issuer=self.iss,
            audience=self.server_audience,
            leeway=self.codec.leeway,
            max_token_bytes=self.codec.max_token_bytes,
            clock=self.clock,
        )
        self.refresh_exp_period = _positive("refresh_exp_period", refresh_exp_period)
        self.refresh_finder = refresh_finder
        self.refresh_cookie_name = cookie_name
        self.refresh_cookie = cookie if cookie is not None else CookieSettings()
        self.refresh_csrf = bool(csrf)
        self.refresh_csrf_cookie_name = csrf_cookie_name
        self.csrf_header_name = csrf_header_name
        signing_key = keys.signing.key if keys.signing is not None else b""
        self._refresh_csrf_key = _refresh.derive_csrf_key(
            signing_key if isinstance(signing_key, bytes) else str(signing_key).encode(), "refresh"
        )
        self._refresh_finder_adapter = _refresh.adapt_finder(refresh_finder) if refresh_finder is not None else None
        self._refresh_scheme_model = cookie_scheme_model(cookie_name, "The HTTP-only refresh cookie.")

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

        With ``token_location="cookies"`` the access token is read from the
        HTTP-only ``access_token`` cookie, and unsafe requests (every method but
        GET, HEAD, OPTIONS and TRACE) must echo the ``csrf_access_token`` cookie in the ``X-CSRF-Token``
        header. Without calling this method the defaults apply.

        Example:
            ```python
            ajwt = ApoJWT(secret, token_location="cookies")
            ajwt.config_access_cookies(cookie=CookieSettings(path="/", samesite="lax"))
            ```

        Args:
            cookie: Attributes of the access cookie (default: ``Secure``,
                ``SameSite=Lax``, ``Path=/``, ``Max-Age`` = the token lifetime).
            csrf: Require the double-submit CSRF check on unsafe methods (default on).
            csrf_cookie_name: The JS-readable cookie holding the CSRF value.
            csrf_secret: The key CSRF values are derived from. Only needed when
                access tokens use an asymmetric algorithm and refresh tokens are
                not configured (otherwise a token secret is used).
            allowed_origins: Other origins (``"https://app.example.com"``) whose
                pages may open cookie-authenticated WebSockets. A browser's
                handshake from any other origin than this site's own is refused
                (cross-site WebSocket hijacking); clients that send no ``Origin``
                (not browsers) are not affected.
        """
        if cookie is not None and not isinstance(cookie, CookieSettings):
            raise ConfigurationError("cookie must be a CookieSettings.")
        check_cookie_name("csrf_cookie_name", csrf_cookie_name)
        if csrf_cookie_name == self.access_cookie_name:
            raise ConfigurationError("csrf_cookie_name must differ from the access cookie name.")
        if csrf_secret is not None:
            raw = csrf_secret.encode() if isinstance(csrf_secret, str) else csrf_secret
            if not isinstance(raw, bytes) or len(raw) < 32:
                raise ConfigurationError("csrf_secret must be at least 32 bytes.")
            self._access_csrf_secret = raw
        self.access_cookie = cookie if cookie is not None else CookieSettings(path="/", samesite="lax")
        self.access_csrf = bool(csrf)
        self.access_csrf_cookie_name = csrf_cookie_name
        origins = [allowed_origins] if isinstance(allowed_origins, str) else list(allowed_origins)
        for origin in origins:
            if not isinstance(origin, str) or not origin.startswith(("https://", "http://")) or origin.endswith("/"):
                raise ConfigurationError(
                    f"allowed_origins entries are origins like 'https://app.example.com' (scheme and host, "
                    f"no path), got {origin!r}."
                )
        self.access_allowed_origins = frozenset(origin.lower() for origin in origins)

    def _access_csrf_key(self) -> bytes:
        """The key access-cookie CSRF values derive from (the same on every instance)."""
        if self._access_csrf_secret is not None:
            secret = self._access_csrf_secret
        elif self.keys.signing is not None and isinstance(self.keys.signing.key, bytes):
            secret = self.keys.signing.key
        elif self.refresh_codec is not None and self.refresh_codec.keys.signing is not None:
            secret = self.refresh_codec.keys.signing.key
        else:
            # A verify-only or asymmetric instance has no secret. The CSRF value only
            # binds the double-submit pair to the token, and the token itself is the
            # secret a cross-site attacker lacks, so a fixed key is as sound here.
            secret = b"fastapi-apojwt access-cookie csrf binding"
        return _refresh.derive_csrf_key(secret, "access")

    # -- minting and decoding ----------------------------------------------------------

    def create_token(
        self,
        sub: str = "",
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        fresh: bool | None = None,
        family: str | None = None,
    ) -> Any:
        """Mint an access token, or ``(access, refresh)`` once refresh is configured.

        A login starts a new refresh family and mints fresh tokens. Called (once)
        while ``ajwt.refresh`` handles a request for the same subject, the new
        tokens join the family of the refresh token just used and are not fresh
        (:meth:`rotate` says so explicitly).

        Example:
            ```python
            token = ajwt.create_token(sub="alice", permissions=["orders:read"], data={"team": "a"})
            ```

        Args:
            sub: The subject (who the token is for).
            permissions: The permissions granted (the ``perms`` claim).
            data: Application data for the access token (``data`` claim).
            refresh_data: Application data for the refresh token.
            fresh: Mark the access token fresh; by default ``True``, except
                while handling a refresh.
            family: The refresh family to join; by default a new one, except
                while handling a refresh of the same subject.
        """
        rotation = _refresh.current_rotation()
        if rotation is not None:
            _refresh.end_rotation()  # one pair per refresh; nothing carries over to a later login
            if fresh is None:
                fresh = False
            if family is None and rotation.sub == str(sub):
                family = rotation.family
        fresh = True if fresh is None else bool(fresh)
        if isinstance(permissions, str):
            raise TypeError("permissions must be a list of strings, not a single string.")
        perms = list(permissions)
        if not all(isinstance(p, str) for p in perms):
            raise TypeError("permissions must be a list of strings.")
        payload_data: Any = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        claims = self.codec.base_claims(self.exp_period)
        claims.update(sub=str(sub), perms=perms, data=payload_data, type=ACCESS, fresh=fresh)
        if self.refresh_codec is None:
            return self.codec.encode(claims)
        family = family or new_jti()
        claims["fam"] = family  # so revoking the family (logout, replay) also stops its access tokens
        access = self.codec.encode(claims)
        refresh = self._mint_refresh(str(sub), dict(refresh_data or {}), family=family, issued_at=claims["iat"])
        return access, refresh

    def rotate(
        self,
        context: RefreshContext,
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Mint the next ``(access, refresh)`` pair of a refresh family.

        The access token is not fresh; the refresh token joins the family of
        ``context`` and carries its ``refresh_data`` unless you pass new data.

        Example:
            ```python
            @app.post("/auth/refresh")
            async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]):
                access, refresh = ajwt.rotate(ctx, permissions=permissions_of(ctx.sub))
                ajwt.set_refresh_cookies(response, refresh)
                return {"access_token": access}
            ```
        """
        if self.refresh_codec is None:
            raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
        pair: tuple[str, str] = self.create_token(
            sub=context.sub,
            permissions=permissions,
            data=data,
            refresh_data=context.data if refresh_data is None else refresh_data,
            fresh=False,
            family=context.family,
        )
        return pair

    # -- cookies -------------------------------------------------------------------------

    def csrf_token(self, token: str) -> str:
        """The CSRF value bound to a refresh token (or to an access token held in a cookie).

        The cookie helpers set it in the JS-readable CSRF cookie already; use
        this to hand it to a client another way.
        """
        if self.refresh_codec is not None:
            try:
                self.refresh_codec.verify(token, "refresh")
            except ApoJWTError:
                pass
            else:
                return _refresh.csrf_value(self._refresh_csrf_key, token)
        return _refresh.csrf_value(self._access_csrf_key(), token)

    def set_refresh_cookies(self, response: Response, refresh_token: str) -> None:
        """Put a refresh token in its HTTP-only cookie, and its CSRF value in the JS-readable cookie.

        Example:
            ```python
            access, refresh = ajwt.create_token(sub="alice")
            ajwt.set_refresh_cookies(response, refresh)
            ```
        """
        if self.refresh_codec is None:
            raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
        set_token_cookies(
            response,
            name=self.refresh_cookie_name,
            token=refresh_token,
            csrf_name=self.refresh_csrf_cookie_name if self.refresh_csrf else None,
            csrf_value=_refresh.csrf_value(self._refresh_csrf_key, refresh_token) if self.refresh_csrf else None,
            settings=self.refresh_cookie,
            max_age=int(self.refresh_exp_period),
        )

    def unset_refresh_cookies(self, response: Response) -> None:
        """Clear the refresh cookie and its CSRF cookie (logout)."""
        clear_token_cookies(
            response,
            name=self.refresh_cookie_name,
            csrf_name=self.refresh_csrf_cookie_name if self.refresh_csrf else None,
            settings=self.refresh_cookie,
        )

    def set_access_cookies(self, response: Response, access_token: str) -> None:
        """Put an access token in its HTTP-only cookie and its CSRF value in the JS-readable cookie.

        For ``ApoJWT(token_location="cookies")``.

        Example:
            ```python
            ajwt.set_access_cookies(response, ajwt.create_token(sub="alice"))
            ```
        """
        set_token_cookies(
            response,
            name=self.access_cookie_name,
            token=access_token,
            csrf_name=self.access_csrf_cookie_name if self.access_csrf else None,
            csrf_value=_refresh.csrf_value(self._access_csrf_key(), access_token) if self.access_csrf else None,
            settings=self.access_cookie,
            max_age=int(self.exp_period),
        )

    def unset_access_cookies(self, response: Response) -> None:
        """Clear the access cookie and its CSRF cookie."""
        clear_token_cookies(
            response,
            name=self.access_cookie_name,
            csrf_name=self.access_csrf_cookie_name if self.access_csrf else None,
            settings=self.access_cookie,
        )

    # -- revocation ------------------------------------------------------------------------

    async def revoke_token(self, token: str | TokenContext[Any] | RefreshContext) -> None:
        """Revoke one token (access or refresh) until it expires.

        Raises:
            ServiceUnavailableError: the store could not record it (nothing was revoked; retry).

        Example:
            ```python
            await ajwt.revoke_token(ctx)  # ctx: the TokenContext of the current request
            ```
        """
        await _refresh.revoke_token(self, token)

    async def revoke_family(self, family: str | RefreshContext | TokenContext[Any]) -> None:
        """Revoke a refresh family (one login session): its refresh and access tokens (logout).

        Raises:
            ServiceUnavailableError: the store could not record it (nothing was revoked; retry).

        Example:
            ```python
            await ajwt.revoke_family(refresh_ctx)
            ```
        """
        await _refresh.store_call(self.store.revoke_family(_refresh.family_of(family), ttl=self._family_ttl()))

    async def revoke_subject(self, sub: str, *, issued_before: float | datetime | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``issued_before`` (default: now).

        Tokens carry whole seconds, so a token issued in the same second as the
        revocation is revoked too.

        Raises:
            ServiceUnavailableError: the store could not record it (nothing was revoked; retry).

        Example:
            ```python
            await ajwt.revoke_subject("alice")  # "log out everywhere"
            ```
        """
        if isinstance(issued_before, datetime):
            cut_off = issued_before.timestamp()
        else:
            cut_off = self.clock() if issued_before is None else float(issued_before)
        await _refresh.store_call(self.store.revoke_subject(str(sub), issued_before=cut_off, ttl=self._family_ttl()))

    def _family_ttl(self) -> float:
        """How long a family or subject revocation must be kept: the longest token lifetime."""
        return max(self.exp_period, self.refresh_exp_period) + self.codec.leeway + 1

    def _mint_refresh(self, sub: str, refresh_data: dict[str, Any], *, family: str | None, issued_at: float) -> str:
        if self.refresh_codec is None:
            raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
        claims = self.refresh_codec.base_claims(self.refresh_exp_period, now=issued_at)
        claims.update(sub=sub, data=refresh_data, type="refresh", fam=family or claims["jti"])
        return self.refresh_codec.encode(claims)

    def decode(self, token: str) -> TokenContext[Any]:
        """Verify an access token outside a request and return its ``TokenContext``.

        Checks signature, algorithm, time, issuer, audience, type and claim types;
        revocation needs the store, so use :meth:`verify` for that.

        Raises:
            ApoJWTError: an ``InvalidTokenError`` subclass saying what is wrong.
        """
        source = self._key_source
        if source is None:
            return self._access_context(token)
        source.ensure_fresh_sync()  # a jwks_url= instance: a blocking fetch when needed
        try:
            return self._access_context(token)
        except UnknownKeyError:
            if not source.refresh_for_unknown_key_sync():
                raise
            return self._access_context(token)

    async def verify(self, token: str) -> TokenContext[Any]:
        """Like :meth:`decode`, and also reject revoked tokens (asks the store) and fetch unknown keys."""
        context = await self._verified_context(token)
        await self._check_not_revoked(context)
        return context

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK set of this instance's asymmetric keys (``{"keys": [...]}``), each with its ``kid``.

        Example:
            ```python
            ajwt = ApoJWT(private_key_pem, algorithm="EdDSA")
            ajwt.jwks()  # {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "...", "kid": "...", ...}]}
            ```
        """
        return self.codec.keys.jwks()

    def jwks_router(
        self, path: str = WELL_KNOWN_PATH, *, max_age: int = 300, include_in_schema: bool = False
    ) -> APIRouter:
        """A router serving this instance's public keys at ``GET /.well-known/jwks.json``.

        Responses carry ``Cache-Control: public, max-age=<max_age>`` and an ``ETag``.

        Raises:
            ConfigurationError: this instance uses an HMAC secret, which has no public key.

        Example:
            ```python
            app.include_router(ajwt.jwks_router())
            ```
        """
        if self.codec.keys.algorithm in HMAC_ALGORITHMS:
            raise ConfigurationError(
                f"jwks_router(): this instance uses {self.codec.keys.algorithm}, a shared secret that must never be "
                "published. Sign with a key pair (algorithm='RS256', 'ES256', 'EdDSA'...) to publish a JWK set."
            )
        return jwks_router(self.jwks, path=path, max_age=max_age, include_in_schema=include_in_schema)

    @property
    def key_source(self) -> KeySource | None:
        """Where verification keys are refetched from (a ``RemoteJWKS`` for ``jwks_url=``), else ``None``."""
        return self._key_source

    @property
    def keys(self) -> KeySet:
        """The keys this instance signs and verifies with (the codec's; a refetched JWKS replaces them)."""
        return self.codec.keys

    def _use_keys(self, keys: KeySet) -> None:
        """Swap in a new key set (a refetched JWKS); cached verifications under the old one are dropped."""
        self.codec.keys = keys

    def init_app(self, app: FastAPI, *, token_url: str | None = None) -> None:
        """Document this instance's protected operations in ``app``'s OpenAPI schema.

        Each operation guarded by this instance gets its 401 response (and 403
        when it needs permissions) with the ``WWW-Authenticate`` challenge, the
        required permissions as scopes of its security requirement and as
        ``x-permissions``, and a line in its description. The schema is still
        built lazily, so routes added later are covered; calling this twice is
        harmless.

        Args:
            app: The FastAPI application to document.
            token_url: Your login route taking an OAuth2 password form, if any
                (e.g. ``"/auth/token"``): it is offered as an alternative
                ``oauth2`` password-flow scheme, so Swagger UI's "Authorize"
                dialog can log in with a username and password.

        Example:
            ```python
            app = FastAPI()
            ajwt.init_app(app, token_url="/auth/token")

            @app.get("/orders")
            async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]): ...
            ```
        """
        document_app(self, app, token_url=token_url)

    # -- request-path internals ----------------------------------------------------------

    def _find_access_token(self, connection: HTTPConnection) -> str:
        token = self._access_finder(connection)
        if token is None:
            raise MissingTokenError
        if self.token_location == "cookies" and connection.cookies.get(self.access_cookie_name) == token:
            _refresh.check_access_csrf(self, connection, token)
        return token

    async def _verified_context(self, token: str) -> TokenContext[Any]:
        """Verify an access token on the request path (signature, claims; not revocation)."""
        source = self._key_source
        if source is not None:
            await source.ensure_fresh()  # lazily fetch a remote JWKS; 503 when no key is usable
        try:
            return self._access_context(token)
        except UnknownKeyError:
            if source is None or not await source.refresh_for_unknown_key():
                raise
            return self._access_context(token)

    def _access_context(self, token: str) -> TokenContext[Any]:
        """Verify synchronously with the keys at hand, or find the token in the cache; build the context."""
        cache = self._token_cache
        if cache is None or type(token) is not str:
            return self._build_context(token, self.codec.verify(token, ACCESS))
        codec = self.codec
        entry = cache.get(token)
        if entry is not None:
            now = codec.clock()
            leeway = codec.leeway
            # The entry's time window, with the same comparisons as TokenCodec.check_claims.
            if entry.keys is codec.keys and not (now - leeway >= entry.exp) and not (entry.start > now + leeway):
                return entry.context(token)
            cache.discard(token)  # out of its time window or keys changed: verify from scratch
        claims = codec.verify(token, ACCESS)
        context = self._build_context(token, claims)  # raises (nothing cached) if data misfits data_model
        cache.admit(token, claims, codec.keys, self._cache_config)  # cached from its second verification on
        return context

    def _build_context(self, token: str, claims: Claims) -> TokenContext[Any]:
        """The context of verified ``claims``, which it takes over."""
        return new_context(self._context_class, claims, token, self.policy, self.data_model)

    def clear_token_cache(self) -> None:
        """Forget every cached verification (e.g. after changing keys by hand).

        Replacing ``ajwt.codec.keys`` already invalidates older entries; revocation
        never needs this, as it is checked on every request.

        Example:
            ```python
            ajwt.clear_token_cache()
            ```
        """
        if self._token_cache is not None:
            self._token_cache.clear()

    def _revoked_now(self, context: TokenContext[Any]) -> bool | None:
        """Ask the memory store synchronously; ``None`` when the store must be awaited.

        Only where the store's ``is_revoked`` is the memory store's own (which
        answers through ``is_revoked_now``): a subclass overriding ``is_revoked``
        is always awaited, so its answer (or its failure) is never bypassed.
        """
        store = self.store
        if type(store).is_revoked is not MemoryStore.is_revoked:
            return None
        jti, sub, issued_at, family = _revocation_query(context)
        revoked: bool = store.is_revoked_now(  # type: ignore[attr-defined]
            jti=jti, sub=sub, issued_at=issued_at, family=family
        )
        return revoked

    async def _check_not_revoked(self, context: TokenContext[Any]) -> None:
        jti, sub, issued_at, family = _revocation_query(context)
        if await _refresh.store_call(self.store.is_revoked(jti=jti, sub=sub, issued_at=issued_at, family=family)):
            raise RevokedTokenError

    async def _refresh_context(self, connection: HTTPConnection, *, retire: bool = True) -> RefreshContext:
        return await _refresh.refresh_context(self, connection, retire=retire)

    def _failure(self, connection: HTTPConnection, error: ApoJWTError) -> Exception:
        """What to raise for ``error`` on ``connection``: the user's handler, a WebSocket close, or the error."""
        if self._exception_handler_call is not None and connection.scope.get("type") != "websocket":
            # apojwt 1.x semantics: (code, msg, *handler_args, **handler_kwargs) on the decorator path.
            args, kwargs = handler_call.get() or ((), {})
            self._exception_handler_call((error.status_code, str(error.detail)), args, kwargs)
            # A handler that returns would open the door: fail closed with our own error.
        if connection.scope.get("type") == "websocket":
            return WebSocketException(code=WS_1008_POLICY_VIOLATION, reason=str(error.detail)[:120])
        return error

"""``ApoJWT``: validates settings once, owns keys and the store, hands out guards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol

from pydantic import BaseModel
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from ._cache import TokenCache, VerifiedToken
from .context import RefreshContext, TokenContext
from .errors import (
    ApoJWTError,
    ConfigurationError,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    UnknownKeyError,
)
from .finders import Finder, UserFunction, bearer_token, cookie_token, handler_call, user_finder, websocket_token
from .guards import AccessGuard, RefreshGuard
from .jwks import WELL_KNOWN_PATH, JWKSOptions, build_keys, jwks_router
from .keys import HMAC_ALGORITHMS, KeyMaterial, KeySet
from .openapi import bearer_scheme_model, cookie_scheme_model, document_app
from .permissions import PermissionPolicy, check_permission_name
from .stores import MemoryStore, TokenStore
from .tokens import ACCESS, Claims, TokenCodec

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["ApoJWT"]

Template = Literal["fastapi", "flask"]
_TEMPLATES = ("fastapi", "flask", None)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value < float("inf"):
        # Tokens carry whole seconds: a lifetime under one second would mint expired tokens.
        raise ConfigurationError(f"{name} must be a positive number of seconds (at least 1), got {value!r}.")
    return float(value)


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
        self.data_model = data_model
        self.strict = strict
        self.scheme_name = scheme_name
        self.token_location = token_location
        self.access_cookie_name = access_cookie_name
        self.clock = clock
        self.policy = PermissionPolicy(admin=admin_permission, wildcards=wildcards)
        self.admin_permission = self.policy.admin

        self.keys, remote_keys = build_keys(
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
        self.codec = TokenCodec(
            keys=self.keys,
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
        self.refresh_scheme_name = "RefreshCookie"
        self._refresh_scheme_model = cookie_scheme_model(self.refresh_cookie_name)

        self.token_required = AccessGuard(
            self, requirement=self.policy.requirement((), any_of=False), name="token_required"
        )
        """Guard: any valid access token. A dependency and a decorator."""
        self._permission_guards: dict[tuple[frozenset[str], bool, bool], AccessGuard] = {}
        self._refresh_guard = RefreshGuard(self)
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

    # -- configuration ---------------------------------------------------------------

    def config_refresh(
        self,
        refresh_secret: KeyMaterial,
        refresh_exp_period: int = 86400,
        refresh_finder: Callable[..., str] | None = None,
        *,
        cookie_name: str = "refresh_token",
    ) -> None:
        """Enable refresh tokens, signed with their own secret.

        Example:
            ```python
            ajwt.config_refresh("another-32-byte-or-longer-secret!!", refresh_exp_period=86400)
            access, refresh = ajwt.create_token(sub="alice")
            ```
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
        self._refresh_scheme_model = cookie_scheme_model(cookie_name, "The HTTP-only refresh cookie.")

    # -- minting and decoding ----------------------------------------------------------

    def create_token(
        self,
        sub: str = "",
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        fresh: bool = True,
        family: str | None = None,
    ) -> Any:
        """Mint an access token, or ``(access, refresh)`` once refresh is configured.

        Example:
            ```python
            token = ajwt.create_token(sub="alice", permissions=["orders:read"], data={"team": "a"})
            ```
        """
        if isinstance(permissions, str):
            raise TypeError("permissions must be a list of strings, not a single string.")
        perms = list(permissions)
        if not all(isinstance(p, str) for p in perms):
            raise TypeError("permissions must be a list of strings.")
        payload_data: Any = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        claims = self.codec.base_claims(self.exp_period)
        claims.update(sub=str(sub), perms=perms, data=payload_data, type=ACCESS, fresh=fresh)
        access = self.codec.encode(claims)
        if self.refresh_codec is None:
            return access
        refresh = self._mint_refresh(str(sub), dict(refresh_data or {}), family=family, issued_at=claims["iat"])
        return access, refresh

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

    def _use_keys(self, keys: KeySet) -> None:
        """Swap in a new key set (a refetched JWKS); cached verifications under the old one are dropped."""
        self.keys = keys
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
            if entry.keys is codec.keys and entry.valid_at(codec.clock(), codec.leeway):
                return entry.context(token)
            cache.discard(token)  # out of its time window or keys changed: verify from scratch
        entry = self._verified_token(codec.verify(token, ACCESS))
        context = entry.context(token)  # raises (and nothing is cached) if data misfits data_model
        cache.put(token, entry)
        return context

    def _verified_token(self, claims: Claims) -> VerifiedToken:
        return VerifiedToken(
            claims, keys=self.codec.keys, cls=self._context_class, policy=self.policy, data_model=self.data_model
        )

    def _build_context(self, token: str, claims: Claims) -> TokenContext[Any]:
        """The context of verified ``claims`` (which it keeps private: the context gets copies)."""
        return self._verified_token(claims).context(token)

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

    async def _check_not_revoked(self, context: TokenContext[Any]) -> None:
        try:
            revoked = await self.store.is_revoked(
                jti=context.jti, sub=context.sub, issued_at=context.claims["iat"], family=None
            )
        except ApoJWTError:
            raise
        except Exception:
            raise ServiceUnavailableError from None
        if revoked:
            raise RevokedTokenError

    async def _refresh_context(self, connection: HTTPConnection) -> RefreshContext:
        from .refresh import refresh_context

        return await refresh_context(self, connection)

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

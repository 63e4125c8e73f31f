"""The dual-use guard objects: a FastAPI dependency and a classic decorator in one.

A guard is built once (``ajwt.token_required``, ``ajwt.refresh``) or memoised
(``ajwt.permission(...)``), so ``app.dependency_overrides[guard]`` and FastAPI's
per-request dependency cache work. FastAPI awaits it directly: ``__call__`` is
marked as a coroutine function, so no request pays a thread-pool hop.

A guard is built from parts: the verifier (access tokens), the sessions
(revocation, refresh tokens), a token finder, a permission requirement and a
failure handler. Used as a decorator it hands itself to the decorator factory
its ``ApoJWT`` gave it (``_decorate`` or ``flask``, which depend on this module,
never the reverse).

This module deliberately avoids ``from __future__ import annotations``: FastAPI
reads the annotation of ``__call__`` to inject the connection.
"""

import inspect
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NoReturn, TypeVar, overload

from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBearer
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from ._http import as_http
from ._settings import AccessSettings
from .context import RefreshContext, TokenContext
from .errors import (
    ApoJWTError,
    ConfigurationError,
    FreshTokenRequiredError,
    InsufficientPermissionError,
    InvalidTokenError,
    MissingTokenError,
)
from .finders import AccessTokenFinder, UserFunction, handler_call
from .permissions import PermissionPolicy, Requirement, check_permission_name
from .sessions import Sessions
from .stores import MemoryStore
from .verifier import Verifier

__all__ = [
    "AccessGuard",
    "CurrentUserGuard",
    "Decorator",
    "Failure",
    "Guard",
    "GuardSet",
    "RefreshGuard",
    "bearer_scheme_model",
    "cookie_scheme_model",
]

F = TypeVar("F", bound=Callable[..., Any])

Decorator = Callable[["Guard", Callable[..., Any]], Callable[..., Any]]
"""Wraps a handler with a guard (the classic decorator); chosen by the template."""


def bearer_scheme_model(description: str | None = None) -> HTTPBearer:
    """The ``http``/``bearer`` scheme that drives Swagger UI's Authorize button."""
    return HTTPBearer(bearerFormat="JWT", description=description)


def cookie_scheme_model(cookie_name: str, description: str | None = None) -> APIKey:
    """An ``apiKey``-in-cookie scheme for tokens read from a cookie."""
    return APIKey(**{"in": APIKeyIn.cookie}, name=cookie_name, description=description)


_NO_SCOPES = SecurityScopes()


def location_scheme_name(scheme_name: str, location: str, first: bool) -> str:
    """The OpenAPI scheme name of one token location: ``scheme_name`` for the first, suffixed for the others."""
    return scheme_name if first else f"{scheme_name}{'Cookie' if location == 'cookies' else 'Header'}"


def _mark_coroutine_function(function: Callable[..., Any]) -> None:
    """Tell FastAPI (and asyncio) that ``function`` returns an awaitable."""
    if sys.version_info >= (3, 12):
        inspect.markcoroutinefunction(function)
    import asyncio.coroutines

    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:  # asyncio.iscoroutinefunction on Python < 3.14 reads this
        function._is_coroutine = marker  # type: ignore[attr-defined]


class Failure:
    """What an authentication failure becomes on a connection.

    The user's ``exception_handler`` (apojwt 1.x: ``(code, msg, *handler_args,
    **handler_kwargs)``, it must raise), a WebSocket close with code 1008, or
    the error itself, raised as an HTTP exception FastAPI renders.
    """

    def __init__(self, exception_handler: Callable[..., NoReturn] | None) -> None:
        """Inspect the user's handler once."""
        self.exception_handler = exception_handler
        self._handler = UserFunction(exception_handler, leading=2) if exception_handler is not None else None

    def __call__(self, connection: HTTPConnection, error: ApoJWTError) -> Exception:
        """What to raise for ``error`` on ``connection``."""
        websocket = connection.scope.get("type") == "websocket"
        if self._handler is not None and not websocket:
            args, kwargs = handler_call.get() or ((), {})
            self._handler((error.status_code, str(error.detail)), args, kwargs)
            # A handler that returns would open the door: fail closed with our own error.
        if websocket:
            return WebSocketException(code=WS_1008_POLICY_VIOLATION, reason=str(error.detail)[:120])
        return as_http(error)


class Guard(SecurityBase):
    """Base of the guard objects: a security scheme FastAPI awaits, and a decorator.

    Attributes:
        instance: The ``ApoJWT`` that built this guard (OpenAPI documents each instance's own guards).
        template: ``"fastapi"``, ``"flask"`` or ``None``: what the classic decorator targets.
    """

    model: Any
    scheme_name: str

    def __init__(
        self, *, name: str, instance: object, template: str | None, failure: Failure, decorator: Decorator
    ) -> None:
        """Hold the parts common to every guard."""
        self.instance = instance
        self.template = template
        self.failure = failure
        self._decorator = decorator
        self._name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name}>"

    @overload
    def __call__(self, connection: F) -> F: ...

    @overload
    def __call__(
        self, connection: HTTPConnection, security_scopes: SecurityScopes = _NO_SCOPES
    ) -> Coroutine[Any, Any, Any]: ...

    def __call__(self, connection: HTTPConnection, security_scopes: SecurityScopes = _NO_SCOPES) -> Any:  # type: ignore[misc]
        """As a dependency, authenticate ``connection``; as a decorator, wrap a handler.

        ``security_scopes`` are the scopes FastAPI accumulated down the dependency tree
        (``Security(guard, scopes=[...])``, also on a dependency above): required permissions.
        """
        if isinstance(connection, HTTPConnection):
            scopes = security_scopes.scopes
            return self.authenticate_scoped(connection, scopes) if scopes else self.authenticate(connection)
        if callable(connection):
            return self._decorator(self, connection)
        raise TypeError(f"{self!r} decorates a handler or receives a connection from FastAPI")

    async def authenticate(self, connection: HTTPConnection) -> Any:
        """Authenticate a connection; subclasses implement it."""
        raise TypeError(f"{type(self).__name__} must implement authenticate()")  # pragma: no cover

    async def authenticate_scoped(self, connection: HTTPConnection, scopes: Sequence[str]) -> Any:
        """Authenticate, also requiring the permissions ``scopes``: a guard without permissions refuses them."""
        await self.authenticate(connection)
        raise self.failure(connection, InsufficientPermissionError(scope=tuple(scopes)))

    @property
    def deferred(self) -> bool:
        """Whether a user finder or exception handler must see the decorated handler's arguments."""
        return self.failure.exception_handler is not None

    @property
    def in_process(self) -> bool:
        """Whether authenticating needs no I/O (local keys, the memory store)."""
        return False

    @property
    def rotates(self) -> bool:
        """Whether this guard uses a refresh token up (tokens minted after it continue its family)."""
        return False

    def check_decoratable(self) -> None:
        """Refuse, at decoration time, a classic decorator that could never find its token."""


_mark_coroutine_function(Guard.__call__)


class AccessGuard(Guard):
    """Requires a valid access token and, optionally, permissions and freshness.

    Example:
        ```python
        @app.get("/orders")
        async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]):
            return {"for": ctx.sub}
        ```
    """

    def __init__(
        self,
        *,
        verifier: Verifier,
        sessions: Sessions,
        finder: AccessTokenFinder,
        settings: AccessSettings,
        requirement: Requirement,
        policy: PermissionPolicy,
        fresh: bool = False,
        optional: bool = False,
        name: str,
        instance: object,
        failure: Failure,
        decorator: Decorator,
    ) -> None:
        """Hold the parts and the precomputed permission requirement."""
        super().__init__(name=name, instance=instance, template=settings.template, failure=failure, decorator=decorator)
        self.verifier = verifier
        self.sessions = sessions
        self.finder = finder
        self.settings = settings
        self.requirement = requirement
        self.policy = policy
        self.fresh = fresh
        self.optional = optional
        self._scoped: dict[tuple[str, ...], tuple[Requirement, tuple[str, ...]]] = {}
        self.scheme_name = settings.scheme_name
        self.model = self.location_model(settings.token_locations[0])

    def location_model(self, location: str) -> Any:
        """The OpenAPI security scheme of access tokens sent in ``location`` (``"headers"``/``"cookies"``)."""
        if location == "headers":
            return bearer_scheme_model("An access token from the login endpoint.")
        return cookie_scheme_model(self.finder.cookies.cookie_name)

    @property
    def permissions(self) -> tuple[str, ...]:
        """The permission names this guard requires."""
        return self.requirement.names

    @property
    def deferred(self) -> bool:
        """Whether a user finder or exception handler must see the decorated handler's arguments."""
        return self.settings.token_finder is not None or super().deferred

    @property
    def in_process(self) -> bool:
        """Whether authenticating needs no I/O (local keys, the memory store)."""
        return self.verifier.key_source is None and isinstance(self.sessions.store, MemoryStore)

    def check_decoratable(self) -> None:
        """With ``template=None`` the decorator needs the user's ``token_finder``."""
        if self.template is None and self.settings.token_finder is None:
            raise ConfigurationError(
                "template=None and no token_finder: the decorator cannot find the access token. "
                "Pass token_finder=lambda *args, **kwargs: ... to ApoJWT(), or use template='fastapi' or 'flask'."
            )

    async def authenticate(
        self, connection: HTTPConnection, scoped: tuple[Requirement, tuple[str, ...]] | None = None
    ) -> Any:
        """Find, verify and authorise the access token of ``connection`` (``scoped``: scopes required too).

        Returns its ``TokenContext``, or ``None`` for an ``optional`` guard when no token was sent.
        """
        try:
            try:
                token = self.finder(connection)
            except MissingTokenError:
                if self.optional:
                    return None
                raise
            context = await self.verifier.verify(token)
            await self.sessions.check(context)
            if not context.satisfies(self.requirement):
                raise InsufficientPermissionError(scope=scoped[1] if scoped else self.requirement.names)
            if scoped is not None and not context.satisfies(scoped[0]):
                raise InsufficientPermissionError(scope=scoped[1])
            if self.fresh and not context.fresh:
                raise FreshTokenRequiredError
        except ApoJWTError as error:
            self.sessions.failed(error)  # the auth_failed event
            raise self.failure(connection, error) from None
        return context

    async def authenticate_scoped(self, connection: HTTPConnection, scopes: Sequence[str]) -> Any:
        """Authenticate, also requiring every permission in ``scopes`` (exactly as ``permission(...)`` would)."""
        key = tuple(scopes)
        scoped = self._scoped.get(key)
        if scoped is None:  # once per distinct scope list; a bad name is the developer's error, raised loudly
            required = self.policy.requirement(dict.fromkeys(key), any_of=False)
            names = tuple(dict.fromkeys((*self.requirement.names, *required.names)))
            scoped = self._scoped[key] = (required, names)
        return await self.authenticate(connection, scoped)


class CurrentUserGuard(AccessGuard):
    """A valid access token, turned into the application's user by the ``@ajwt.user_loader`` function.

    A sync loader runs in FastAPI's thread pool (like a ``def`` dependency: it may block
    on a database); an ``async def`` loader is awaited. A loader returning ``None`` is a 401.
    """

    loader: Callable[[TokenContext[Any]], Any] | None = None
    _async_loader = False

    def use_loader(self, loader: Callable[[TokenContext[Any]], Any]) -> None:
        """Register ``loader`` (the last registration wins)."""
        if not callable(loader):
            raise ConfigurationError("@ajwt.user_loader decorates a function (ctx: TokenContext) -> User | None.")
        self.loader = loader
        self._async_loader = inspect.iscoroutinefunction(loader) or inspect.iscoroutinefunction(
            getattr(loader, "__call__", None)  # noqa: B004 - an object with an async __call__
        )

    async def authenticate(
        self, connection: HTTPConnection, scoped: tuple[Requirement, tuple[str, ...]] | None = None
    ) -> Any:
        """The user of the access token of ``connection``."""
        loader = self.loader
        if loader is None:
            raise ConfigurationError(
                "ajwt.current_user is used but no user loader is registered: decorate a function "
                "(ctx: TokenContext) -> User | None with @ajwt.user_loader."
            )
        context = await super().authenticate(connection, scoped)
        user = await loader(context) if self._async_loader else await run_in_threadpool(loader, context)
        if user is None:
            raise self.failure(connection, InvalidTokenError("The token does not belong to a known user."))
        return user


class RefreshGuard(Guard):
    """Requires a valid refresh token (by default from an HTTP-only cookie)."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        template: str | None,
        retire: bool = True,
        name: str = "refresh",
        instance: object,
        failure: Failure,
        decorator: Decorator,
    ) -> None:
        """Bind the refresh guard; ``retire`` uses the token up (rotation), else only checks it."""
        super().__init__(name=name, instance=instance, template=template, failure=failure, decorator=decorator)
        self.sessions = sessions
        self.retire = retire

    @property
    def model(self) -> Any:  # type: ignore[override]
        """The OpenAPI scheme of the refresh token (a cookie by default)."""
        settings = self.sessions.settings
        if settings is None:
            return cookie_scheme_model("refresh_token")
        return cookie_scheme_model(settings.cookie_name, "The HTTP-only refresh cookie.")

    @property
    def scheme_name(self) -> str:  # type: ignore[override]
        """The OpenAPI scheme name of the refresh token."""
        settings = self.sessions.settings
        return settings.scheme_name if settings is not None else "RefreshCookie"

    @property
    def deferred(self) -> bool:
        """Whether a user finder or exception handler must see the decorated handler's arguments."""
        settings = self.sessions.settings
        return (settings is not None and settings.finder is not None) or super().deferred

    @property
    def in_process(self) -> bool:
        """Whether authenticating needs no I/O (the memory store)."""
        return isinstance(self.sessions.store, MemoryStore)

    @property
    def rotates(self) -> bool:
        """Whether this guard uses the refresh token up."""
        return self.retire

    def check_decoratable(self) -> None:
        """With ``template=None`` the decorator needs the user's ``refresh_finder``."""
        settings = self.sessions.settings
        if self.template is None and (settings is None or settings.finder is None):
            raise ConfigurationError(
                "template=None and no refresh_finder: ajwt.refresh cannot find the refresh token. "
                "Pass refresh_finder= to config_refresh(), or use template='fastapi' or 'flask'."
            )

    async def authenticate(self, connection: HTTPConnection) -> RefreshContext:
        """Find and verify the refresh token of ``connection`` and (``retire``) use it up."""
        try:
            return await self.sessions.redeem(connection, retire=self.retire)
        except ApoJWTError as error:
            self.sessions.failed(error)  # the auth_failed event
            raise self.failure(connection, error) from None


class GuardSet:
    """The guards of one ``ApoJWT``: built once, ``permission(...)`` memoised.

    The same arguments always give the same guard object, so
    ``app.dependency_overrides[guard]`` and FastAPI's per-request cache work.
    """

    def __init__(
        self,
        *,
        verifier: Verifier,
        sessions: Sessions,
        finder: AccessTokenFinder,
        settings: AccessSettings,
        policy: PermissionPolicy,
        instance: object,
        failure: Failure,
        decorator: Decorator,
    ) -> None:
        """Build the fixed guards from the instance's parts."""
        self._access_parts: dict[str, Any] = {
            "verifier": verifier,
            "sessions": sessions,
            "finder": finder,
            "settings": settings,
            "instance": instance,
            "failure": failure,
            "decorator": decorator,
        }
        self.policy = policy
        self._memo: dict[tuple[frozenset[str], bool, bool], AccessGuard] = {}
        self.token_required = self._access((), any_of=False, fresh=False, name="token_required")
        self.token_optional = self._access((), any_of=False, fresh=False, name="token_optional", optional=True)
        requirement = policy.requirement((), any_of=False)
        self.current_user = CurrentUserGuard(
            requirement=requirement, policy=policy, name="current_user", **self._access_parts
        )
        self.fresh_token_required = self._access((), any_of=False, fresh=True, name="fresh_token_required")
        refresh_parts: dict[str, Any] = {"sessions": sessions, "template": settings.template, "instance": instance}
        refresh_parts.update(failure=failure, decorator=decorator)
        self.refresh = RefreshGuard(**refresh_parts)
        self.refresh_token_required = RefreshGuard(**refresh_parts, name="refresh_token_required", retire=False)

    def _access(self, permissions: Any, *, any_of: bool, fresh: bool, name: str, optional: bool = False) -> AccessGuard:
        requirement = self.policy.requirement(permissions, any_of=any_of)
        parts = self._access_parts
        return AccessGuard(
            requirement=requirement, policy=self.policy, fresh=fresh, optional=optional, name=name, **parts
        )

    def user_loader(self, loader: F) -> F:
        """Register the ``(ctx: TokenContext) -> User | None`` function behind ``current_user``; return it."""
        self.current_user.use_loader(loader)
        return loader

    def permission(self, permissions: tuple[Any, ...], *, any_of: bool, fresh: bool) -> AccessGuard:
        """The guard requiring ``permissions`` (all, or ``any_of``), and ``fresh`` tokens if asked."""
        if len(permissions) == 1 and isinstance(permissions[0], (list, tuple, set, frozenset)):
            permissions = tuple(permissions[0])
        for permission in permissions:
            check_permission_name(permission)
        if not permissions and not fresh:
            return self.token_required
        key = (frozenset(permissions), any_of, fresh)
        guard = self._memo.get(key)
        if guard is None:
            label = ("any_of" if any_of else "permission") + repr(tuple(permissions))
            guard = self._memo[key] = self._access(dict.fromkeys(permissions), any_of=any_of, fresh=fresh, name=label)
        return guard

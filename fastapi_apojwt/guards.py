"""The dual-use guard objects: a FastAPI dependency and a classic decorator in one.

A guard is built once (``ajwt.token_required``, ``ajwt.refresh``) or memoised
(``ajwt.permission(...)``), so ``app.dependency_overrides[guard]`` and FastAPI's
per-request dependency cache work. FastAPI awaits it directly: ``__call__`` is
marked as a coroutine function, so no request pays a thread-pool hop.

This module deliberately avoids ``from __future__ import annotations``: FastAPI
reads the annotation of ``__call__`` to inject the connection.
"""

import inspect
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, overload

from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from .context import RefreshContext, TokenContext
from .errors import ApoJWTError, FreshTokenRequiredError, InsufficientPermissionError, RevokedTokenError
from .permissions import Requirement

if TYPE_CHECKING:
    from .core import ApoJWT

__all__ = ["AccessGuard", "Guard", "RefreshGuard"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


def _mark_coroutine_function(function: Callable[..., Any]) -> None:
    """Tell FastAPI (and asyncio) that ``function`` returns an awaitable."""
    if sys.version_info >= (3, 12):
        inspect.markcoroutinefunction(function)
    import asyncio.coroutines

    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:  # asyncio.iscoroutinefunction on Python < 3.14 reads this
        function._is_coroutine = marker  # type: ignore[attr-defined]


class Guard(SecurityBase):
    """Base of the guard objects: a security scheme FastAPI awaits, and a decorator."""

    model: Any
    scheme_name: str

    def __init__(self, owner: "ApoJWT", *, name: str) -> None:
        """Bind the guard to its ApoJWT instance."""
        self._owner = owner
        self._name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name}>"

    @overload
    def __call__(self, connection: F) -> F: ...

    @overload
    def __call__(self, connection: HTTPConnection) -> Coroutine[Any, Any, Any]: ...

    def __call__(self, connection: HTTPConnection) -> Any:  # type: ignore[misc]
        """As a dependency, authenticate ``connection``; as a decorator, wrap a handler."""
        if isinstance(connection, HTTPConnection):
            return self.authenticate(connection)
        if callable(connection):
            from ._decorate import decorate

            return decorate(self, connection)
        raise TypeError(f"{self!r} decorates a handler or receives a connection from FastAPI")

    async def authenticate(self, connection: HTTPConnection) -> Any:
        """Authenticate a connection; subclasses implement it."""
        raise TypeError(f"{type(self).__name__} must implement authenticate()")  # pragma: no cover

    def _fail(self, connection: HTTPConnection, error: ApoJWTError) -> Exception:
        """Turn an error into what this connection's framework expects."""
        return self._owner._failure(connection, error)


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

    def __init__(self, owner: "ApoJWT", *, requirement: Requirement, fresh: bool = False, name: str) -> None:
        """Hold the precomputed permission requirement."""
        super().__init__(owner, name=name)
        self.requirement = requirement
        self.fresh = fresh
        self.model = owner._access_scheme_model
        self.scheme_name = owner.scheme_name

    @property
    def permissions(self) -> tuple[str, ...]:
        """The permission names this guard requires."""
        return self.requirement.names

    async def authenticate(self, connection: HTTPConnection) -> TokenContext:
        """Find, verify and authorise the access token of ``connection``."""
        owner = self._owner
        try:
            token = owner._find_access_token(connection)
            # Local keys and an in-process store answer without suspending: no coroutine layers then.
            if owner._key_source is None:
                context = owner._access_context(token)
            else:
                context = await owner._verified_context(token)
            revoked = owner._revoked_now(context)
            if revoked is None:
                await owner._check_not_revoked(context)
            elif revoked:
                raise RevokedTokenError
            # The private dict directly: pydantic's __getattr__ for `context._held` costs microseconds.
            if self.requirement.names and not (
                context.admin or self.requirement.satisfied_by(context.__pydantic_private__["_held"])  # type: ignore[index]
            ):
                raise InsufficientPermissionError(scope=self.requirement.names)
            if self.fresh and not context.fresh:
                raise FreshTokenRequiredError
        except ApoJWTError as error:
            raise self._fail(connection, error) from None
        return context


class RefreshGuard(Guard):
    """Requires a valid refresh token (by default from an HTTP-only cookie)."""

    def __init__(self, owner: "ApoJWT", *, name: str = "refresh", retire: bool = True) -> None:
        """Bind the refresh guard; ``retire`` uses the token up (rotation), else only checks it."""
        super().__init__(owner, name=name)
        self.retire = retire

    @property
    def model(self) -> Any:  # type: ignore[override]
        """The OpenAPI scheme of the refresh token (a cookie by default)."""
        return self._owner._refresh_scheme_model

    @property
    def scheme_name(self) -> str:  # type: ignore[override]
        """The OpenAPI scheme name of the refresh token."""
        return self._owner.refresh_scheme_name

    async def authenticate(self, connection: HTTPConnection) -> RefreshContext:
        """Find and verify the refresh token of ``connection`` and retire it."""
        try:
            return await self._owner._refresh_context(connection, retire=self.retire)
        except ApoJWTError as error:
            raise self._fail(connection, error) from None

"""Where errors meet the web framework: an ``ApoJWTError`` raised as a Starlette ``HTTPException``.

The error tree (``errors.py``) is plain Python, so the token layer imports no
web framework. On the way out to FastAPI an error is re-raised as an instance
of its "HTTP twin": a class deriving from both the error's own class and
``HTTPException``, made once per error class. FastAPI's default handler then
renders ``{"detail": ...}`` with the challenge headers, and user handlers
registered for ``ApoJWTError`` (or any subclass) still match.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from starlette.exceptions import HTTPException

from .errors import ApoJWTError

__all__ = ["as_http", "http_errors"]

P = ParamSpec("P")
R = TypeVar("R")

_twins: dict[type[ApoJWTError], type[ApoJWTError]] = {}


def _twin(cls: type[ApoJWTError]) -> type[ApoJWTError]:
    twin = _twins.get(cls)
    if twin is None:
        if issubclass(cls, HTTPException):
            twin = cls
        else:
            namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
            twin = cast("type[ApoJWTError]", type(cls.__name__, (cls, HTTPException), namespace))
        _twins[cls] = twin
    return twin


def as_http(error: ApoJWTError) -> ApoJWTError:
    """``error`` as an instance of its HTTP twin (the same attributes; still an ``ApoJWTError``)."""
    twin = _twin(type(error))
    if type(error) is twin:
        return error
    http_error = Exception.__new__(twin)
    http_error.__dict__.update(error.__dict__)
    http_error.args = error.args
    return http_error


def http_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public method (sync or async) so the ``ApoJWTError`` it raises renders over HTTP."""
    if inspect.iscoroutinefunction(function):
        coroutine_function = cast("Callable[P, Awaitable[Any]]", function)

        @functools.wraps(function)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                return await coroutine_function(*args, **kwargs)
            except ApoJWTError as error:
                raise as_http(error) from None

        return cast("Callable[P, R]", async_wrapper)

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ApoJWTError as error:
            raise as_http(error) from None

    return wrapper

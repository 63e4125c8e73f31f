"""The Flask template: the same guards protect Flask views (``ApoJWT(..., template="flask")``).

Imported only when used, and installed with the ``flask`` extra
(``pip install "fastapi-apojwt[flask]"``). The guard logic is the very same as
on FastAPI: the Flask request is presented to it as a Starlette
``HTTPConnection``, so the token comes from the ``Authorization`` header, the
refresh token (and its CSRF check) from the cookies, and every failure becomes
a JSON response ``{"detail": ...}`` with the RFC 6750 ``WWW-Authenticate``
header, raised with ``flask.abort``.

Example:
    ```python
    from flask import Flask
    from fastapi_apojwt import ApoJWT

    ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="issuer", template="flask")
    app = Flask(__name__)

    @app.get("/orders")
    @ajwt.permission_required("orders:read")
    def orders(token_subject: str):
        return {"for": token_subject}
    ```
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, NoReturn

try:
    import flask
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        'template="flask" needs Flask: pip install "fastapi-apojwt[flask]"',
    ) from missing

from starlette.requests import HTTPConnection

from ._decorate import Items, authenticate_call, authenticate_sync, call_handler, check_order, inject, plan_for
from .errors import ApoJWTError
from .guards import Guard

__all__ = ["call_view", "call_view_async", "decorate_view", "error_response", "request_connection"]


def request_connection() -> HTTPConnection:
    """The current Flask request as a Starlette ``HTTPConnection`` (headers, cookies, query)."""
    request = flask.request
    environ = request.environ
    headers = [
        (name.lower().encode("latin-1", "replace"), value.encode("latin-1", "replace"))
        for name, value in request.headers.items()
    ]
    return HTTPConnection(
        {
            "type": "http",
            "method": request.method,
            "scheme": request.scheme,
            "path": request.path,
            "root_path": request.root_path,
            "query_string": str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace"),
            "headers": headers,
            "client": (request.remote_addr, 0) if request.remote_addr else None,
        }
    )


def error_response(error: ApoJWTError) -> flask.Response:
    """The JSON response for an authentication failure, with its RFC 6750 challenge."""
    response = flask.current_app.response_class(
        json.dumps({"detail": error.detail}),
        status=error.status_code,
        mimetype="application/json",
    )
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


def _abort(error: ApoJWTError) -> NoReturn:
    flask.abort(error_response(error))


def call_view(
    guard: Guard, view: Callable[..., Any], items: Items, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Authenticate the current Flask request with ``guard``, then call the sync ``view``."""
    connection = request_connection()
    try:
        context = authenticate_sync(guard, connection, args, kwargs)
    except ApoJWTError as error:
        _abort(error)
    inject(items, context, kwargs)
    return call_handler(guard, context, view, args, kwargs)


async def call_view_async(
    guard: Guard, view: Callable[..., Any], items: Items, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Authenticate the current Flask request with ``guard``, then await the async ``view``."""
    connection = request_connection()
    try:
        context = await authenticate_call(guard, connection, args, kwargs)
    except ApoJWTError as error:
        _abort(error)
    inject(items, context, kwargs)
    return await view(*args, **kwargs)


def decorate_view(guard: Guard, view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Flask view (sync, or async with Flask's ``async`` extra) with ``guard``."""
    if not callable(view):
        raise TypeError(f"{guard!r} decorates a function, got {type(view).__name__}.")
    guard.check_decoratable()
    check_order(guard, view)
    items: Items = tuple(plan_for(guard, view).items())
    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(*args: Any, **kwargs: Any) -> Any:
            return await call_view_async(guard, view, items, args, kwargs)

        return async_view

    @functools.wraps(view)
    def sync_view(*args: Any, **kwargs: Any) -> Any:
        return call_view(guard, view, items, args, kwargs)

    return sync_view

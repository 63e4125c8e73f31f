"""Signature rewriting and injection for the classic decorators.

Everything is decided once, at decoration time: which parameters the handler
wants injected, whether it is a coroutine function, how the token is found,
and the signature FastAPI will see. The injected parameters are removed from
that signature (so they never show in OpenAPI) and one hidden keyword-only
parameter is added:

* ``Depends(guard)`` when the template finds the token (the common case):
  FastAPI awaits the guard directly, so an ``async def`` handler costs no
  thread-pool hop and ``app.dependency_overrides[guard]`` works;
* ``Depends(<the guard's security scheme>)`` returning the connection when a
  user ``token_finder``/``exception_handler`` must see the handler's arguments
  (apojwt 1.x semantics): the wrapper then authenticates itself.

Called by anything but FastAPI (a Flask view, a direct call) the wrapper
authenticates by itself, from the ambient Flask request when there is one.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextvars
import functools
import inspect
import itertools
import sys
import threading
import types
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, Union, cast, get_args, get_origin
from weakref import WeakKeyDictionary

import anyio.from_thread
from fastapi import Depends, params
from fastapi.security.base import SecurityBase
from pydantic import TypeAdapter
from starlette.requests import HTTPConnection

from .context import RefreshContext, TokenContext
from .errors import ConfigurationError, InvalidClaimError
from .finders import handler_call

if TYPE_CHECKING:
    from .guards import Guard

__all__ = [
    "Injector",
    "authenticate_call",
    "authenticate_sync",
    "check_order",
    "decorate",
    "injections_for",
    "run_sync",
]

T = TypeVar("T")

Injector = Callable[[Any], Any]
"""Turns the guard's context into the value of one injected parameter."""

_HIDDEN_PREFIX = "_apojwt_context"
_counter = itertools.count()
_MISSING: Any = object()
_NoEventLoopError: type[BaseException] = getattr(anyio, "NoEventLoopError", RuntimeError)


# -- what gets injected ------------------------------------------------------------------


def _token_data(ctx: Any) -> Any:
    # Every request's TokenContext owns its claims (the token cache copies them per hit),
    # so the handler may mutate this dict without any other request seeing it.
    return ctx.claims.get("data") or {}


def _token_subject(ctx: Any) -> Any:
    return ctx.sub


def _token_permissions(ctx: Any) -> Any:
    return list(ctx.permissions)


def _refresh_data(ctx: Any) -> Any:
    # RefreshContexts are built per request and never cached: the dict is this request's own.
    return ctx.data


def _identity(ctx: Any) -> Any:
    return ctx


_ACCESS_NAMES: Mapping[str, Injector] = {
    "token_data": _token_data,
    "token_subject": _token_subject,
    "token_permissions": _token_permissions,
}
_REFRESH_NAMES: Mapping[str, Injector] = {"refresh_data": _refresh_data}


def _context_types(annotation: Any, context_type: type) -> list[type]:
    """The subclasses of ``context_type`` named by ``annotation`` (also inside ``X | None``)."""
    if get_origin(annotation) is Annotated:
        return []  # the user wired a dependency of their own
    if get_origin(annotation) in (Union, types.UnionType):
        candidates: Iterable[Any] = get_args(annotation)
    else:
        candidates = (annotation,)
    return [c for c in candidates if isinstance(c, type) and issubclass(c, context_type)]


def _converter(target: type[TokenContext[Any]]) -> Injector:
    """Inject a ``TokenContext[Model]`` whose ``data`` is validated into ``Model``."""
    args = target.__pydantic_generic_metadata__.get("args") or ()
    if not args:
        return _identity
    adapter: TypeAdapter[Any] = TypeAdapter(args[0])

    def convert(ctx: Any) -> Any:
        if isinstance(ctx, target):
            return ctx
        try:
            data = adapter.validate_python(ctx.claims.get("data") or {})
        except Exception:  # a user's validator may raise anything: the token is what is wrong
            raise InvalidClaimError("The token's 'data' claim does not match the expected shape.") from None
        fields = {name: getattr(ctx, name) for name in TokenContext.model_fields if name != "data"}
        converted = target.model_construct(**fields, data=data)
        converted._held = ctx._held
        converted._policy = ctx._policy
        return converted

    return convert


def _signature(function: Callable[..., Any]) -> inspect.Signature:
    """The signature with string annotations (``from __future__ import annotations``) resolved.

    When one annotation cannot be resolved, the others still are, one by one.
    """
    try:
        return inspect.signature(function, eval_str=True)
    except Exception:  # noqa: S110 - fall back to resolving parameter by parameter
        pass
    signature = inspect.signature(function)
    namespace = getattr(inspect.unwrap(function), "__globals__", {})
    parameters = []
    for parameter in signature.parameters.values():
        annotation = parameter.annotation
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, namespace)  # noqa: S307 - the handler's own source annotation
            except Exception:
                annotation = parameter.annotation
        parameters.append(parameter.replace(annotation=annotation))
    return signature.replace(parameters=parameters)


def injections_for(function: Callable[..., Any], *, refresh: bool) -> dict[str, Injector]:
    """Map each parameter the handler wants injected to the function producing its value.

    By name: ``token_data``, ``token_subject``, ``token_permissions`` (access
    guards) or ``refresh_data`` (the refresh guard). By annotation: a parameter
    annotated ``TokenContext`` (``TokenContext[Model]``, ``TokenContext | None``)
    or ``RefreshContext`` receives the context itself, unless its default is a
    FastAPI ``Depends``/``Security`` the user wired.
    """
    names = _REFRESH_NAMES if refresh else _ACCESS_NAMES
    context_type: type = RefreshContext if refresh else TokenContext
    plan: dict[str, Injector] = {}
    for name, parameter in _signature(function).parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if name in names:
            plan[name] = names[name]
            continue
        if isinstance(parameter.default, params.Depends):
            continue
        wanted = _context_types(parameter.annotation, context_type)
        if not wanted:
            continue
        target = wanted[0]
        if refresh or target is TokenContext or not issubclass(target, TokenContext):
            plan[name] = _identity
        else:
            plan[name] = _converter(target)
    return plan


# -- the signature FastAPI sees --------------------------------------------------------------


class _ConnectionScheme(SecurityBase):
    """The guard's security scheme, returning the connection: the wrapper authenticates."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    @property
    def model(self) -> Any:  # type: ignore[override]
        """The guard's OpenAPI security scheme."""
        return self.guard.model

    @property
    def scheme_name(self) -> str:  # type: ignore[override]
        """The guard's OpenAPI security scheme name."""
        return self.guard.scheme_name

    async def __call__(self, connection: HTTPConnection) -> HTTPConnection:
        return connection


_connection_schemes: WeakKeyDictionary[Any, _ConnectionScheme] = WeakKeyDictionary()


def _connection_scheme(guard: Guard) -> _ConnectionScheme:
    scheme = _connection_schemes.get(guard)
    if scheme is None:
        scheme = _connection_schemes[guard] = _ConnectionScheme(guard)
    return scheme


def _visible_signature(function: Callable[..., Any], plan: Mapping[str, Injector], hidden: inspect.Parameter) -> Any:
    signature = inspect.signature(function)
    kept = [p for name, p in signature.parameters.items() if name not in plan]
    var_keyword = [p for p in kept if p.kind is inspect.Parameter.VAR_KEYWORD]
    ordinary = [p for p in kept if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return signature.replace(parameters=[*ordinary, hidden, *var_keyword])


# -- decorator-order mistakes ----------------------------------------------------------------


def _is_ours(module: str) -> bool:
    return module == "fastapi_apojwt" or module.startswith("fastapi_apojwt.")


def _caller_namespaces() -> list[Mapping[str, Any]]:
    """Locals and globals of the first frame outside this package (where the decorator is applied)."""
    frame = sys._getframe(1)
    while frame is not None and _is_ours(str(frame.f_globals.get("__name__", ""))):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return []
    return [frame.f_locals, frame.f_globals]


def _registered_as(function: Callable[..., Any], namespaces: Iterable[Mapping[str, Any]]) -> str | None:
    """The route ``function`` is already the endpoint of, in an app or router these namespaces hold."""
    from fastapi import FastAPI
    from fastapi.routing import APIRouter

    flask = sys.modules.get("flask")
    seen: set[int] = set()
    for namespace in namespaces:
        for value in list(namespace.values()):
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, (FastAPI, APIRouter)):
                for route in value.routes:
                    if getattr(route, "endpoint", None) is function:
                        return str(getattr(route, "path", "?"))
            elif flask is not None and isinstance(value, flask.Flask):
                for endpoint, view in value.view_functions.items():
                    if view is function:
                        return str(endpoint)
    return None


def check_order(guard: Guard, function: Callable[..., Any]) -> None:
    """Refuse a guard placed above the route decorator: the route would stay unprotected."""
    route = _registered_as(function, [*_caller_namespaces(), getattr(function, "__globals__", {})])
    if route is None:
        return
    name = getattr(function, "__name__", "handler")
    raise ConfigurationError(
        f"{guard!r} is placed above the route decorator of {name}() (route {route!r}): the route was "
        "registered before the guard wrapped it, so it would be served unprotected. Put the guard "
        f"below the route decorator:\n\n    @app.get(...)\n    @ajwt.token_required\n    def {name}(...): ..."
    )


# -- running the guard outside FastAPI's dependency system ---------------------------------


class _BackgroundLoop:
    """One event loop in a daemon thread, for synchronous callers outside any loop (Flask).

    Reusing one loop keeps a Redis store's connections alive across requests;
    each coroutine runs in a copy of the caller's context, so ``flask.request``
    and the handler's arguments stay visible to user finders.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="fastapi-apojwt-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
                atexit.register(self.close)
            return self._loop

    def run(self, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        loop = self.loop()
        outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = loop.create_task(factory())  # copies the context start() runs in: the caller's

            def settle(done: asyncio.Task[T]) -> None:
                if done.cancelled():
                    outcome.cancel()
                elif done.exception() is not None:
                    outcome.set_exception(done.exception())
                else:
                    outcome.set_result(done.result())

            task.add_done_callback(settle)

        loop.call_soon_threadsafe(start, context=contextvars.copy_context())
        return outcome.result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not loop.is_running():
            loop.close()


_background = _BackgroundLoop()


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]], *, in_process: bool = False) -> T:
    """Run a coroutine to completion from synchronous code.

    With ``in_process`` (local keys and the memory store) the coroutine never
    really suspends, so it is stepped to completion right here, without any
    event loop. Otherwise (a Redis store, a remote key set) it runs on the
    application's loop when called from a FastAPI worker thread, else on one
    background loop shared by all synchronous callers (Flask views).
    """
    if in_process:
        # Step in a copy of the caller's context, so context variables the guard
        # sets (the refresh rotation) never leak into the caller's thread.
        steps = contextvars.copy_context()
        coroutine = factory()
        try:
            # A bare yield (``asyncio.sleep(0)``) needs no loop: step on. A future does.
            while steps.run(coroutine.send, None) is None:
                pass
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except RuntimeError:
            pass  # "no running event loop": it needs one after all
        else:
            coroutine.close()  # it waits for real I/O after all
    try:
        return anyio.from_thread.run(factory)
    except _NoEventLoopError:
        return _background.run(factory)


def _in_process(guard: Guard) -> bool:
    """Whether authenticating with ``guard`` needs no I/O (memory store, local keys)."""
    from .stores import MemoryStore

    owner = guard._owner
    return isinstance(owner.store, MemoryStore) and owner._key_source is None


def authenticate_sync(
    guard: Guard, connection: HTTPConnection, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Any:
    """:func:`authenticate_call` from synchronous code (a Flask view, a ``def`` handler's thread)."""
    return run_sync(lambda: authenticate_call(guard, connection, args, kwargs), in_process=_in_process(guard))


async def authenticate_call(
    guard: Guard, connection: HTTPConnection, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Any:
    """Authenticate with the handler's arguments visible to the user's finder and handler."""
    reset = handler_call.set((args, kwargs))
    try:
        return await guard.authenticate(connection)
    finally:
        handler_call.reset(reset)


def call_handler(
    guard: Guard, context: Any, function: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Any:
    """Call a sync handler authenticated off the request's own context.

    After a refresh guard used its token up, the handler runs inside
    :func:`~fastapi_apojwt.refresh.rotating`, so ``create_token`` continues the
    family (as it does for async handlers) and nothing leaks past the call.
    """
    from .guards import RefreshGuard
    from .refresh import rotating

    if isinstance(guard, RefreshGuard) and guard.retire:
        with rotating(context):
            return function(*args, **kwargs)
    return function(*args, **kwargs)


def _detached_connection() -> HTTPConnection:
    """A connection with no headers, for calls outside any web framework."""
    return HTTPConnection({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})


def _flask_template() -> Any:
    """``fastapi_apojwt.flask`` if this call happens inside a Flask request, else ``None``."""
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    from . import flask as flask_template

    return flask_template


def _inject(items: tuple[tuple[str, Injector], ...], context: Any, kwargs: dict[str, Any]) -> None:
    for name, inject in items:
        kwargs[name] = inject(context)


def _call_direct(
    guard: Guard,
    function: Callable[..., Any],
    items: tuple[tuple[str, Injector], ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    flask_template = _flask_template()
    if flask_template is not None:
        return flask_template.call_view(guard, function, items, args, kwargs)
    connection = _detached_connection()
    context = authenticate_sync(guard, connection, args, kwargs)
    _inject(items, context, kwargs)
    return call_handler(guard, context, function, args, kwargs)


async def _call_direct_async(
    guard: Guard,
    function: Callable[..., Any],
    items: tuple[tuple[str, Injector], ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    flask_template = _flask_template()
    if flask_template is not None:
        return await flask_template.call_view_async(guard, function, items, args, kwargs)
    context = await authenticate_call(guard, _detached_connection(), args, kwargs)
    _inject(items, context, kwargs)
    return await function(*args, **kwargs)


# -- the decorator ---------------------------------------------------------------------


def _user_functions(guard: Guard) -> bool:
    """Whether a user finder or exception handler must see the handler's arguments."""
    from .guards import RefreshGuard

    owner = guard._owner
    finder = owner.refresh_finder if isinstance(guard, RefreshGuard) else owner.token_finder
    return finder is not None or owner.exception_handler is not None


def _check_template(guard: Guard) -> None:
    from .guards import RefreshGuard

    owner = guard._owner
    if owner.template is not None:
        return
    if isinstance(guard, RefreshGuard):
        if owner.refresh_finder is None:
            raise ConfigurationError(
                "template=None and no refresh_finder: ajwt.refresh cannot find the refresh token. "
                "Pass refresh_finder= to config_refresh(), or use template='fastapi' or 'flask'."
            )
    elif owner.token_finder is None:
        raise ConfigurationError(
            "template=None and no token_finder: the decorator cannot find the access token. "
            "Pass token_finder=lambda *args, **kwargs: ... to ApoJWT(), or use template='fastapi' or 'flask'."
        )


def decorate(guard: Guard, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``function`` so ``guard`` runs first and its results are injected by name."""
    from .guards import RefreshGuard

    if not callable(function):
        raise TypeError(f"{guard!r} decorates a function, got {type(function).__name__}.")
    _check_template(guard)
    check_order(guard, function)
    if guard._owner.template == "flask":
        from .flask import decorate_view

        flask_view: Callable[..., Any] = decorate_view(guard, function)
        return flask_view

    plan = injections_for(function, refresh=isinstance(guard, RefreshGuard))
    items = tuple(plan.items())
    is_async = inspect.iscoroutinefunction(function)
    hidden_name = f"{_HIDDEN_PREFIX}_{next(_counter)}"
    deferred = _user_functions(guard)
    dependency: Any = _connection_scheme(guard) if deferred else guard
    hidden = inspect.Parameter(
        hidden_name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Any, Depends(dependency)]
    )

    wrapper: Callable[..., Any]
    if is_async and not deferred:

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            context = kwargs.pop(hidden_name, _MISSING)
            if context is _MISSING:
                return await _call_direct_async(guard, function, items, args, kwargs)
            _inject(items, context, kwargs)
            return await function(*args, **kwargs)

        wrapper = async_wrapper
    elif is_async:

        @functools.wraps(function)
        async def async_deferred_wrapper(*args: Any, **kwargs: Any) -> Any:
            connection = kwargs.pop(hidden_name, _MISSING)
            if connection is _MISSING:
                return await _call_direct_async(guard, function, items, args, kwargs)
            _inject(items, await authenticate_call(guard, connection, args, kwargs), kwargs)
            return await function(*args, **kwargs)

        wrapper = async_deferred_wrapper
    elif not deferred:

        @functools.wraps(function)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            context = kwargs.pop(hidden_name, _MISSING)
            if context is _MISSING:
                return _call_direct(guard, function, items, args, kwargs)
            _inject(items, context, kwargs)
            return function(*args, **kwargs)

        wrapper = sync_wrapper
    else:

        @functools.wraps(function)
        def sync_deferred_wrapper(*args: Any, **kwargs: Any) -> Any:
            # FastAPI runs this in its one worker thread; verification rarely needs the loop.
            connection = kwargs.pop(hidden_name, _MISSING)
            if connection is _MISSING:
                return _call_direct(guard, function, items, args, kwargs)
            context = authenticate_sync(guard, connection, args, kwargs)
            _inject(items, context, kwargs)
            return call_handler(guard, context, function, args, kwargs)

        wrapper = sync_deferred_wrapper

    cast(Any, wrapper).__signature__ = _visible_signature(function, plan, hidden)
    return wrapper

"""Signature rewriting and injection for the classic decorators (FastAPI template).

Decided once, at decoration time: which parameters the handler wants injected,
whether it is a coroutine function, and the signature FastAPI will see. The
injected parameters are removed from that signature (so they never show in
OpenAPI) and one hidden dependency on the guard is added (so the route shows
the security requirement and FastAPI awaits the guard directly).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, get_origin

from fastapi import Depends

from .context import RefreshContext, TokenContext

if TYPE_CHECKING:
    from .guards import Guard

__all__ = ["decorate", "injections_for"]

_CONTEXT_PARAM = "_apojwt_context"

Injector = Callable[[Any], Any]

_ACCESS_NAMES: dict[str, Injector] = {
    "token_data": lambda ctx: ctx.claims.get("data") or {},
    "token_subject": lambda ctx: ctx.sub,
    "token_permissions": lambda ctx: list(ctx.permissions),
}
_REFRESH_NAMES: dict[str, Injector] = {
    "refresh_data": lambda ctx: ctx.data,
}


def _is_context_annotation(annotation: Any, context_type: type) -> bool:
    if get_origin(annotation) is Annotated:
        return False  # the user wired a dependency of their own
    return isinstance(annotation, type) and issubclass(annotation, context_type)


def injections_for(function: Callable[..., Any], *, refresh: bool) -> dict[str, Injector]:
    """Map each parameter the handler wants injected to the function producing its value."""
    names = _REFRESH_NAMES if refresh else _ACCESS_NAMES
    context_type: type = RefreshContext if refresh else TokenContext
    try:
        hints = inspect.signature(function, eval_str=True).parameters
    except (NameError, TypeError):
        hints = inspect.signature(function).parameters
    plan: dict[str, Injector] = {}
    for name, parameter in hints.items():
        if name in names:
            plan[name] = names[name]
        elif _is_context_annotation(parameter.annotation, context_type):
            plan[name] = _identity
    return plan


def _identity(ctx: Any) -> Any:
    return ctx


def _visible_signature(function: Callable[..., Any], plan: dict[str, Injector], guard: Guard) -> inspect.Signature:
    signature = inspect.signature(function)
    kept = [p for name, p in signature.parameters.items() if name not in plan]
    hidden = inspect.Parameter(
        _CONTEXT_PARAM,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[Any, Depends(guard)],
    )
    var_keyword = [p for p in kept if p.kind is inspect.Parameter.VAR_KEYWORD]
    ordinary = [p for p in kept if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return signature.replace(parameters=[*ordinary, hidden, *var_keyword])


def decorate(guard: Guard, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``function`` so ``guard`` runs first and its results are injected by name."""
    from .guards import RefreshGuard

    plan = injections_for(function, refresh=isinstance(guard, RefreshGuard))
    items = tuple(plan.items())

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            context = kwargs.pop(_CONTEXT_PARAM)
            for name, inject in items:
                kwargs[name] = inject(context)
            return await function(*args, **kwargs)

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(function)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            context = kwargs.pop(_CONTEXT_PARAM)
            for name, inject in items:
                kwargs[name] = inject(context)
            return function(*args, **kwargs)

        wrapper = sync_wrapper

    wrapper.__signature__ = _visible_signature(function, plan, guard)  # type: ignore[attr-defined]
    return wrapper

"""OpenAPI: the shared security scheme objects, and documenting protected operations.

Every guard is a FastAPI ``SecurityBase``, so the security requirement of a
protected route appears in the schema on its own. What a dependency cannot add
by itself is the rest of the story a client developer needs: the 401 and 403
responses, their ``WWW-Authenticate`` challenge and the permissions a route
requires. :func:`document_app` (called by ``ApoJWT.init_app``) adds those when
the schema is generated::

    ajwt = ApoJWT(secret, iss="auth.example.com")
    app = FastAPI()
    ajwt.init_app(app)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import fastapi.routing
from fastapi.routing import APIRoute

from .guards import AccessGuard, Guard, bearer_scheme_model, cookie_scheme_model, location_scheme_name
from .permissions import PermissionPolicy

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.dependencies.models import Dependant

__all__ = [
    "ERROR_SCHEMA_NAME",
    "Documented",
    "bearer_scheme_model",
    "cookie_scheme_model",
    "document_app",
    "document_schema",
]

ERROR_SCHEMA_NAME = "ApoJWTErrorResponse"
"""The name of the shared ``{"detail": str}`` error schema in ``components.schemas``."""

_ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "string"}},
    "required": ["detail"],
    "description": "An authentication or authorization failure; never contains the token.",
}
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
_DESCRIPTION_MARK = "**Authorization:**"
_PERMISSIONS_EXTENSION = "x-permissions"
_OWNERS_ATTRIBUTE = "_apojwt_owners"
_MISSING: Any = object()


class Documented(Protocol):
    """What documenting an instance's operations reads of it (``ApoJWT`` has all of it)."""

    @property
    def policy(self) -> PermissionPolicy:
        """The permission policy (admin permission, wildcards)."""
        ...

    @property
    def token_location(self) -> str | tuple[str, ...]:
        """``"headers"``, ``"cookies"``, or several in the order they are tried."""
        ...

    @property
    def scheme_name(self) -> str:
        """The OpenAPI name of the access-token scheme."""
        ...

    @property
    def refresh_csrf(self) -> bool:
        """Whether refresh requests need the CSRF double submit."""
        ...


# -- finding the guards of a route ---------------------------------------------------------


def _unwrap(call: Any) -> Any:
    """The object FastAPI treats as the dependency: partials and ``__wrapped__`` removed."""
    while isinstance(call, functools.partial):
        call = call.func
    try:
        return inspect.unwrap(call)
    except ValueError:  # a __wrapped__ cycle: use the object as declared
        return call


def _own_scopes(dependant: Dependant) -> list[str]:
    """The scopes a ``Security(..., scopes=[...])`` declared on this node of the tree."""
    own = getattr(dependant, "own_oauth_scopes", _MISSING)
    if own is _MISSING:  # pragma: no cover - FastAPI before 0.123 stored them accumulated
        return list(getattr(dependant, "security_scopes", None) or ())
    return list(own or ())


def _guards(dependant: Dependant) -> Iterator[tuple[Guard, tuple[str, ...]]]:
    """Every guard in a dependant tree with the scopes accumulated down to it, depth first, each pair once."""
    seen: set[tuple[int, tuple[str, ...]]] = set()
    stack: list[tuple[Dependant, tuple[str, ...]]] = [(d, ()) for d in reversed(dependant.dependencies)]
    while stack:
        current, above = stack.pop()
        scopes: tuple[str, ...] = tuple(dict.fromkeys((*above, *_own_scopes(current))))
        call = _unwrap(current.call) if current.call is not None else None
        if isinstance(call, Guard) and (id(call), scopes) not in seen:
            seen.add((id(call), scopes))
            yield call, scopes
        stack.extend((d, scopes) for d in reversed(current.dependencies))


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Every path operation of ``app``, with included routers' prefixes and dependencies applied.

    FastAPI releases that include routers lazily (0.137+) expose them through
    ``iter_route_contexts`` (0.138+); older ones copy the routes into ``app.routes``.
    """
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is not None:  # FastAPI 0.138+
        for context in iter_route_contexts(app.routes):
            if isinstance(context.original_route, APIRoute):
                yield context
        return
    iter_with_context = getattr(fastapi.routing, "_iter_routes_with_context", None)
    if iter_with_context is not None:  # pragma: no cover - FastAPI 0.137
        for route, context in iter_with_context(app.routes):
            if context is not None and isinstance(context.original_route, APIRoute):
                yield context
            elif context is None and isinstance(route, APIRoute):
                yield route
        return
    yield from (route for route in app.routes if isinstance(route, APIRoute))  # pragma: no cover


# -- what one operation needs ------------------------------------------------------------


class _Needs:
    """The merged authorization needs of one operation, for one ApoJWT instance."""

    def __init__(self, scheme_names: list[str]) -> None:
        self.scheme_names = scheme_names
        self.all_of: list[str] = []
        self.any_of_groups: list[list[str]] = []
        self.fresh = False
        self.refresh = False
        self.access = False
        self.optional = True  # only token_optional guards: a request without a token is served too
        self.alternatives: dict[str, tuple[str, Any]] = {}  # primary scheme -> (other location's scheme, model)

    @classmethod
    def of(cls, guards: list[tuple[Guard, tuple[str, ...]]]) -> _Needs:
        needs = cls(list(dict.fromkeys(g.scheme_name for g, _ in guards)))
        for guard, scopes in guards:
            if not isinstance(guard, AccessGuard):
                needs.refresh, needs.optional = True, False
                continue
            needs.access = True
            needs.optional = needs.optional and guard.optional
            needs.fresh = needs.fresh or guard.fresh
            locations = guard.settings.token_locations
            for location in locations[1:]:
                name = location_scheme_name(guard.scheme_name, location, first=False)
                needs.alternatives[guard.scheme_name] = (name, guard.location_model(location))
            needs.all_of.extend(n for n in scopes if n not in needs.all_of)
            names = list(guard.requirement.names)
            if guard.requirement.any_of and len(names) > 1:
                if names not in needs.any_of_groups:
                    needs.any_of_groups.append(names)
            else:
                needs.all_of.extend(n for n in names if n not in needs.all_of)
        return needs

    @property
    def permissions(self) -> list[str]:
        """Every permission name involved, in declaration order, once."""
        names = list(self.all_of)
        for group in self.any_of_groups:
            names.extend(n for n in group if n not in names)
        return names

    def extension(self, admin: str | None) -> dict[str, Any] | None:
        """The ``x-permissions`` value, or ``None`` when only a valid token is needed."""
        if not self.permissions and not self.fresh:
            return None
        value: dict[str, Any] = {}
        if len(self.any_of_groups) == 1 and not self.all_of:
            value["any_of"] = list(self.any_of_groups[0])
        elif self.any_of_groups:
            value["all_of"] = [*self.all_of, *({"any_of": list(g)} for g in self.any_of_groups)]
        elif self.all_of:
            value["all_of"] = list(self.all_of)
        if self.fresh:
            value["fresh"] = True
        if admin is not None and self.permissions:
            value["admin"] = admin
        return value

    def sentence(self, admin: str | None, wildcards: bool) -> str:
        """One line for the operation's description."""
        parts = ["a valid access token"] if self.access else ["a valid refresh token (the refresh cookie)"]
        if self.refresh and self.access:
            parts[0] = "a valid access token and a valid refresh token"
        if self.fresh:
            parts[0] = "a fresh access token (from a login, not a refresh)"
        if self.optional:
            parts[0] = "optionally a valid access token (a request without one is served too; a bad one is a 401)"
        quoted = [("all of " if len(self.all_of) > 1 else "") + ", ".join(f"`{n}`" for n in self.all_of)]
        if not self.all_of:
            quoted = []
        quoted += ["one of " + ", ".join(f"`{n}`" for n in g) for g in self.any_of_groups]
        if quoted:
            parts.append("holding " + "; and ".join(quoted))
        line = f"{_DESCRIPTION_MARK} " + " ".join(parts) + "."
        if quoted and admin is not None:
            line += f" The `{admin}` permission passes every check."
        if quoted and wildcards:
            line += " A granted `prefix:*` covers every permission under `prefix:`."
        return line


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"WWW-Authenticate": _challenge_header()},
        "content": {"application/json": {"schema": dict(_ERROR_REF)}},
    }


def _challenge_header() -> dict[str, Any]:
    return {
        "description": (
            'The RFC 6750 challenge: `Bearer` when no token was sent, `Bearer error="invalid_token", '
            'error_description="..."` for a rejected token, `Bearer error="insufficient_scope", '
            'scope="..."` for a missing permission.'
        ),
        "schema": {"type": "string"},
    }


def _add_response(operation: dict[str, Any], status: str, description: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    existing = responses.get(status)
    if existing is None:
        responses[status] = _error_response(description)
        return
    # The user documented this status themselves: keep theirs, add the challenge header.
    existing.setdefault("headers", {}).setdefault("WWW-Authenticate", _challenge_header())


def _add_scopes(operation: dict[str, Any], needs: _Needs) -> None:
    requirements: list[dict[str, list[str]]] = operation.setdefault("security", [])
    for name in needs.scheme_names:
        entries = [r for r in requirements if name in r]
        if not entries:
            entries = [{name: []}]
            requirements.append(entries[0])
        scopes = entries[0][name]
        # FastAPI releases before 0.124 list the scheme once per guard: one merged entry,
        # or the bare duplicates would document a weaker alternative (the token alone).
        for duplicate in entries[1:]:
            scopes.extend([p for p in duplicate[name] if p not in scopes])
        drop = {id(d) for d in entries[1:] if len(d) == 1}  # by identity: the duplicates compare equal
        requirements[:] = [r for r in requirements if id(r) not in drop]
        scopes.extend(p for p in needs.permissions if p not in scopes)
        alternative = needs.alternatives.get(name)
        if alternative is not None and all(alternative[0] not in r for r in requirements):
            requirements.append({alternative[0]: list(scopes)})  # the same token from the other place
    if needs.optional and {} not in requirements:
        requirements.append({})  # anonymous requests are served too (token_optional)


def _document_operation(operation: dict[str, Any], needs: _Needs, owner: Documented) -> None:
    admin = owner.policy.admin
    what = "access token" if not needs.refresh else "refresh token" if not needs.access else "access or refresh token"
    _add_response(
        operation,
        "401",
        f"Not authenticated: the {what} is missing, malformed, badly signed, expired, "
        "not yet valid, revoked, or meant for another issuer, audience or token type.",
    )
    if needs.permissions:
        _add_response(operation, "403", "The token is valid but lacks a permission this operation requires.")
    if needs.refresh and owner.refresh_csrf:
        _add_response(operation, "403", "CSRF check failed: X-CSRF-Token must carry the CSRF cookie's value.")
    _add_scopes(operation, needs)
    extension = needs.extension(admin)
    if extension is not None:
        operation[_PERMISSIONS_EXTENSION] = extension
    description = operation.get("description") or ""
    if _DESCRIPTION_MARK not in description:
        line = needs.sentence(admin, owner.policy.wildcards)
        operation["description"] = f"{description}\n\n{line}" if description else line


def _password_scheme_name(scheme_name: str) -> str:
    """``OAuth2Password`` for the default bearer scheme, suffixed for other instances."""
    return "OAuth2Password" if scheme_name == "BearerAuth" else f"OAuth2Password_{scheme_name}"


def _password_scheme(token_url: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "type": "oauth2",
        "description": (
            f"Log in with a username and password (an OAuth2 password form posted to {token_url}); "
            "the access token it returns is then sent as a bearer token."
        ),
        "flows": {
            "password": {"tokenUrl": token_url, "scopes": {name: f"The `{name}` permission." for name in scopes}}
        },
    }


def document_schema(
    owner: Documented, app: FastAPI, schema: dict[str, Any], *, token_url: str | None = None
) -> dict[str, Any]:
    """Add responses, scopes and ``x-permissions`` for ``owner``'s guards to ``schema``, in place.

    Idempotent: documenting the same schema twice changes nothing the second time.

    Args:
        owner: The ApoJWT instance whose guards are documented.
        app: The application the schema was generated from.
        schema: The generated OpenAPI document (``app.openapi()``).
        token_url: The login route taking an OAuth2 password form, if any: it is
            offered as an alternative ``oauth2`` password-flow scheme so Swagger
            UI's "Authorize" dialog can log in with a username and password.

    Returns:
        The same ``schema`` object.
    """
    paths: dict[str, Any] = schema.get("paths") or {}
    documented = False
    with_password: list[tuple[dict[str, Any], list[str]]] = []
    alternatives: dict[str, tuple[str, Any]] = {}
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        guards = [(g, scopes) for g, scopes in _guards(route.dependant) if g.instance is owner]
        if not guards:
            continue
        path_item = paths.get(route.path_format)
        if not isinstance(path_item, dict):
            continue
        needs = _Needs.of(guards)
        alternatives.update(needs.alternatives)
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if isinstance(operation, dict):
                _document_operation(operation, needs, owner)
                documented = True
                if needs.access and not needs.refresh:
                    with_password.append((operation, needs.permissions))
    if not documented:
        return schema
    components: dict[str, Any] = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault(ERROR_SCHEMA_NAME, dict(_ERROR_SCHEMA))
    for name, model in alternatives.values():
        dumped = model.model_dump(by_alias=True, exclude_none=True, mode="json")
        components.setdefault("securitySchemes", {}).setdefault(name, dumped)
    if token_url and owner.token_location in ("headers", ("headers", "cookies")) and with_password:
        name = _password_scheme_name(owner.scheme_name)
        scopes = list(dict.fromkeys(p for _, permissions in with_password for p in permissions))
        components.setdefault("securitySchemes", {})[name] = _password_scheme(token_url, scopes)
        for operation, permissions in with_password:
            requirements: list[dict[str, list[str]]] = operation.setdefault("security", [])
            if all(name not in r for r in requirements):
                requirements.append({name: list(permissions)})
    return schema


def document_app(owner: Documented, app: FastAPI, *, token_url: str | None = None) -> None:
    """Make ``app``'s OpenAPI schema document ``owner``'s protected operations.

    The schema is still generated lazily, on first request of ``/openapi.json``
    (or ``app.openapi()``), so routes added after this call are documented too.
    Calling it again for the same instance is harmless (a new ``token_url``
    replaces the old one, none keeps it); each ApoJWT instance documents its
    own guards.

    Args:
        owner: The ApoJWT instance whose guards are documented.
        app: The FastAPI application.
        token_url: See :func:`document_schema`.
    """
    current: Callable[[], dict[str, Any]] = app.openapi
    registered: dict[int, tuple[Documented, str | None]] | None = getattr(current, _OWNERS_ATTRIBUTE, None)
    if registered is not None:
        previous = registered.get(id(owner))
        if token_url is None and previous is not None:
            token_url = previous[1]  # init_app(app) again keeps the token_url given before
        if previous != (owner, token_url):
            registered[id(owner)] = (owner, token_url)
            app.openapi_schema = None  # regenerate with the new documentation
        return
    registered = {id(owner): (owner, token_url)}
    last: list[dict[str, Any]] = []  # the schema documented last (FastAPI caches it)

    def openapi() -> dict[str, Any]:
        schema = current()
        if not last or last[0] is not schema:
            for instance, url in list(registered.values()):
                document_schema(instance, app, schema, token_url=url)
            last[:] = [schema]
        return schema

    setattr(openapi, _OWNERS_ATTRIBUTE, registered)
    app.openapi_schema = None
    app.openapi = openapi  # type: ignore[method-assign]

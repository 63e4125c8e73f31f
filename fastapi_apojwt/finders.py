"""Where tokens come from: the bearer header, cookies, and (WebSockets only) the query string."""

from __future__ import annotations

import hmac
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from ._settings import AccessCookieSettings, AccessSettings, RefreshSettings
from .csrf import check_access_csrf
from .errors import InvalidRequestError, MalformedTokenError, MissingTokenError

__all__ = [
    "AccessTokenFinder",
    "Finder",
    "RefreshTokenFinder",
    "HandlerCall",
    "UserFunction",
    "accepted_subprotocol",
    "bearer_token",
    "cookie_token",
    "handler_call",
    "query_token",
    "subprotocol_token",
    "refresh_finder",
    "user_finder",
    "websocket_token",
]

Finder = Callable[[HTTPConnection], "str | None"]
"""Reads a token from a connection: ``None`` when absent, raises when malformed."""

_MAX_HEADER_BYTES = 16384


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1).

    Returns ``None`` when there is no Authorization header or it uses another
    scheme (answered with a plain ``Bearer`` challenge). Several Authorization
    headers are an ``invalid_request``; an empty or oversized credential is a
    malformed token.
    """
    found: bytes | None = None
    for name, value in connection.scope["headers"]:
        if name == b"authorization":
            if found is not None:
                raise InvalidRequestError("Send exactly one Authorization header.")
            found = value
    if found is None:
        return None
    if len(found) > _MAX_HEADER_BYTES:
        raise MalformedTokenError("The Authorization header is too large.")
    scheme, _, credentials = found.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = credentials.lstrip(" ")
    if not credentials:
        raise MalformedTokenError("The Authorization header has the Bearer scheme but no token.")
    return credentials


def _cookie_count(connection: HTTPConnection, name: str) -> int:
    """How many times the cookie ``name`` appears across the request's Cookie headers."""
    count = 0
    for header, raw in connection.scope["headers"]:
        if header == b"cookie":
            for pair in raw.decode("latin-1").split(";"):
                key, separator, _ = pair.partition("=")
                if separator and key.strip() == name:
                    count += 1
    return count


def cookie_token(name: str) -> Finder:
    """A finder reading the cookie ``name``.

    A cookie sent twice under the same name (cookie tossing: a sibling subdomain
    or a path-scoped cookie planted beside the real one) is an ``invalid_request``
    rather than a silent pick of one of them.
    """

    def find(connection: HTTPConnection) -> str | None:
        try:
            value = connection.cookies.get(name)
        except Exception:
            return None
        if value and _cookie_count(connection, name) > 1:
            raise InvalidRequestError(
                f"The {name} cookie was sent more than once; clear this site's cookies and log in again."
            )
        return value or None

    find.__name__ = f"cookie_token[{name}]"
    return find


def query_token(name: str = "token") -> Finder:
    """A finder reading the query parameter ``name`` (for WebSocket handshakes only)."""

    def find(connection: HTTPConnection) -> str | None:
        if connection.scope.get("type") != "websocket":
            return None
        values: list[Any] = connection.query_params.getlist(name)
        if len(values) > 1:
            raise InvalidRequestError("Send the token query parameter once.")
        return values[0] if values and values[0] else None

    find.__name__ = f"query_token[{name}]"
    return find


# -- WebSocket handshakes ------------------------------------------------------------

DEFAULT_SUBPROTOCOL = "bearer"


def subprotocol_token(marker: str = DEFAULT_SUBPROTOCOL) -> Finder:
    """A finder reading the token offered as a WebSocket subprotocol (browsers only).

    Browsers cannot set headers on ``new WebSocket(url, protocols)``, but they
    can offer subprotocols: ``new WebSocket(url, ["bearer", token])`` sends
    ``Sec-WebSocket-Protocol: bearer, <token>``. The token is the item right
    after ``marker``. The server must then accept with ``subprotocol=marker``
    (see :func:`accepted_subprotocol`), never echoing the token back.
    """

    def find(connection: HTTPConnection) -> str | None:
        if connection.scope.get("type") != "websocket":
            return None
        offered = [str(item).strip() for item in connection.scope.get("subprotocols") or ()]
        if marker not in offered:
            return None
        if offered.count(marker) > 1:
            raise InvalidRequestError("Offer the token subprotocol once.")
        index = offered.index(marker)
        if index + 1 >= len(offered) or not offered[index + 1]:
            raise MalformedTokenError("The token subprotocol is offered without a token after it.")
        return offered[index + 1]

    find.__name__ = f"subprotocol_token[{marker}]"
    return find


def accepted_subprotocol(connection: HTTPConnection, marker: str = DEFAULT_SUBPROTOCOL) -> str | None:
    """The subprotocol to accept a WebSocket with: ``marker`` if the client offered it, else ``None``.

    Example:
        ```python
        await websocket.accept(subprotocol=accepted_subprotocol(websocket))
        ```
    """
    offered = [str(item).strip() for item in connection.scope.get("subprotocols") or ()]
    return marker if marker in offered else None


def websocket_token(
    primary: Finder,
    *,
    query_param: str | None = None,
    subprotocol: str | None = None,
) -> Finder:
    """A finder for HTTP requests and WebSocket handshakes.

    HTTP requests only ever use ``primary`` (the header or cookie). WebSocket
    handshakes try ``primary`` first, then, when opted in, the query parameter
    ``query_param`` and the subprotocol ``subprotocol``.
    """
    extra: list[Finder] = []
    if query_param:
        extra.append(query_token(query_param))
    if subprotocol:
        extra.append(subprotocol_token(subprotocol))
    if not extra:
        return primary

    def find(connection: HTTPConnection) -> str | None:
        token = primary(connection)
        if token is not None or connection.scope.get("type") != "websocket":
            return token
        for finder in extra:
            token = finder(connection)
            if token is not None:
                return token
        return None

    find.__name__ = "websocket_token"
    return find


# -- user-supplied functions (apojwt 1.x semantics) --------------------------------------

HandlerCall = tuple[tuple[Any, ...], Mapping[str, Any]]
"""The positional and keyword arguments a decorated handler was called with."""

handler_call: ContextVar[HandlerCall | None] = ContextVar("apojwt_handler_call", default=None)
"""Set by the classic decorators while they authenticate, so user functions see the handler's arguments."""


class UserFunction:
    """A user's ``token_finder`` or ``exception_handler``, with its signature inspected once.

    apojwt 1.x called these with the decorated handler's ``*args, **kwargs``.
    Here each is called with only the arguments it can take: everything when it
    declares ``*args``/``**kwargs``, otherwise the keyword arguments it names, so
    ``lambda: request.headers[...]`` keeps working on a view with URL parameters.
    """

    def __init__(self, function: Callable[..., Any], *, leading: int = 0) -> None:
        """Inspect ``function``; ``leading`` positional arguments are always passed first."""
        self.function = function
        self.var_positional = False
        self.var_keyword = False
        self.names: frozenset[str] = frozenset()
        self.taken: frozenset[str] = frozenset()
        try:
            parameters = list(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            return
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        skipped = 0
        names: set[str] = set()
        taken: set[str] = set()
        for parameter in parameters:
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                self.var_positional = True
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                self.var_keyword = True
            elif parameter.kind in positional and skipped < leading:
                skipped += 1
                taken.add(parameter.name)
            elif parameter.kind is not inspect.Parameter.POSITIONAL_ONLY:
                names.add(parameter.name)
        self.names = frozenset(names)
        self.taken = frozenset(taken)

    def __call__(self, leading: tuple[Any, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        """Call the function with ``leading`` and whatever of ``args``/``kwargs`` it accepts."""
        passed_args = args if self.var_positional else ()
        if self.var_keyword:
            # never twice: a handler argument named like a leading parameter (``code``) is left out
            passed_kwargs = {name: value for name, value in kwargs.items() if name not in self.taken}
        else:
            passed_kwargs = {name: value for name, value in kwargs.items() if name in self.names}
        return self.function(*leading, *passed_args, **passed_kwargs)


def _raw_authorization(connection: HTTPConnection) -> str | None:
    for name, value in connection.scope.get("headers") or ():
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return None


def user_finder(function: Callable[..., Any]) -> Finder:
    """Adapt an apojwt 1.x style ``(*args, **kwargs) -> str`` finder to a connection finder.

    * On the classic decorator path it receives the handler's arguments, as in apojwt 1.x.
    * On the dependency path (``Depends(guard)``) it receives the keyword arguments
      ``request`` (the Starlette ``Request``/``WebSocket``) and ``authorization``
      (the raw ``Authorization`` header or ``None``), those it names or all with ``**kwargs``.

    A finder that raises, or returns nothing, ``""`` or ``"None"``, means "no token"
    (401); a leading ``Bearer`` is removed if the finder left it.
    """
    call = UserFunction(function)

    def find(connection: HTTPConnection) -> str | None:
        current = handler_call.get()
        try:
            if current is not None:
                found = call((), current[0], current[1])
            else:
                found = call((), (), {"request": connection, "authorization": _raw_authorization(connection)})
        except HTTPException:
            raise
        except Exception:
            return None
        if not isinstance(found, str):
            return None
        if found[:7].lower() == "bearer ":
            found = found[7:]
        found = found.strip()
        if not found or found == "None":
            return None
        return found

    find.__name__ = f"user_finder[{getattr(function, '__name__', 'finder')}]"
    return find


def refresh_finder(finder: Callable[..., Any]) -> Finder:
    """Adapt an apojwt 1.x ``refresh_finder`` (``(*args, **kwargs) -> str``) to read a connection.

    On the classic decorator path the finder first gets the handler's
    arguments, as in apojwt 1.x. Otherwise, decided once: a finder without
    parameters is called as is (it reads a request global, as on Flask); each
    parameter is filled from the connection: ``request``/``connection``/``websocket``
    get the connection, a ``Cookie()``/``Header()`` default reads that cookie or
    header, any other name reads the cookie of that name, and ``**kwargs``
    receives every cookie.
    """
    from fastapi import params

    try:
        parameters = list(inspect.signature(finder).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    plan: list[tuple[str, str, str]] = []  # (parameter, source, key)
    var_keyword = False
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif parameter.name in ("request", "connection", "websocket"):
            plan.append((parameter.name, "connection", ""))
        elif isinstance(parameter.default, params.Header):
            alias = parameter.default.alias or parameter.name.replace("_", "-")
            plan.append((parameter.name, "header", alias))
        elif isinstance(parameter.default, params.Cookie):
            plan.append((parameter.name, "cookie", parameter.default.alias or parameter.name))
        else:
            plan.append((parameter.name, "cookie", parameter.name))

    legacy = user_finder(finder)

    def find(connection: HTTPConnection) -> str | None:
        if handler_call.get() is not None:  # the classic decorator: the handler's arguments, as apojwt 1.x
            token = legacy(connection)
            if token is not None:
                return token
        kwargs: dict[str, Any] = dict(connection.cookies) if var_keyword else {}
        for name, source, key in plan:
            if source == "connection":
                kwargs[name] = connection
            elif source == "header":
                kwargs[name] = connection.headers.get(key)
            else:
                kwargs[name] = connection.cookies.get(key)
        try:
            value = finder(**kwargs)
        except Exception:
            return None  # a finder that cannot find the token means: no token
        return value if isinstance(value, str) and value else None

    return find


def _as_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


class AccessTokenFinder:
    """Finds the access token of a connection; a token from the access cookie is CSRF-checked.

    Decided once from the settings: the places to look in, in order (the bearer
    header, the access cookie: the first that holds a token decides, a bad token
    there is never passed over for the next place), a user ``token_finder``
    instead, and the opt-in WebSocket query parameter or subprotocol.
    """

    def __init__(self, settings: AccessSettings, cookies: AccessCookieSettings, csrf_key: bytes) -> None:
        """Build the finder for ``settings``; ``cookies`` and ``csrf_key`` govern the access cookie."""
        self.settings = settings
        self.cookies = cookies
        self.csrf_key = csrf_key
        locations = settings.token_locations
        # (finder, from the cookie?): True, False, or None to compare with the access cookie (a user finder).
        self._places: tuple[tuple[Finder, bool | None], ...] = tuple(
            (bearer_token, False) if location == "headers" else (cookie_token(cookies.cookie_name), True)
            for location in locations
        )
        if settings.token_finder is not None:
            self._places = ((user_finder(settings.token_finder), None if "cookies" in locations else False),)
        self._extra = websocket_token(
            _nowhere, query_param=settings.websocket_query_param, subprotocol=settings.websocket_subprotocol
        )
        if locations == ("cookies",):
            self._missing = (
                f"Not authenticated: log in first; the access token travels in the {cookies.cookie_name} cookie."
            )
        elif "cookies" in locations:
            self._missing = (
                "Not authenticated: send an access token as 'Authorization: Bearer <token>' "
                f"or in the {cookies.cookie_name} cookie."
            )
        else:
            self._missing = MissingTokenError.message

    def configure(self, cookies: AccessCookieSettings, csrf_key: bytes) -> None:
        """Use new access-cookie settings (``config_access_cookies()``, ``config_refresh()``)."""
        self.cookies = cookies
        self.csrf_key = csrf_key

    def __call__(self, connection: HTTPConnection) -> str:
        """The access token of ``connection``; ``MissingTokenError`` when there is none."""
        for find, from_cookie in self._places:
            token = find(connection)
            if token is not None:
                if from_cookie or (from_cookie is None and connection.cookies.get(self.cookies.cookie_name) == token):
                    check_access_csrf(self.cookies, self.csrf_key, connection, token)
                return token
        token = self._extra(connection)
        if token is None:
            raise MissingTokenError(self._missing)
        return token


def _nowhere(connection: HTTPConnection) -> str | None:
    return None


class RefreshTokenFinder:
    """Finds the refresh token of a connection: the refresh cookie, or the user's ``refresh_finder``."""

    def __init__(self, settings: RefreshSettings) -> None:
        """Build the finder for ``settings``."""
        self.settings = settings
        self._find = (
            refresh_finder(settings.finder) if settings.finder is not None else cookie_token(settings.cookie_name)
        )

    def __call__(self, connection: HTTPConnection) -> tuple[str, bool]:
        """The refresh token of ``connection`` and whether a cookie carried it."""
        settings = self.settings
        token = self._find(connection)
        if token is None:
            hint = ""
            if settings.cookie.secure and connection.url.scheme in ("http", "ws"):
                hint = " Non-browser clients do not send Secure cookies over plain http."
            raise MissingTokenError(
                f"No refresh token: the {settings.cookie_name} cookie is missing (log in first; "
                f"the browser only sends it to paths under {settings.cookie.path}).{hint}"
            )
        try:
            from_cookie = any(hmac.compare_digest(_as_bytes(v), _as_bytes(token)) for v in connection.cookies.values())
        except Exception:
            from_cookie = True
        return token, from_cookie

"""Where tokens come from: the bearer header, cookies, and (WebSockets only) the query string."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import HTTPConnection

from .errors import InvalidRequestError, MalformedTokenError

__all__ = ["Finder", "bearer_token", "cookie_token", "query_token"]

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


def cookie_token(name: str) -> Finder:
    """A finder reading the cookie ``name``."""

    def find(connection: HTTPConnection) -> str | None:
        try:
            value = connection.cookies.get(name)
        except Exception:
            return None
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

"""The CSRF double submit for cookie-held tokens, and the WebSocket ``Origin`` check.

A token cookie is sent by the browser on cross-site requests too, so a request
authenticated by one must prove it comes from this site's own pages: its
``X-CSRF-Token`` header must equal the JS-readable CSRF cookie, and both must
equal an HMAC of the token under a key derived from a token secret, so someone
who can plant cookies cannot choose both halves.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64encode
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from ._settings import AccessCookieSettings, derive_csrf_key
from .errors import CSRFError

__all__ = ["check_access_csrf", "check_csrf", "check_websocket_origin", "csrf_value", "derive_csrf_key"]

# Deny by default: every method but the safe ones (RFC 9110 §9.2.1) needs the CSRF pair.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _as_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def csrf_value(key: bytes, token: str) -> str:
    """The CSRF value bound to ``token``: an HMAC of the token, base64url."""
    digest = hmac.new(key, _as_bytes(token), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_csrf(
    connection: HTTPConnection, *, token: str, key: bytes, cookie_name: str, header_name: str, what: str
) -> None:
    """The double-submit check: header == cookie == HMAC(key, token), in constant time."""
    headers = connection.headers.getlist(header_name)
    if len(headers) != 1 or not headers[0]:
        raise CSRFError(
            f"CSRF check failed: send the value of the {cookie_name} cookie in the {header_name} header "
            f"with this {what} request."
        )
    try:
        cookie = connection.cookies.get(cookie_name)
    except Exception:
        cookie = None
    if not cookie:
        raise CSRFError(f"CSRF check failed: the {cookie_name} cookie is missing; log in again.")
    sent = _as_bytes(headers[0])
    same_as_cookie = hmac.compare_digest(sent, _as_bytes(cookie))
    bound_to_token = hmac.compare_digest(sent, _as_bytes(csrf_value(key, token)))
    if not (same_as_cookie and bound_to_token):
        raise CSRFError(f"CSRF check failed: the {header_name} header does not match the {cookie_name} cookie.")


def check_access_csrf(settings: AccessCookieSettings, key: bytes, connection: HTTPConnection, token: str) -> None:
    """CSRF check for a cookie-held access token on any method but GET, HEAD, OPTIONS and TRACE.

    A WebSocket handshake cannot carry the CSRF header, so there the browser's
    ``Origin`` must be this site (or one of ``allowed_origins``).
    """
    if not settings.csrf:
        return
    kind = connection.scope.get("type")
    if kind == "websocket":
        check_websocket_origin(settings.allowed_origins, connection)
        return
    if kind != "http" or connection.scope.get("method", "GET").upper() in _SAFE_METHODS:
        return
    check_csrf(
        connection,
        token=token,
        key=key,
        cookie_name=settings.csrf_cookie_name,
        header_name=settings.csrf_header_name,
        what="cookie-authenticated",
    )


def check_websocket_origin(allowed_origins: frozenset[str], connection: HTTPConnection) -> None:
    """Refuse a browser's cookie-authenticated WebSocket handshake from another site.

    Browsers send cookies with cross-site WebSocket handshakes and always send
    ``Origin`` with them; a handshake without ``Origin`` is not from a browser.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return
    origin = origin.strip().lower()
    if origin in allowed_origins:
        return
    host = connection.headers.get("host", "").strip().lower()
    if host and urlsplit(origin).netloc == host:
        return
    raise CSRFError(
        "Cross-site WebSocket handshake refused: its Origin is not this site "
        "(add the page's origin to config_access_cookies(allowed_origins=...))."
    )

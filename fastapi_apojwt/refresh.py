"""Refresh tokens, as the package documents them: the implicit refresh of access cookies, and re-exports.

How a refresh works is told in :mod:`fastapi_apojwt.sessions` (redeem, rotate,
revoke) and :mod:`fastapi_apojwt.csrf` (the double submit); the names apojwt
users and the docs import from here are re-exported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .context import TokenContext
from .csrf import csrf_value, derive_csrf_key
from .errors import ConfigurationError
from .sessions import current_rotation, end_rotation, rotating, token_id

if TYPE_CHECKING:
    from .core import ApoJWT

__all__ = [
    "ImplicitRefreshMiddleware",
    "csrf_value",
    "current_rotation",
    "derive_csrf_key",
    "end_rotation",
    "rotating",
    "token_id",
]


class ImplicitRefreshMiddleware:
    """Renew a nearly expired access cookie on the way out of a request.

    Opt-in, for ``ApoJWT(token_location="cookies")`` (or several locations, cookies
    among them: only a token sent as the access cookie is renewed): when a request carries a
    valid, unrevoked access cookie with less than ``within`` seconds left, a
    successful response (status < 400) gets a new access cookie (same subject,
    permissions and data, not fresh) and its CSRF cookie. A response that sets
    or clears the access cookie itself (a login, a logout) is left alone.

    Example:
        ```python
        app.add_middleware(ImplicitRefreshMiddleware, ajwt=ajwt, within=300)
        ```
    """

    def __init__(self, app: ASGIApp, *, ajwt: ApoJWT, within: float = 300) -> None:
        """Wrap ``app``; ``within`` is the remaining lifetime (seconds) below which the cookie is renewed."""
        if "cookies" not in ajwt.settings.token_locations:
            raise ConfigurationError(
                "ImplicitRefreshMiddleware renews access cookies: it needs ApoJWT(token_location='cookies') "
                "or token_location=('headers', 'cookies')."
            )
        if isinstance(within, bool) or not isinstance(within, (int, float)) or within <= 0:
            raise ConfigurationError("within must be a positive number of seconds.")
        self.app = app
        self.ajwt = ajwt
        self.within = float(within)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; renew the access cookie in the response when due."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner = self.ajwt
        context = await self._due(HTTPConnection(scope))
        if context is None:
            await self.app(scope, receive, send)
            return
        cookie_prefix = (owner.settings.access_cookie_name + "=").encode("latin-1")

        async def send_renewed(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                sets_cookie = any(
                    name == b"set-cookie" and value.startswith(cookie_prefix) for name, value in message["headers"]
                )
                if not sets_cookie and await self._still_valid(context):
                    renewed = Response()
                    owner.set_access_cookies(renewed, owner.issuer.reissue(context))
                    headers = MutableHeaders(scope=message)
                    for value in renewed.headers.getlist("set-cookie"):
                        headers.append("set-cookie", value)
            await send(message)

        await self.app(scope, receive, send_renewed)

    async def _due(self, connection: HTTPConnection) -> TokenContext[Any] | None:
        owner = self.ajwt
        try:
            token = connection.cookies.get(owner.settings.access_cookie_name)
            if not token:
                return None
            context = await owner.verify(token)
        except Exception:
            return None  # the route's own guard answers for a bad token
        if context.exp.timestamp() - owner.settings.clock() > self.within:
            return None
        return context

    async def _still_valid(self, context: TokenContext[Any]) -> bool:
        try:
            await self.ajwt.sessions.check(context)
        except Exception:
            return False
        return True

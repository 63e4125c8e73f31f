"""Token cookies: setting and clearing them with their CSRF values, and the current cookie settings."""

from __future__ import annotations

from starlette.responses import Response

from ._settings import AccessCookieSettings
from .cookies import CookieSettings, clear_token_cookies, set_token_cookies
from .csrf import csrf_value
from .errors import ConfigurationError
from .sessions import Sessions

__all__ = ["TokenCookies"]


def _set(
    response: Response,
    name: str,
    token: str,
    cookie: CookieSettings,
    csrf_name: str,
    csrf: str | None,
    lifetime: float,
) -> None:
    """Set a token cookie and, when ``csrf`` is given, its CSRF cookie; both live as long as the token."""
    set_token_cookies(
        response,
        name=name,
        token=token,
        csrf_name=csrf_name if csrf else None,
        csrf_value=csrf,
        settings=cookie,
        max_age=int(lifetime),
    )


class TokenCookies:
    """The access and refresh cookies of one ``ApoJWT``.

    Args:
        access: How access tokens travel in cookies (replaced by :meth:`configure`).
        access_key: The key access-cookie CSRF values derive from.
        exp_period: The access-token lifetime (the access cookie's ``Max-Age``).
        sessions: The refresh side, whose settings govern the refresh cookie.
    """

    def __init__(
        self, access: AccessCookieSettings, access_key: bytes, *, exp_period: float, sessions: Sessions
    ) -> None:
        """Hold the current settings."""
        self.access = access
        self.access_key = access_key
        self.exp_period = exp_period
        self.sessions = sessions

    def configure(self, access: AccessCookieSettings, access_key: bytes) -> None:
        """Use new access-cookie settings (``config_access_cookies()``, ``config_refresh()``)."""
        self.access = access
        self.access_key = access_key

    def csrf_token(self, token: str) -> str:
        """The CSRF value bound to a refresh token, or else to an access token held in a cookie."""
        settings = self.sessions.settings
        if settings is not None and self.sessions.refresh_claims(token) is not None:
            return csrf_value(settings.csrf_key, token)
        return csrf_value(self.access_key, token)

    def set_refresh(self, response: Response, refresh_token: str) -> None:
        """Set the HTTP-only refresh cookie and its JS-readable CSRF cookie."""
        settings = self.sessions.settings
        if settings is None:
            raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
        csrf = csrf_value(settings.csrf_key, refresh_token) if settings.csrf else None
        _set(
            response,
            settings.cookie_name,
            refresh_token,
            settings.cookie,
            settings.csrf_cookie_name,
            csrf,
            settings.exp_period,
        )

    def unset_refresh(self, response: Response) -> None:
        """Clear the refresh cookie and its CSRF cookie (the default names until ``config_refresh()``)."""
        settings = self.sessions.settings
        if settings is None:
            clear_token_cookies(
                response, name="refresh_token", csrf_name="csrf_refresh_token", settings=CookieSettings()
            )
            return
        csrf_name = settings.csrf_cookie_name if settings.csrf else None
        clear_token_cookies(response, name=settings.cookie_name, csrf_name=csrf_name, settings=settings.cookie)

    def set_access(self, response: Response, access_token: str) -> None:
        """Set the HTTP-only access cookie and its JS-readable CSRF cookie."""
        settings = self.access
        csrf = csrf_value(self.access_key, access_token) if settings.csrf else None
        _set(
            response,
            settings.cookie_name,
            access_token,
            settings.cookie,
            settings.csrf_cookie_name,
            csrf,
            self.exp_period,
        )

    def unset_access(self, response: Response) -> None:
        """Clear the access cookie and its CSRF cookie."""
        settings = self.access
        csrf_name = settings.csrf_cookie_name if settings.csrf else None
        clear_token_cookies(response, name=settings.cookie_name, csrf_name=csrf_name, settings=settings.cookie)

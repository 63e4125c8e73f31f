"""Token cookies: their attributes, and setting and clearing them on a response.

A token cookie is always ``HttpOnly`` (scripts never see the token). Its CSRF
companion is readable by scripts on every page of the site (``Path=/``, not
``HttpOnly``) so the page can copy its value into the ``X-CSRF-Token`` header.
Both share ``Secure``, ``SameSite``, ``Domain`` and ``Max-Age``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from starlette.responses import Response

from .errors import ConfigurationError

__all__ = ["CookieSettings", "clear_token_cookies", "set_token_cookies"]

SameSite = Literal["strict", "lax", "none"]

# RFC 6265 cookie-name token characters, and the characters a Path or Domain may not hold.
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_NAME = _COOKIE_NAME
_FORBIDDEN_IN_ATTRIBUTE = re.compile(r"[\x00-\x20;,\x7f]")


@dataclass(frozen=True)
class CookieSettings:
    """The attributes of a token cookie; checked when the settings are built.

    Example:
        ```python
        ajwt.config_refresh(
            refresh_secret,
            cookie=CookieSettings(path="/auth", samesite="strict", domain="example.com"),
        )
        ```

    Args:
        secure: Send the cookie over HTTPS only. Keep it on: browsers also
            accept ``Secure`` cookies from ``http://localhost`` and
            ``http://127.0.0.1``, so development works with it.
        samesite: ``"strict"``, ``"lax"`` or ``"none"``; ``"none"`` requires ``secure``.
        path: The URL path the browser sends the token cookie to. Make it
            cover the routes that read the token, and nothing more.
        domain: The ``Domain`` attribute; ``None`` (the default) keeps the
            cookie on the exact host that set it.
        max_age: Lifetime in seconds; ``None`` means the token's lifetime.
        csrf_path: The path of the JS-readable CSRF cookie (``"/"`` so every page can read it).
    """

    secure: bool = True
    samesite: SameSite = "strict"
    path: str = "/auth"
    domain: str | None = None
    max_age: int | None = None
    csrf_path: str = "/"

    def __post_init__(self) -> None:
        """Reject attribute values a browser would drop or misread."""
        if not isinstance(self.secure, bool):
            raise ConfigurationError("CookieSettings.secure must be True or False.")
        if self.samesite not in ("strict", "lax", "none"):
            raise ConfigurationError("CookieSettings.samesite must be 'strict', 'lax' or 'none'.")
        if self.samesite == "none" and not self.secure:
            raise ConfigurationError("SameSite=None cookies must be Secure (browsers reject them otherwise).")
        for name, path in (("path", self.path), ("csrf_path", self.csrf_path)):
            if not isinstance(path, str) or not path.startswith("/") or _FORBIDDEN_IN_ATTRIBUTE.search(path):
                raise ConfigurationError(f"CookieSettings.{name} must be a URL path starting with '/'.")
        if self.domain is not None and (
            not isinstance(self.domain, str) or not self.domain or _FORBIDDEN_IN_ATTRIBUTE.search(self.domain)
        ):
            raise ConfigurationError("CookieSettings.domain must be a host name, or None for the current host.")
        if self.max_age is not None and (
            isinstance(self.max_age, bool) or not isinstance(self.max_age, int) or self.max_age <= 0
        ):
            raise ConfigurationError("CookieSettings.max_age must be a positive number of seconds, or None.")


def check_cookie_name(what: str, name: str) -> str:
    """Return ``name`` if it is a valid cookie name, else raise ``ConfigurationError``."""
    if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
        raise ConfigurationError(f"{what} must be a valid cookie name, got {name!r}.")
    return name


def check_header_name(what: str, name: str) -> str:
    """Return ``name`` if it is a valid HTTP header name, else raise ``ConfigurationError``."""
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise ConfigurationError(f"{what} must be a valid HTTP header name, got {name!r}.")
    return name


def set_token_cookies(
    response: Response,
    *,
    name: str,
    token: str,
    csrf_name: str | None,
    csrf_value: str | None,
    settings: CookieSettings,
    max_age: int,
) -> None:
    """Set the HttpOnly token cookie and, when given, its JS-readable CSRF cookie."""
    lifetime = settings.max_age if settings.max_age is not None else max(1, int(max_age))
    response.set_cookie(
        name,
        token,
        max_age=lifetime,
        path=settings.path,
        domain=settings.domain,
        secure=settings.secure,
        httponly=True,
        samesite=settings.samesite,
    )
    if csrf_name is not None and csrf_value is not None:
        response.set_cookie(
            csrf_name,
            csrf_value,
            max_age=lifetime,
            path=settings.csrf_path,
            domain=settings.domain,
            secure=settings.secure,
            httponly=False,
            samesite=settings.samesite,
        )


def clear_token_cookies(response: Response, *, name: str, csrf_name: str | None, settings: CookieSettings) -> None:
    """Expire the token cookie and its CSRF cookie (same path and domain as when they were set)."""
    response.delete_cookie(
        name,
        path=settings.path,
        domain=settings.domain,
        secure=settings.secure,
        httponly=True,
        samesite=settings.samesite,
    )
    if csrf_name is not None:
        response.delete_cookie(
            csrf_name,
            path=settings.csrf_path,
            domain=settings.domain,
            secure=settings.secure,
            httponly=False,
            samesite=settings.samesite,
        )

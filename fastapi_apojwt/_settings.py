"""Frozen settings, validated once: access tokens, refresh tokens, access cookies.

``ApoJWT(...)``, ``config_refresh()`` and ``config_access_cookies()`` each build
one of these from their arguments (every check, every message here) and hand
it to the components that need it; nothing is changed afterwards, a new
configuration is a new settings object.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NoReturn, TypeVar, overload

from pydantic import BaseModel

from .claims import PermissionsClaim
from .cookies import CookieSettings, check_cookie_name, check_header_name
from .errors import ConfigurationError

__all__ = [
    "AccessCookieSettings",
    "AccessSettings",
    "RefreshSettings",
    "Template",
    "derive_csrf_key",
    "positive_seconds",
    "setting",
]

Template = Literal["fastapi", "flask"]
TokenLocation = Literal["headers", "cookies"]
_TEMPLATES = ("fastapi", "flask", None)
_LOCATIONS = ("headers", "cookies")
# A verify-only or asymmetric instance has no secret to derive access-cookie CSRF values from.
# The value only binds the double-submit pair to the token, and the token itself is the secret
# a cross-site attacker lacks, so a fixed key is as sound there.
_KEYLESS_CSRF_SECRET = b"fastapi-apojwt access-cookie csrf binding"

T = TypeVar("T")


def positive_seconds(name: str, value: object) -> float:
    """``value`` as a lifetime in seconds (at least 1), or a ``ConfigurationError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value < float("inf"):
        # Tokens carry whole seconds: a lifetime under one second would mint expired tokens.
        raise ConfigurationError(f"{name} must be a positive number of seconds (at least 1), got {value!r}.")
    return float(value)


def derive_csrf_key(secret: bytes, purpose: str) -> bytes:
    """A key for CSRF values, derived from a token secret (every instance derives the same one)."""
    return hmac.new(secret, b"fastapi-apojwt csrf v1 " + purpose.encode(), hashlib.sha256).digest()


def _callable_or_none(name: str, function: object) -> None:
    if function is not None and not callable(function):
        raise ConfigurationError(f"{name} must be callable.")


@dataclass(frozen=True)
class AccessSettings:
    """How access tokens are minted, found and checked (the ``ApoJWT(...)`` arguments)."""

    exp_period: float
    iss: str
    server_audience: tuple[str, ...]
    algorithm: str
    template: Template | None
    async_framework: bool
    token_finder: Callable[..., str] | None
    exception_handler: Callable[..., NoReturn] | None
    data_model: type[BaseModel] | None
    strict: bool
    token_location: TokenLocation | tuple[TokenLocation, ...]
    """As given: one place, or several in the order they are tried."""
    access_cookie_name: str
    scheme_name: str
    clock: Callable[[], float]
    leeway: float
    max_token_bytes: int
    cache_size: int
    websocket_query_param: str | None
    websocket_subprotocol: str | None
    token_locations: tuple[TokenLocation, ...] = ("headers",)
    """Where access tokens are looked for, in order: the first place holding one decides."""
    permissions_claim: PermissionsClaim = field(default_factory=PermissionsClaim)

    @classmethod
    def build(
        cls,
        *,
        exp_period: object,
        iss: object,
        server_audience: Sequence[str] | str,
        algorithm: str,
        template: object,
        async_framework: bool,
        token_finder: Callable[..., str] | None,
        exception_handler: Callable[..., NoReturn] | None,
        data_model: object,
        strict: bool,
        token_location: object,
        access_cookie_name: str,
        scheme_name: str,
        clock: Callable[[], float] = time.time,
        leeway: float = 0,
        max_token_bytes: object = 8192,
        cache_size: object = 4096,
        websocket_query_param: str | None = None,
        websocket_subprotocol: str | None = None,
        permissions_claim: str | Sequence[str] = "perms",
    ) -> AccessSettings:
        """Check every argument; raise ``ConfigurationError`` saying how to fix the first bad one."""
        if template not in _TEMPLATES:
            raise ConfigurationError(f"template must be 'fastapi', 'flask' or None, got {template!r}.")
        if not isinstance(iss, str):
            raise ConfigurationError(f"iss must be a string, got {type(iss).__name__}.")
        audience = [server_audience] if isinstance(server_audience, str) else list(server_audience)
        if not all(isinstance(a, str) and a for a in audience):
            raise ConfigurationError("server_audience must be a list of non-empty strings.")
        if leeway < 0:
            raise ConfigurationError(f"leeway must be >= 0 seconds, got {leeway!r}.")
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int) or max_token_bytes < 1:
            raise ConfigurationError(f"max_token_bytes must be a positive integer, got {max_token_bytes!r}.")
        locations = _token_locations(token_location)
        _callable_or_none("token_finder", token_finder)
        _callable_or_none("exception_handler", exception_handler)
        if data_model is not None and not (isinstance(data_model, type) and issubclass(data_model, BaseModel)):
            raise ConfigurationError(
                f"data_model must be a pydantic BaseModel subclass, got {data_model!r}: "
                "declare the shape of the token's data as `class Data(BaseModel): ...`."
            )
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError(f"cache_size must be an integer >= 0 (0 turns the cache off), got {cache_size!r}.")
        return cls(
            exp_period=positive_seconds("exp_period", exp_period),
            iss=iss,
            server_audience=tuple(audience),
            algorithm=algorithm,
            template=template,  # type: ignore[arg-type]  # checked above
            async_framework=async_framework,
            token_finder=token_finder,
            exception_handler=exception_handler,
            data_model=data_model,
            strict=strict,
            token_location=locations[0] if len(locations) == 1 else locations,
            access_cookie_name=check_cookie_name("access_cookie_name", access_cookie_name),
            scheme_name=scheme_name,
            clock=clock,
            leeway=leeway,
            max_token_bytes=max_token_bytes,
            cache_size=cache_size,
            websocket_query_param=websocket_query_param,
            websocket_subprotocol=websocket_subprotocol,
            token_locations=locations,
            permissions_claim=PermissionsClaim(permissions_claim),
        )


def _token_locations(value: object) -> tuple[TokenLocation, ...]:
    """``token_location`` as a tuple of places: ``"headers"``, ``"cookies"`` or a sequence of them."""
    places = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else [None]
    if not places or any(place not in _LOCATIONS for place in places) or len(set(places)) != len(places):
        raise ConfigurationError(
            f"token_location must be 'headers', 'cookies', or both in the order to try them "
            f"(e.g. ('headers', 'cookies')), each once; got {value!r}."
        )
    return tuple(places)  # checked above


@dataclass(frozen=True)
class RefreshSettings:
    """How refresh tokens travel and are checked (the ``config_refresh()`` arguments)."""

    exp_period: float
    finder: Callable[..., str] | None
    cookie_name: str
    cookie: CookieSettings
    csrf: bool
    csrf_cookie_name: str
    csrf_header_name: str
    csrf_key: bytes = field(repr=False)
    scheme_name: str = "RefreshCookie"

    @classmethod
    def build(
        cls,
        *,
        refresh_exp_period: object,
        refresh_finder: Callable[..., str] | None,
        cookie_name: str,
        cookie: CookieSettings | None,
        csrf: bool,
        csrf_cookie_name: str,
        csrf_header_name: str,
        secret: bytes,
        access_exp_period: float,
    ) -> RefreshSettings:
        """Check every argument; ``secret`` is the refresh signing secret CSRF values derive from."""
        lifetime = positive_seconds("refresh_exp_period", refresh_exp_period)
        if lifetime < access_exp_period:
            raise ConfigurationError(
                f"refresh_exp_period ({lifetime:g} s) is shorter than exp_period ({access_exp_period:g} s), so a "
                "session would end before its first access token: make refresh tokens live longer (e.g. a day)."
            )
        _callable_or_none("refresh_finder", refresh_finder)
        if cookie is not None and not isinstance(cookie, CookieSettings):
            raise ConfigurationError("cookie must be a CookieSettings.")
        check_cookie_name("cookie_name", cookie_name)
        check_cookie_name("csrf_cookie_name", csrf_cookie_name)
        check_header_name("csrf_header_name", csrf_header_name)
        if csrf_cookie_name == cookie_name:
            raise ConfigurationError("csrf_cookie_name must differ from cookie_name.")
        return cls(
            exp_period=lifetime,
            finder=refresh_finder,
            cookie_name=cookie_name,
            cookie=cookie if cookie is not None else CookieSettings(),
            csrf=bool(csrf),
            csrf_cookie_name=csrf_cookie_name,
            csrf_header_name=csrf_header_name,
            csrf_key=derive_csrf_key(secret, "refresh"),
        )


@dataclass(frozen=True)
class AccessCookieSettings:
    """How access tokens travel in cookies (the ``config_access_cookies()`` arguments)."""

    cookie_name: str = "access_token"
    cookie: CookieSettings = field(default_factory=lambda: CookieSettings(path="/", samesite="lax"))
    csrf: bool = True
    csrf_cookie_name: str = "csrf_access_token"
    csrf_header_name: str = "X-CSRF-Token"
    csrf_secret: bytes | None = field(default=None, repr=False)
    allowed_origins: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        cookie_name: str,
        cookie: CookieSettings | None,
        csrf: bool,
        csrf_cookie_name: str,
        csrf_header_name: str,
        csrf_secret: str | bytes | None,
        allowed_origins: Iterable[str] | str,
    ) -> AccessCookieSettings:
        """Check every argument; raise ``ConfigurationError`` saying how to fix the first bad one."""
        if cookie is not None and not isinstance(cookie, CookieSettings):
            raise ConfigurationError("cookie must be a CookieSettings.")
        check_cookie_name("csrf_cookie_name", csrf_cookie_name)
        if csrf_cookie_name == cookie_name:
            raise ConfigurationError("csrf_cookie_name must differ from the access cookie name.")
        raw: bytes | None = None
        if csrf_secret is not None:
            raw = csrf_secret.encode() if isinstance(csrf_secret, str) else csrf_secret
            if not isinstance(raw, bytes) or len(raw) < 32:
                raise ConfigurationError("csrf_secret must be at least 32 bytes.")
        origins = [allowed_origins] if isinstance(allowed_origins, str) else list(allowed_origins)
        for origin in origins:
            if not isinstance(origin, str) or not origin.startswith(("https://", "http://")) or origin.endswith("/"):
                raise ConfigurationError(
                    f"allowed_origins entries are origins like 'https://app.example.com' (scheme and host, "
                    f"no path), got {origin!r}."
                )
        return cls(
            cookie_name=cookie_name,
            cookie=cookie if cookie is not None else CookieSettings(path="/", samesite="lax"),
            csrf=bool(csrf),
            csrf_cookie_name=csrf_cookie_name,
            csrf_header_name=csrf_header_name,
            csrf_secret=raw,
            allowed_origins=frozenset(origin.lower() for origin in origins),
        )

    def csrf_key(self, *secrets: object) -> bytes:
        """The key CSRF values derive from: ``csrf_secret``, else the first byte-string token secret given."""
        secret = self.csrf_secret
        if secret is None:
            secret = next((s for s in secrets if isinstance(s, bytes) and s), _KEYLESS_CSRF_SECRET)
        return derive_csrf_key(secret, "access")


class setting(Generic[T]):
    """A read-only attribute of ``ApoJWT`` that reads one field of its current settings.

    ``source`` names the instance attribute holding the settings object (dotted: an attribute of one).
    """

    def __init__(self, source: str, name: str, doc: str, *, default: Any = None) -> None:
        """Read ``getattr(instance, source).name`` (``default`` while that settings object is ``None``)."""
        self.source = source
        self.name = name
        self.default = default
        self.__doc__ = doc

    @overload
    def __get__(self, instance: None, owner: type) -> setting[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> setting[T] | T:
        if instance is None:
            return self
        settings: Any = instance
        for name in self.source.split("."):
            settings = getattr(settings, name)
        if settings is None:
            return self.default  # type: ignore[no-any-return]
        return getattr(settings, self.name)  # type: ignore[no-any-return]

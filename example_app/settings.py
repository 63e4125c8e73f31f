"""Settings of the example service, read from the environment once at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


def _secure_cookies_default() -> bool:
    explicit = os.environ.get("APOJWT_SECURE_COOKIES")
    if explicit is not None:
        return explicit != "0"
    return os.environ.get("APOJWT_ISSUER", "http://127.0.0.1:8000").startswith("https://")


@dataclass(frozen=True)
class Settings:
    """Environment-driven configuration with safe defaults."""

    secret: str = field(default_factory=lambda: os.environ.get("APOJWT_SECRET") or secrets.token_urlsafe(48))
    refresh_secret: str = field(
        default_factory=lambda: os.environ.get("APOJWT_REFRESH_SECRET") or secrets.token_urlsafe(48)
    )
    redis_url: str | None = field(default_factory=lambda: os.environ.get("APOJWT_REDIS_URL") or None)
    # Revocation checks answered from a local mirror of Redis's records (docs: "the mirror"); 0: ask Redis.
    redis_mirror: bool = field(default_factory=lambda: os.environ.get("APOJWT_REDIS_MIRROR", "1") != "0")
    issuer: str = field(default_factory=lambda: os.environ.get("APOJWT_ISSUER", "http://127.0.0.1:8000"))
    audience: str = field(default_factory=lambda: os.environ.get("APOJWT_AUDIENCE", "http://127.0.0.1:8000"))
    access_lifetime: int = field(default_factory=lambda: int(os.environ.get("APOJWT_ACCESS_LIFETIME", "900")))
    refresh_lifetime: int = field(default_factory=lambda: int(os.environ.get("APOJWT_REFRESH_LIFETIME", "86400")))
    # Secure cookies by default: browsers accept them from http://127.0.0.1 and http://localhost too.
    # Secure cookies when the service's own URL is https. The demo is served on plain
    # http://127.0.0.1, where curl, httpx and requests withhold Secure cookies, so
    # there it defaults to off; APOJWT_SECURE_COOKIES=1/0 decides explicitly.
    secure_cookies: bool = field(default_factory=lambda: _secure_cookies_default())
    # The CSRF double submit for the refresh cookie; APOJWT_CSRF=0 turns it off.
    csrf: bool = field(default_factory=lambda: os.environ.get("APOJWT_CSRF", "1") != "0")
    # Signing: HS256 with APOJWT_SECRET by default; or a key pair (see example_app/keys.py).
    algorithm: str = field(default_factory=lambda: os.environ.get("APOJWT_ALGORITHM") or "HS256")
    private_key_file: str | None = field(default_factory=lambda: os.environ.get("APOJWT_PRIVATE_KEY_FILE") or None)
    previous_key_files: tuple[str, ...] = field(
        default_factory=lambda: tuple(p for p in os.environ.get("APOJWT_PREVIOUS_KEY_FILES", "").split(os.pathsep) if p)
    )


ADMIN_PERMISSION = "admin"

# username -> (password, permissions). A real service keeps salted password hashes.
USERS: dict[str, tuple[str, list[str]]] = {
    "alice": ("alice-password", ["orders:read"]),
    "bob": ("bob-password", ["orders:read", "orders:write"]),
    "root": ("root-password", [ADMIN_PERMISSION]),
}

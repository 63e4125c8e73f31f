"""Settings of the example service, read from the environment once at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    """Environment-driven configuration with safe defaults."""

    secret: str = field(default_factory=lambda: os.environ.get("APOJWT_SECRET") or secrets.token_urlsafe(48))
    refresh_secret: str = field(
        default_factory=lambda: os.environ.get("APOJWT_REFRESH_SECRET") or secrets.token_urlsafe(48)
    )
    redis_url: str | None = field(default_factory=lambda: os.environ.get("APOJWT_REDIS_URL") or None)
    issuer: str = field(default_factory=lambda: os.environ.get("APOJWT_ISSUER", "http://127.0.0.1:8000"))
    audience: str = field(default_factory=lambda: os.environ.get("APOJWT_AUDIENCE", "http://127.0.0.1:8000"))
    access_lifetime: int = field(default_factory=lambda: int(os.environ.get("APOJWT_ACCESS_LIFETIME", "900")))
    refresh_lifetime: int = field(default_factory=lambda: int(os.environ.get("APOJWT_REFRESH_LIFETIME", "86400")))
    secure_cookies: bool = field(default_factory=lambda: os.environ.get("APOJWT_SECURE_COOKIES", "0") == "1")


ADMIN_PERMISSION = "admin"

# username -> (password, permissions). A real service keeps salted password hashes.
USERS: dict[str, tuple[str, list[str]]] = {
    "alice": ("alice-password", ["orders:read"]),
    "bob": ("bob-password", ["orders:read", "orders:write"]),
    "root": ("root-password", [ADMIN_PERMISSION]),
}

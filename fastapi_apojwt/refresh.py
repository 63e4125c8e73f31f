"""Refresh tokens: finding them, CSRF, rotation with reuse detection, families."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection

from .context import RefreshContext
from .errors import ConfigurationError, MissingTokenError, RevokedTokenError, TokenReuseError
from .finders import cookie_token

if TYPE_CHECKING:
    from .core import ApoJWT

__all__ = ["refresh_context"]


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


async def refresh_context(owner: ApoJWT, connection: HTTPConnection) -> RefreshContext:
    """Find, verify and retire the refresh token of ``connection``."""
    if owner.refresh_codec is None:
        raise ConfigurationError("Refresh tokens are not configured: call config_refresh() first.")
    token = cookie_token(owner.refresh_cookie_name)(connection)
    if token is None:
        raise MissingTokenError("No refresh token: the refresh cookie is missing.")
    claims: dict[str, Any] = owner.refresh_codec.verify(token, "refresh")
    jti, family, sub = claims.get("jti"), claims.get("fam"), claims.get("sub", "")
    if await owner.store.is_revoked(jti=jti, sub=sub, issued_at=claims["iat"], family=family):
        raise RevokedTokenError
    if jti is not None and family is not None:
        ttl = max(1.0, claims["exp"] - owner.clock())
        if not await owner.store.use_refresh_token(jti, family=family, ttl=ttl):
            await owner.store.revoke_family(family, ttl=owner.refresh_exp_period)
            raise TokenReuseError
    return RefreshContext(
        sub=sub,
        data=claims.get("data") or {},
        exp=_utc(claims["exp"]),
        iat=_utc(claims["iat"]),
        jti=jti,
        family=family,
        claims=claims,
        token=token,
    )

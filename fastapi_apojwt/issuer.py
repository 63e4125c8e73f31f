"""Minting: access tokens, and with refresh configured, access/refresh pairs of a family."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from .context import RefreshContext, TokenContext
from .sessions import Sessions, current_rotation, end_rotation
from .tokens import ACCESS, TokenCodec, new_jti

__all__ = ["Issuer"]


class Issuer:
    """Mints the tokens of one ``ApoJWT``: ``create_token``, ``rotate`` and the implicit refresh.

    Args:
        codec: The access-token codec (its signing key mints).
        sessions: The refresh side: refresh tokens are minted when it is configured.
        exp_period: The access-token lifetime in seconds.
    """

    def __init__(self, codec: TokenCodec, sessions: Sessions, *, exp_period: float) -> None:
        """Hold the parts."""
        self.codec = codec
        self.sessions = sessions
        self.exp_period = exp_period

    def create_token(
        self,
        sub: str = "",
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        fresh: bool | None = None,
        family: str | None = None,
    ) -> str | tuple[str, str]:
        """See :meth:`ApoJWT.create_token`."""
        rotation = current_rotation()
        if rotation is not None:
            end_rotation()  # one pair per refresh; nothing carries over to a later login
            if fresh is None:
                fresh = False
            if family is None and rotation.sub == str(sub):
                family = rotation.family
        fresh = True if fresh is None else bool(fresh)
        if isinstance(permissions, str):
            raise TypeError("permissions must be a list of strings, not a single string.")
        perms = list(permissions)
        if not all(isinstance(p, str) for p in perms):
            raise TypeError("permissions must be a list of strings.")
        payload_data: Any = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        claims = self.codec.base_claims(self.exp_period)
        claims.update(sub=str(sub), perms=perms, data=payload_data, type=ACCESS, fresh=fresh)
        if self.sessions.codec is None:
            return self.codec.encode(claims)
        family = family or new_jti()
        claims["fam"] = family  # so revoking the family (logout, replay) also stops its access tokens
        access = self.codec.encode(claims)
        refresh = self.sessions.mint_refresh(str(sub), dict(refresh_data or {}), family=family, issued_at=claims["iat"])
        return access, refresh

    def rotate(
        self,
        context: RefreshContext,
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """See :meth:`ApoJWT.rotate`."""
        pair = self.create_token(
            sub=context.sub,
            permissions=permissions,
            data=data,
            refresh_data=context.data if refresh_data is None else refresh_data,
            fresh=False,
            family=context.family,
        )
        assert isinstance(pair, tuple)  # noqa: S101 - refresh is configured (checked by the caller)
        return pair

    def reissue(self, context: TokenContext[Any]) -> str:
        """A new access token with the claims of ``context`` (not fresh), for the implicit refresh."""
        claims = self.codec.base_claims(self.exp_period)
        for name in ("sub", "perms", "data", "fam"):
            if name in context.claims:
                claims[name] = context.claims[name]
        claims.update(type=ACCESS, fresh=False)
        return self.codec.encode(claims)

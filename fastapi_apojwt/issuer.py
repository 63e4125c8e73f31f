"""Minting: access tokens, and with refresh configured, access/refresh pairs of a family.

A login (a ``create_token`` outside a refresh) starts a session: its tokens
carry ``auth_time`` = a tick of ``Sessions.tick`` and, with refresh tokens, a
new family recorded in the store's session index. Inside a refresh handler,
every ``create_token`` for the rotated subject continues the family and its
``auth_time`` (not fresh); one for another subject starts that subject's own
session and leaves the rotation as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from .context import RefreshContext, TokenContext
from .sessions import Sessions, current_rotation, session_start
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
        continues: Mapping[str, Any] | None = None,
    ) -> str | tuple[str, str]:
        """See :meth:`ApoJWT.create_token`; ``continues``: the claims of the token whose session ``family`` is."""
        rotation = current_rotation()
        if rotation is not None and fresh is None:
            fresh = False
        auth_time: float | None = None
        if continues is not None:
            auth_time = session_start(continues)
        elif rotation is not None and rotation.sub == str(sub) and family in (None, rotation.family):
            # Every pair minted for the rotated subject stays in its family and session (a first mint does
            # not use the rotation up): a second one must not escape replay detection as a new login.
            family = rotation.family
            auth_time = session_start(rotation.claims)
        fresh = True if fresh is None else bool(fresh)
        if isinstance(permissions, str):
            raise TypeError("permissions must be a list of strings, not a single string.")
        perms = list(permissions)
        if not all(isinstance(p, str) for p in perms):
            raise TypeError("permissions must be a list of strings.")
        payload_data: Any = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        started = auth_time is None
        if auth_time is None:
            auth_time = self.sessions.tick()  # a login: the session starts now
        claims = self.codec.base_claims(self.exp_period)
        claims.update(sub=str(sub), perms=perms, data=payload_data, type=ACCESS, fresh=fresh, auth_time=auth_time)
        if self.sessions.codec is None:
            return self.codec.encode(claims)
        new_family = family is None
        family = family or new_jti()
        claims["fam"] = family  # so revoking the family (logout, replay) also stops its access tokens
        access = self.codec.encode(claims)
        refresh = self.sessions.mint_refresh(
            str(sub), dict(refresh_data or {}), family=family, issued_at=claims["iat"], auth_time=auth_time
        )
        if started and new_family:
            self.sessions.record_login(str(sub), family, created_at=auth_time)
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
            continues=context.claims,
        )
        assert isinstance(pair, tuple)  # noqa: S101 - refresh is configured (checked by the caller)
        return pair

    def reissue(self, context: TokenContext[Any]) -> str:
        """A new access token with the claims of ``context`` (not fresh), for the implicit refresh."""
        claims = self.codec.base_claims(self.exp_period)
        for name in ("sub", "perms", "data", "fam", "auth_time"):
            if name in context.claims:
                claims[name] = context.claims[name]
        claims.update(type=ACCESS, fresh=False)
        return self.codec.encode(claims)

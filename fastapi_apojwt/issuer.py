"""Minting: access tokens, and with refresh configured, access/refresh pairs of a family.

A login (a ``create_token`` outside a refresh) starts a session: its tokens
carry ``auth_time`` = a tick of ``Sessions.tick`` and, with refresh tokens, a
new family recorded in the store's session index. Inside a refresh handler,
every ``create_token`` for the rotated subject continues the family and its
``auth_time`` (not fresh); one for another subject starts that subject's own
session and leaves the rotation as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from pydantic import BaseModel

from .context import RefreshContext, TokenContext
from .errors import ConfigurationError
from .sessions import Sessions, current_rotation, session_start
from .tokens import ACCESS, TokenCodec, new_jti

__all__ = ["RESERVED_CLAIMS", "Issuer", "extra_claims"]

RESERVED_CLAIMS: Final = frozenset(
    # the wire format (apojwt 1.x and RFC 7519), then this package's own: the token type, its
    # freshness, the refresh family, and `typ`, which other issuers use for the token type
    {"sub", "perms", "data", "exp", "nbf", "iat", "iss", "aud", "jti", "type", "fresh", "fam", "typ", "auth_time"}
)
# What the implicit refresh copies into the renewed token besides the extra claims: the session stays the same.
_CARRIED: Final = frozenset({"sub", "perms", "data", "fam", "auth_time"})


def extra_claims(claims: Mapping[str, Any] | None) -> dict[str, Any]:
    """``create_token(claims=...)`` checked: string names, none reserved, JSON values (a copy).

    Raises:
        ConfigurationError: a reserved or non-string name, or a value JSON cannot carry.
    """
    if not claims:
        return {}
    if not isinstance(claims, Mapping):
        raise ConfigurationError(
            f"claims must be a mapping of claim names to JSON values, got {type(claims).__name__}."
        )
    extra = dict(claims)
    for name in extra:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"Claim names must be non-empty strings, got {name!r}.")
        if name in RESERVED_CLAIMS:
            raise ConfigurationError(
                f"claims={{{name!r}: ...}}: {name!r} is a claim this package writes itself "
                f"(reserved: {', '.join(sorted(RESERVED_CLAIMS))}). Use sub=, permissions= or data=, "
                "or choose another name."
            )
    try:
        copied: dict[str, Any] = json.loads(json.dumps(extra, allow_nan=False))  # a deep copy of what is signed
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"claims values must be JSON (str, number, bool, None, list, dict): {error}") from None
    return copied


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
        claims: Mapping[str, Any] | None = None,
        continues: Mapping[str, Any] | None = None,
        with_refresh: bool = True,
    ) -> str | tuple[str, str]:
        """See :meth:`ApoJWT.create_token`; ``continues``: the claims of the token whose session ``family`` is.

        ``with_refresh=False`` mints the access token alone (no refresh token, no family).
        """
        extra = extra_claims(claims)  # before anything else: a refused claim mints nothing
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
        payload = self.codec.base_claims(self.exp_period)
        payload.update(extra)
        payload.update(sub=str(sub), perms=perms, data=payload_data, type=ACCESS, fresh=fresh, auth_time=auth_time)
        if self.sessions.codec is None or not with_refresh:
            return self.codec.encode(payload)
        new_family = family is None
        family = family or new_jti()
        payload["fam"] = family  # so revoking the family (logout, replay) also stops its access tokens
        access = self.codec.encode(payload)
        refresh = self.sessions.mint_refresh(
            str(sub), dict(refresh_data or {}), family=family, issued_at=payload["iat"], auth_time=auth_time
        )
        if started and new_family:
            self.sessions.record_login(str(sub), family, created_at=auth_time)
        return access, refresh

    def create_token_pair(
        self,
        sub: str = "",
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        fresh: bool | None = None,
        family: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """``create_token`` typed for an instance with refresh tokens: always ``(access, refresh)``."""
        if self.sessions.codec is None:
            raise ConfigurationError(
                "create_token_pair() needs refresh tokens: call config_refresh() first, "
                "or mint the access token alone with create_access_token()."
            )
        pair = self.create_token(sub, permissions, data, refresh_data, fresh=fresh, family=family, claims=claims)
        assert isinstance(pair, tuple)  # noqa: S101 - refresh is configured
        return pair

    def create_access_token(
        self,
        sub: str = "",
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        *,
        fresh: bool | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An access token alone, typed ``str`` (with refresh configured too: no refresh token, no family)."""
        token = self.create_token(sub, permissions, data, fresh=fresh, claims=claims, with_refresh=False)
        assert isinstance(token, str)  # noqa: S101 - with_refresh=False mints one token
        return token

    def rotate(
        self,
        context: RefreshContext,
        permissions: Iterable[str] = (),
        data: Mapping[str, Any] | BaseModel | None = None,
        refresh_data: Mapping[str, Any] | None = None,
        *,
        claims: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """See :meth:`ApoJWT.rotate`."""
        pair = self.create_token(
            claims=claims,
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
        """A new access token with the claims of ``context`` (not fresh), for the implicit refresh.

        The subject, permissions, data, family and the extra ``claims=`` carry over; the registered
        claims (times, issuer, audience, id) are new.
        """
        claims = self.codec.base_claims(self.exp_period)
        for name, value in context.claims.items():
            if name in _CARRIED or name not in RESERVED_CLAIMS:
                claims[name] = value
        claims.update(type=ACCESS, fresh=False)
        return self.codec.encode(claims)

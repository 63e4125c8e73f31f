"""Where a token's permissions come from: ``ApoJWT(permissions_claim=...)``.

Tokens minted here (and by apojwt 1.x) carry them in ``perms``, a list of
strings. Other issuers put them elsewhere: OAuth2's ``scope`` and Entra ID's
``scp`` (space-separated strings), Auth0's ``permissions`` (a list), Entra ID's
``roles``, Keycloak's ``realm_access.roles`` and ``resource_access.<client>.roles``
(lists inside objects). One setting names any of them:

* a claim name (``"scope"``), or a dotted path into nested objects
  (``"resource_access.orders-api.roles"``); a claim whose own name holds dots
  (Auth0's namespaced ``"https://example.com/roles"``) is found under that name
  first;
* or a sequence of those: the permissions are their union, in order, without
  duplicates.

Read once per verification (the verified-token cache keeps the result): a
string is split on spaces, a list of strings is taken as it is, a missing claim
gives no permissions, anything else (a number, an object, a list holding a
non-string, ``null``) makes the token invalid (401).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .errors import ConfigurationError, InvalidClaimError

__all__ = ["DEFAULT_PERMISSIONS_CLAIM", "PermissionsClaim"]

DEFAULT_PERMISSIONS_CLAIM: Final = "perms"
"""The claim of apojwt 1.x and of every token minted here."""


class PermissionsClaim:
    """The claim paths permissions are read from, checked once at start-up.

    Example:
        ```python
        claim = PermissionsClaim(["realm_access.roles", "scope"])
        claim.read({"realm_access": {"roles": ["admin"]}, "scope": "openid orders:read"})
        # ('admin', 'openid', 'orders:read')
        ```
    """

    __slots__ = ("is_default", "names", "paths")

    def __init__(self, spec: str | Sequence[str] = DEFAULT_PERMISSIONS_CLAIM) -> None:
        """Check ``spec``: non-empty strings, each a claim name or a dotted path without empty segments.

        Raises:
            ConfigurationError: ``spec`` is not a name, a dotted path or a non-empty sequence of them.
        """
        names = [spec] if isinstance(spec, str) else spec
        if isinstance(names, (bytes, Mapping)) or not isinstance(names, Sequence) or not names:
            raise ConfigurationError(
                'permissions_claim must be a claim name, a dotted path ("realm_access.roles") '
                f"or a non-empty list of them, got {spec!r}."
            )
        paths: list[tuple[str, tuple[str, ...]]] = []
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise ConfigurationError(f"permissions_claim entries must be non-empty strings, got {name!r}.")
            segments = tuple(name.split("."))
            if not all(segments):
                raise ConfigurationError(
                    f"permissions_claim {name!r} has an empty path segment: write a claim name or a dotted "
                    'path such as "resource_access.orders-api.roles".'
                )
            if name not in (known for known, _ in paths):
                paths.append((name, segments))
        self.names: tuple[str, ...] = tuple(name for name, _ in paths)
        """The configured claim names and paths, as given (duplicates dropped)."""
        self.paths: tuple[tuple[str, tuple[str, ...]], ...] = tuple(paths)
        self.is_default: bool = self.names == (DEFAULT_PERMISSIONS_CLAIM,)
        """Whether this is apojwt 1.x's ``perms`` (whose shape rules then apply unchanged)."""

    def __repr__(self) -> str:
        return f"PermissionsClaim({list(self.names)!r})"

    def read(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        """The permissions ``claims`` grant: the union of every configured claim, in order.

        Raises:
            InvalidClaimError: a configured claim is present with another shape than a string or
                a list of strings (or a path runs through something that is not an object).
        """
        found: dict[str, None] = {}
        for name, segments in self.paths:
            value = _lookup(claims, name, segments)
            if value is None:
                continue
            if type(value) is str:
                found.update(dict.fromkeys(part for part in value.split(" ") if part))
            elif isinstance(value, list) and all(type(item) is str for item in value):
                found.update(dict.fromkeys(value))
            else:
                raise InvalidClaimError(
                    f"The token's {name!r} claim is not a space-separated string or a list of strings."
                )
        return tuple(found)


_MISSING: Final = object()


def _lookup(claims: Mapping[str, Any], name: str, segments: tuple[str, ...]) -> Any:
    """The value at ``name`` (a claim of that very name first, then the dotted path); ``None`` if absent."""
    value: Any = claims.get(name, _MISSING)
    if value is not _MISSING:
        return _present(value, name)
    if len(segments) == 1:
        return None
    value = claims
    for depth, segment in enumerate(segments):
        if not isinstance(value, dict):
            where = ".".join(segments[:depth])
            raise InvalidClaimError(f"The token's {where!r} claim is not an object.")
        value = value.get(segment, _MISSING)
        if value is _MISSING:
            return None
    return _present(value, name)


def _present(value: Any, name: str) -> Any:
    if value is None:  # present but null: a wrong shape, not an absent claim
        raise InvalidClaimError(f"The token's {name!r} claim is null.")
    return value

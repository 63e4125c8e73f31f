"""Permission matching: exact names, the admin permission, opt-in hierarchical wildcards."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from .errors import ConfigurationError

__all__ = ["PermissionPolicy", "Requirement"]

# RFC 6750 scope-token characters: permissions appear in the WWW-Authenticate scope.
_PERMISSION_NAME = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")


def check_permission_name(name: object) -> str:
    """Return ``name`` if it can be a permission, else raise ``ConfigurationError``."""
    if not isinstance(name, str) or not _PERMISSION_NAME.fullmatch(name):
        raise ConfigurationError(
            f"Invalid permission name {name!r}: use printable ASCII without spaces, quotes or backslashes "
            "(e.g. 'orders:read')."
        )
    return name


class PermissionPolicy:
    """How a token's permissions are matched against what a route requires.

    With ``wildcards=True`` a granted ``orders:*`` covers ``orders:read`` and
    ``orders:read:own`` (whole ``:``-separated segments only, never a prefix or
    substring match; a lone ``*`` grants nothing).
    """

    __slots__ = ("admin", "separator", "wildcards")

    def __init__(self, *, admin: str | None, wildcards: bool = False, separator: str = ":") -> None:
        """Configure the policy; ``admin`` is the permission that passes every check."""
        self.admin = check_permission_name(admin) if admin is not None else None
        self.wildcards = wildcards
        self.separator = separator

    def granting(self, permission: str) -> frozenset[str]:
        """Every held permission that would grant ``permission``."""
        names = {permission}
        if self.admin is not None:
            names.add(self.admin)
        if self.wildcards:
            segments = permission.split(self.separator)
            for depth in range(1, len(segments)):
                names.add(self.separator.join(segments[:depth]) + self.separator + "*")
        return frozenset(names)

    def is_admin(self, held: Collection[str]) -> bool:
        """Whether ``held`` contains the admin permission."""
        return self.admin is not None and self.admin in held

    def grants(self, held: Collection[str], permission: str) -> bool:
        """Whether permissions ``held`` grant ``permission``."""
        held_set = held if isinstance(held, (set, frozenset)) else frozenset(held)
        return not self.granting(permission).isdisjoint(held_set)

    def requirement(self, permissions: Iterable[str], *, any_of: bool) -> Requirement:
        """Precompute the check for a guard, once, at start-up."""
        names = tuple(check_permission_name(p) for p in permissions)
        return Requirement(names, tuple(self.granting(p) for p in names), any_of=any_of)


class Requirement:
    """A guard's precomputed permission check."""

    __slots__ = ("_single", "any_of", "granting", "names")

    def __init__(self, names: tuple[str, ...], granting: tuple[frozenset[str], ...], *, any_of: bool) -> None:
        """Hold the required names and, for each, the set of permissions that grant it."""
        self.names = names
        self.granting = granting
        self.any_of = any_of
        # The common case, one permission per route, checked without a generator.
        self._single = granting[0] if len(granting) == 1 else None

    def satisfied_by(self, held: frozenset[str]) -> bool:
        """Whether a token holding ``held`` meets this requirement."""
        single = self._single
        if single is not None:
            return not single.isdisjoint(held)
        if not self.names:
            return True
        if self.any_of:
            return any(not g.isdisjoint(held) for g in self.granting)
        return all(not g.isdisjoint(held) for g in self.granting)

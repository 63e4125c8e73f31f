"""The Redis store's key layout: every key hash-tagged, so each atomic step stays in one cluster slot.

Imports nothing from redis-py: the layout is plain string work.
"""

from __future__ import annotations

import hashlib

__all__ = ["KeyLayout"]


def _tag(value: str) -> str:
    """A hash tag's content: fixed length, hex only, whatever ``value`` holds (braces, nothing)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class KeyLayout:
    """The store's key names: each hash-tagged so every atomic step stays in one cluster slot.

    The tag's content is a hash of the subject, family or jti (a raw value with braces, or an
    empty one, would break the tag): a family's keys share a slot, and so do a subject's.
    """

    def __init__(self, prefix: str) -> None:
        """Name keys under ``prefix``."""
        self.prefix = prefix

    def token(self, jti: str) -> str:
        """A revoked token."""
        return f"{self.prefix}t:{{{_tag(jti)}}}"

    def family(self, family: str) -> str:
        """A revoked family."""
        return f"{self.prefix}f:{{F{_tag(family)}}}"

    def used(self, family: str, jti: str) -> str:
        """A used refresh token, in its family's slot."""
        return f"{self.prefix}u:{{F{_tag(family)}}}:{jti}"

    def subject(self, sub: str) -> str:
        """A subject's cut-off."""
        return f"{self.prefix}s:{{S{_tag(sub)}}}"

    def sessions(self, sub: str) -> tuple[str, str]:
        """A subject's session index and its expiry order, in the subject's slot."""
        tag = _tag(sub)
        return f"{self.prefix}i:{{S{tag}}}", f"{self.prefix}x:{{S{tag}}}"

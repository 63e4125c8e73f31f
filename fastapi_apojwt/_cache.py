"""The verified-token cache: a bounded LRU of access tokens that passed verification.

A real client sends the same access token on every request until it expires,
so the work of verifying it (base64url, HMAC or a public-key signature, JSON,
claim checks) need not be redone each time. The cache is keyed by the exact
token string and changes nothing about what is accepted:

* only successes are stored, so a flood of bogus tokens never touches it; it
  holds at most ``cache_size`` entries, the least recently used leaving first;
* expiry, not-before and issued-at are rechecked against the clock on every
  hit; an entry outside its window is dropped and the token verified again
  from scratch, which raises exactly the error an uncached check would;
* an entry is tied to the key set that verified it: when the keys change
  (rotation, a JWKS refetch) every older entry misses;
* revocation is not cached: the guards ask the store on every request.

A hit never hands out an object another request has seen: the context is a
new ``TokenContext`` whose ``claims`` and ``data`` are fresh copies. Everything
shared between hits is immutable (strings, numbers, tuples, frozensets, aware
datetimes); the mutable claim values are copied from a private template (a
shallow copy per list or flat object, or a JSON round trip for deeper data).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from .context import TokenContext
from .errors import InvalidClaimError
from .tokens import Claims

__all__ = ["TokenCache", "VerifiedToken"]

_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
# The fields the fast constructor fills; any other TokenContext shape takes model_construct.
_FIELDS: Final = (
    "sub",
    "permissions",
    "data",
    "iss",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "fresh",
    "claims",
    "token",
    "admin",
)
_FIELDS_SET: Final = set(_FIELDS)
_fast_classes: dict[type, bool] = {}
_new = object.__new__
_set = object.__setattr__


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def _copy_plan(claims: Claims) -> tuple[str, ...] | None:
    """The claims whose values need a shallow copy per hit; ``None`` if any value is nested deeper."""
    mutable: list[str] = []
    for name, value in claims.items():
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is list:
            items = value
        elif kind is dict:
            items = value.values()
        else:
            return None
        if not _SCALARS.issuperset(map(type, items)):
            return None
        mutable.append(name)
    return tuple(mutable)


def _is_fast(cls: type[TokenContext[Any]]) -> bool:
    fast = _fast_classes.get(cls)
    if fast is None:
        fast = _fast_classes[cls] = set(cls.model_fields) == set(_FIELDS)
    return fast


class VerifiedToken:
    """What verification established about one token, kept to rebuild its context cheaply."""

    __slots__ = (
        "_data_model",
        "_deep",
        "_fast",
        "_fields",
        "_held",
        "_plan",
        "_policy",
        "_template",
        "cls",
        "exp",
        "keys",
        "start",
    )

    def __init__(
        self,
        claims: Claims,
        *,
        keys: object,
        cls: type[TokenContext[Any]],
        policy: Any,
        data_model: type[BaseModel] | None,
    ) -> None:
        """Take the verified ``claims`` (kept private from now on) and precompute the immutable fields."""
        perms: list[str] = claims["perms"]
        held = frozenset(perms)
        aud = claims.get("aud")
        nbf = claims.get("nbf")
        iat = claims["iat"]
        issued = _utc(iat)
        self.keys = keys
        self.cls = cls
        self._fast = _is_fast(cls)
        self.exp: float = claims["exp"]
        self.start: float = iat if nbf is None or nbf < iat else nbf
        self._held = held
        self._policy = policy
        self._data_model = data_model
        self._template = claims
        self._plan = _copy_plan(claims)
        self._deep = json.dumps(claims) if self._plan is None else ""
        self._fields: dict[str, Any] = {
            "sub": claims["sub"],
            "permissions": tuple(perms),
            "data": None,
            "iss": claims.get("iss", ""),
            "aud": (aud,) if isinstance(aud, str) else tuple(aud or ()),
            "iat": issued,
            "nbf": None if nbf is None else issued if nbf == iat else _utc(nbf),
            "exp": _utc(self.exp),
            "jti": claims.get("jti"),
            "fresh": claims.get("fresh") is True,
            "claims": None,
            "token": "",
            "admin": policy.is_admin(held),
        }

    def valid_at(self, now: float, leeway: float) -> bool:
        """Whether the token's time window (exp, nbf, iat) still admits ``now``; the same tests as the codec."""
        return not (now - leeway >= self.exp) and not (self.start > now + leeway)

    def claims(self) -> Claims:
        """A private copy of the verified claims: nothing in it is shared with another caller."""
        plan = self._plan
        if plan is None:
            copied: Claims = json.loads(self._deep)
            return copied
        template = self._template
        claims = template.copy()
        for name in plan:
            claims[name] = template[name].copy()
        return claims

    def context(self, token: str) -> TokenContext[Any]:
        """A new ``TokenContext`` for ``token``, with its own ``claims`` and ``data``.

        Raises:
            InvalidClaimError: ``data`` does not fit the configured ``data_model``.
        """
        plan = self._plan
        if plan is None:
            claims: Claims = json.loads(self._deep)
        else:
            template = self._template
            claims = template.copy()
            for name in plan:
                claims[name] = template[name].copy()
        data: Any = claims.get("data") or {}
        if self._data_model is not None:
            try:
                data = self._data_model.model_validate(data)
            except ValidationError:
                raise InvalidClaimError("The token's 'data' claim does not match the expected shape.") from None
        values = self._fields.copy()
        values["data"] = data
        values["claims"] = claims
        values["token"] = token
        cls = self.cls
        if self._fast:
            # What model_construct does, minus its generic per-field loop: every field is given.
            context = _new(cls)
            _set(context, "__dict__", values)
            _set(context, "__pydantic_fields_set__", _FIELDS_SET.copy())
            _set(context, "__pydantic_extra__", None)
            _set(context, "__pydantic_private__", {"_held": self._held, "_policy": self._policy})
            return context
        context = cls.model_construct(**values)
        context._held = self._held
        context._policy = self._policy
        return context


class TokenCache:
    """A bounded, thread-safe LRU map from token string to :class:`VerifiedToken`."""

    __slots__ = ("_entries", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        """Hold at most ``maxsize`` entries (``maxsize`` > 0)."""
        self.maxsize = maxsize
        self._entries: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> VerifiedToken | None:
        """The entry for ``token``, marked as recently used, or ``None``."""
        entries = self._entries
        entry = entries.get(token)
        if entry is not None:
            try:
                entries.move_to_end(token)
            except KeyError:  # evicted by another thread meanwhile: still a valid answer
                pass
        return entry

    def put(self, token: str, entry: VerifiedToken) -> None:
        """Remember ``entry``, evicting the least recently used entries beyond the bound."""
        with self._lock:
            entries = self._entries
            entries[token] = entry
            entries.move_to_end(token)
            while len(entries) > self.maxsize:
                entries.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget ``token`` if present."""
        with self._lock:
            self._entries.pop(token, None)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

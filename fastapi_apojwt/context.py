"""Typed, immutable views of a verified token: ``TokenContext`` and ``RefreshContext``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from typing_extensions import TypeVar

from .permissions import PermissionPolicy, Requirement

__all__ = ["DataT", "RefreshContext", "TokenContext", "retyped"]

DataT = TypeVar("DataT", default=dict[str, Any])


class TokenContext(BaseModel, Generic[DataT]):
    """A verified access token.

    Declare the shape of ``data`` with your own model
    (``ApoJWT(..., data_model=User)``) and annotate ``TokenContext[User]`` to get
    ``ctx.data`` typed and validated once.

    Example:
        ```python
        @app.get("/me")
        async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]):
            return {"sub": ctx.sub, "admin": ctx.has_permission("admin")}
        ```
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    sub: str
    """The subject: who the token was issued to."""
    permissions: tuple[str, ...]
    """The permissions granted by the token (the ``perms`` claim, or the configured ``permissions_claim``)."""
    data: DataT
    """The application data carried in the ``data`` claim."""
    iss: str
    """The issuer."""
    aud: tuple[str, ...]
    """The audiences the token is intended for."""
    iat: datetime
    """When the token was issued (aware, UTC)."""
    nbf: datetime | None
    """When the token becomes valid (aware, UTC), if set."""
    exp: datetime
    """When the token expires (aware, UTC)."""
    jti: str | None
    """The unique token id; ``None`` for tokens minted by apojwt 1.x."""
    fresh: bool = False
    """Whether the token was minted by a login rather than by a refresh."""
    claims: Mapping[str, Any] = Field(repr=False)
    """Every claim of the token, as verified."""
    token: str = Field(repr=False, exclude=True)
    """The raw token. Never log it; left out of ``model_dump()`` and of responses."""
    admin: bool = False
    """Whether the token holds the configured admin permission."""

    _held: frozenset[str] = PrivateAttr(default=frozenset())
    _policy: Any = PrivateAttr(default=None)

    def has_permission(self, permission: str) -> bool:
        """Tell whether the token grants ``permission`` (the admin permission grants all).

        Example:
            ```python
            if ctx.has_permission("orders:write"): ...
            ```
        """
        private = self.__pydantic_private__ or {}  # not `self._policy`: pydantic's __getattr__ costs ~1 us
        policy: PermissionPolicy | None = private.get("_policy")
        if policy is not None:
            return policy.grants(private["_held"], permission)
        return self.admin or permission in self.permissions

    def satisfies(self, requirement: Requirement) -> bool:
        """Tell whether the token meets a guard's permission ``requirement`` (the admin permission meets all)."""
        if self.admin or not requirement.names:
            return True
        private = self.__pydantic_private__ or {}
        return requirement.satisfied_by(private.get("_held") or frozenset(self.permissions))


def retyped(context: TokenContext[Any], cls: type[TokenContext[Any]], data: Any) -> TokenContext[Any]:
    """``context`` as an instance of ``cls`` (a ``TokenContext[Model]``) whose ``data`` is ``data``."""
    fields = {name: getattr(context, name) for name in TokenContext.model_fields if name != "data"}
    converted = cls.model_construct(**fields, data=data)
    object.__setattr__(converted, "__pydantic_private__", dict(context.__pydantic_private__ or {}))
    return converted


class RefreshContext(BaseModel):
    """A verified refresh token.

    Example:
        ```python
        @app.post("/refresh")
        async def refresh(ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]):
            return {"sub": ctx.sub, "data": ctx.data}
        ```
    """

    model_config = ConfigDict(frozen=True)

    sub: str
    """The subject the refresh token belongs to ("" for apojwt 1.x tokens)."""
    data: dict[str, Any]
    """The ``refresh_data`` given to ``create_token``."""
    exp: datetime
    """When the refresh token expires (aware, UTC)."""
    iat: datetime
    """When it was issued (aware, UTC)."""
    jti: str | None
    """The unique id of this refresh token."""
    family: str | None
    """The rotation family (one per login) this token belongs to."""
    claims: Mapping[str, Any] = Field(repr=False)
    """Every claim of the token, as verified."""
    token: str = Field(repr=False, exclude=True)
    """The raw refresh token. Never log it; left out of ``model_dump()`` and of responses."""

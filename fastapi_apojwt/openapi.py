"""The OpenAPI security scheme models shared by every guard of an ApoJWT instance."""

from __future__ import annotations

from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBearer

__all__ = ["bearer_scheme_model", "cookie_scheme_model"]


def bearer_scheme_model(description: str | None = None) -> HTTPBearer:
    """The ``http``/``bearer`` scheme that drives Swagger UI's Authorize button."""
    return HTTPBearer(bearerFormat="JWT", description=description)


def cookie_scheme_model(cookie_name: str, description: str | None = None) -> APIKey:
    """An ``apiKey``-in-cookie scheme for tokens read from a cookie."""
    return APIKey(**{"in": APIKeyIn.cookie}, name=cookie_name, description=description)

"""Publishing this service's public keys: a router serving ``GET /.well-known/jwks.json``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from .errors import ConfigurationError
from .jwks import WELL_KNOWN_PATH, render_jwks
from .keys import HMAC_ALGORITHMS

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["jwks_router"]


def jwks_router(
    source: Callable[[], Mapping[str, Any]],
    *,
    path: str = WELL_KNOWN_PATH,
    max_age: int = 300,
    include_in_schema: bool = False,
    algorithm: str | None = None,
) -> APIRouter:
    """A router serving ``GET path`` with the JWK set ``source()`` returns.

    ``algorithm`` (the signing algorithm) refuses to publish for a shared HMAC secret.

    The answer carries ``Cache-Control: public, max-age=<max_age>`` and an
    ``ETag``; a matching ``If-None-Match`` gets ``304 Not Modified``.

    Example:
        ```python
        app.include_router(jwks_router(ajwt.jwks))  # or simply ajwt.jwks_router()
        ```
    """
    from fastapi import APIRouter

    if algorithm in HMAC_ALGORITHMS:
        raise ConfigurationError(
            f"jwks_router(): this instance uses {algorithm}, a shared secret that must never be "
            "published. Sign with a key pair (algorithm='RS256', 'ES256', 'EdDSA'...) to publish a JWK set."
        )
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ConfigurationError(f"max_age must be a whole number of seconds >= 0, got {max_age!r}.")
    if not path.startswith("/"):
        raise ConfigurationError(f"path must start with '/', got {path!r}.")
    cache_control = f"public, max-age={max_age}"
    router = APIRouter()

    async def jwks_document(request: Request) -> Response:
        body, etag = render_jwks(source())
        headers = {"Cache-Control": cache_control, "ETag": etag}
        candidates = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
        if etag in candidates or f"W/{etag}" in candidates:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    router.add_api_route(
        path,
        jwks_document,
        methods=["GET"],
        include_in_schema=include_in_schema,
        summary="Public keys that verify this service's tokens (JWK set)",
        tags=["keys"],
    )
    return router

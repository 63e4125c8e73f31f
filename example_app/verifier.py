"""A second service that verifies the example issuer's tokens through its JWKS only.

It holds no secret and no key: it fetches the issuer's public keys from
``APOJWT_JWKS_URL`` (default ``http://127.0.0.1:8000/.well-known/jwks.json``)
the first time a request needs them, caches them, and refetches when a token
names a key it does not know yet (the issuer rotated). Run the issuer with a
key pair, then this service beside it::

    APOJWT_ALGORITHM=EdDSA uvicorn example_app.main:app --port 8000
    uvicorn example_app.verifier:app --port 8001

Tuning, in seconds: ``APOJWT_JWKS_CACHE_TTL`` (300), ``APOJWT_JWKS_REFETCH_INTERVAL``
(30) and ``APOJWT_JWKS_RETRY_INTERVAL`` (2).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, JWKSOptions, TokenContext

from .keys import env_float
from .settings import ADMIN_PERMISSION, Settings

settings = Settings()
JWKS_URL = os.environ.get("APOJWT_JWKS_URL") or "http://127.0.0.1:8000/.well-known/jwks.json"

ajwt = ApoJWT(
    jwks_url=JWKS_URL,  # verify-only: create_token() raises SigningUnavailableError here
    iss=settings.issuer,
    server_audience=[settings.audience],
    admin_permission=ADMIN_PERMISSION,
    jwks_options=JWKSOptions(
        cache_ttl=env_float("APOJWT_JWKS_CACHE_TTL", 300),
        refetch_interval=env_float("APOJWT_JWKS_REFETCH_INTERVAL", 30),
        retry_interval=env_float("APOJWT_JWKS_RETRY_INTERVAL", 2),
    ),
)

app = FastAPI(title="fastapi-apojwt example verifier")
ajwt.init_app(app)


@app.get("/me", tags=["profile"])
async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
    """The caller, as the issuer's token says."""
    return {"sub": ctx.sub, "permissions": list(ctx.permissions)}


@app.get("/orders", tags=["orders"])
async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, Any]:
    """Needs ``orders:read``."""
    return {"orders": [], "for": ctx.sub}


@app.get("/health", tags=["ops"])
async def health() -> dict[str, Any]:
    """Liveness, and which keys this verifier currently trusts (public information)."""
    return {"status": "ok", "keys": [key["kid"] for key in ajwt.jwks()["keys"]]}

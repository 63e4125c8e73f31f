import os
from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ISSUER = os.environ.get("KEYCLOAK_ISSUER", "https://sso.example.com/realms/shop")

ajwt = ApoJWT(
    iss=ISSUER,  # exactly as the realm writes it into its tokens
    server_audience=["orders-api"],  # added to "aud" by an audience mapper
    oidc_discovery=True,  # keys from ISSUER/.well-known/openid-configuration
    algorithm="RS256",
    permissions_claim=["realm_access.roles", "resource_access.orders-api.roles", "scope"],
)
app = FastAPI()


@app.get("/orders")
async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]):
    return {"user": ctx.claims["preferred_username"], "permissions": ctx.permissions}


@app.post("/orders")
async def new_order(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write"))]):
    return {"created_by": ctx.sub}

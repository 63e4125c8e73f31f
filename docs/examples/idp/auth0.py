import os
from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ISSUER = os.environ.get("AUTH0_ISSUER", "https://shop.eu.auth0.com/")  # with its trailing slash

ajwt = ApoJWT(
    iss=ISSUER,
    server_audience=["https://orders.example.com"],  # the API's identifier in Auth0
    oidc_discovery=True,
    algorithm="RS256",
    permissions_claim="permissions",  # RBAC: "Add Permissions in the Access Token"
)
app = FastAPI()


@app.get("/orders")
async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]):
    return {"sub": ctx.sub, "permissions": ctx.permissions}


@app.post("/orders")
async def new_order(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write"))]):
    return {"created_by": ctx.sub}

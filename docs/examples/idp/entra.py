import os
from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

TENANT = os.environ.get("ENTRA_TENANT", "9188040d-6c67-4c5b-b112-36a304b66dad")
ISSUER = os.environ.get("ENTRA_ISSUER", f"https://login.microsoftonline.com/{TENANT}/v2.0")

ajwt = ApoJWT(
    iss=ISSUER,  # v2.0 tokens: set "requestedAccessTokenVersion": 2 in the API's manifest
    server_audience=["api://orders-api"],  # the API's Application ID URI
    oidc_discovery=True,
    algorithm="RS256",  # Entra ID's keys carry no "alg": name it here
    permissions_claim=["scp", "roles"],  # delegated scopes and app roles
)
app = FastAPI()


@app.get("/orders")
async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("Orders.Read", "Orders.Read.All", any_of=True))]):
    return {"tenant": ctx.claims["tid"], "sub": ctx.sub, "permissions": ctx.permissions}


@app.get("/admin")
async def admin(ctx: Annotated[TokenContext, Depends(ajwt.permission("Orders.Admin"))]):
    return {"admin": ctx.claims["oid"]}

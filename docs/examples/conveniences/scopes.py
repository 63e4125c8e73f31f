from typing import Annotated

from fastapi import FastAPI, Security

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    admin_permission="admin",
)
app = FastAPI()
ajwt.init_app(app)


@app.post("/orders")
async def create_order(
    ctx: Annotated[TokenContext, Security(ajwt.token_required, scopes=["orders:write"])],
) -> dict[str, str]:
    return {"for": ctx.sub}


async def order_reader(ctx: Annotated[TokenContext, Security(ajwt.permission("orders:read"))]) -> str:
    return ctx.sub


@app.get("/orders/export")
async def export_orders(sub: Annotated[str, Security(order_reader, scopes=["orders:export"])]) -> dict[str, str]:
    # Scopes accumulate down the tree: this route needs orders:read AND orders:export.
    return {"for": sub}

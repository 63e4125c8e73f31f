from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    admin_permission="admin",
)

app = FastAPI()


@app.get("/me")
async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
    return {"sub": ctx.sub, "permissions": list(ctx.permissions)}


@app.get("/orders/{order_id}")
def read_order(
    order_id: int,
    ctx: Annotated[TokenContext, Depends(ajwt.permission_required("orders:read"))],
    verbose: bool = False,
) -> dict[str, Any]:
    return {"id": order_id, "team": ctx.data.get("team"), "verbose": verbose}

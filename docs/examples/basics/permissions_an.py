from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    admin_permission="admin",
)

app = FastAPI()


@app.get("/orders")
async def list_orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, str]:
    return {"reader": ctx.sub}


@app.delete("/orders/{order_id}")
async def delete_order(
    order_id: int,
    ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read", "orders:delete"))],
) -> dict[str, object]:
    return {"deleted": order_id, "by": ctx.sub}


@app.get("/reports")
async def reports(
    ctx: Annotated[TokenContext, Depends(ajwt.permission("reports:read", "auditor", any_of=True))],
) -> dict[str, object]:
    return {"full": ctx.has_permission("reports:read")}


admin = APIRouter(prefix="/admin", dependencies=[Depends(ajwt.permission("admin"))])


@admin.get("/stats")
async def stats() -> dict[str, int]:
    return {"users": 3}


app.include_router(admin)

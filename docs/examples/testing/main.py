from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")

app = FastAPI()


@app.get("/orders")
async def list_orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, Any]:
    return {"reader": ctx.sub, "team": ctx.data.get("team")}


@app.post("/orders")
@ajwt.permission_required("orders:write")
async def create_order(order: dict[str, Any], token_subject: str) -> dict[str, Any]:
    return {**order, "by": token_subject}

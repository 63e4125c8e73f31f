from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    wildcards=True,
)

app = FastAPI()


@app.get("/orders/{order_id}")
async def read_order(
    order_id: int,
    ctx: TokenContext = Depends(ajwt.permission("orders:read")),
) -> dict[str, object]:
    return {"order": order_id, "reader": ctx.sub}


# A token granted "orders:*" may call this route; one granted "orders" or "ord*" may not.
manager_token = ajwt.create_token(sub="maria", permissions=["orders:*"])

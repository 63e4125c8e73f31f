import os

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    jwks_url=os.environ.get("JWKS_URL", "https://auth.example.com/.well-known/jwks.json"),
    iss="https://auth.example.com",
    server_audience=["https://api.example.com"],
)

app = FastAPI()


@app.get("/orders")
async def orders(ctx: TokenContext = Depends(ajwt.permission("orders:read"))) -> dict[str, object]:
    return {"orders": [], "for": ctx.sub}

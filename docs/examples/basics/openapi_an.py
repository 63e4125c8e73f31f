from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")

app = FastAPI()
ajwt.init_app(app)  # document 401/403 and the required permissions of every protected route


@app.get("/orders")
async def list_orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> list[str]:
    """List the caller's orders."""
    return []


@app.get("/health")
async def health() -> dict[str, str]:
    """Unprotected: no lock in Swagger UI, no security requirement in the schema."""
    return {"status": "ok"}

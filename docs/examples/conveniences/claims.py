from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
app = FastAPI()


@app.post("/login")
async def login(username: str) -> dict[str, str]:
    token = ajwt.create_token(sub=username, claims={"tenant": "acme", "plan": {"tier": "pro"}})
    return {"access_token": token, "token_type": "bearer"}


@app.get("/tenant")
async def tenant(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
    return {"tenant": ctx.claims["tenant"], "tier": ctx.claims["plan"]["tier"]}

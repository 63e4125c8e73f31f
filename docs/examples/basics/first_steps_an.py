from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    server_audience=["https://api.example.com"],
)

app = FastAPI()


@app.post("/login")
async def login(username: str) -> dict[str, str]:
    # Check the user's password here: this example trusts everyone.
    token = ajwt.create_token(sub=username, permissions=["orders:read"])
    return {"access_token": token, "token_type": "bearer"}


@app.get("/me")
async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, object]:
    return {"sub": ctx.sub, "permissions": ctx.permissions}

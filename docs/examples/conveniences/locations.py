from typing import Annotated

from fastapi import Depends, FastAPI, Response

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    token_location=("headers", "cookies"),  # the bearer header first, then the access cookie
)
app = FastAPI()
ajwt.init_app(app)  # documents both schemes as alternatives


@app.post("/login")
async def login(username: str, response: Response) -> dict[str, str]:
    token = ajwt.create_token(sub=username)
    ajwt.set_access_cookies(response, token)  # for the browser
    return {"access_token": token, "token_type": "bearer"}  # for API clients


@app.post("/orders")
async def create_order(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
    return {"for": ctx.sub}

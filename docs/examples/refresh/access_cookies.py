from fastapi import Depends, FastAPI, Response

from fastapi_apojwt import ApoJWT, ImplicitRefreshMiddleware, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    token_location="cookies",
)

app = FastAPI()
app.add_middleware(ImplicitRefreshMiddleware, ajwt=ajwt, within=300)


@app.post("/login")
async def login(username: str, response: Response) -> dict[str, str]:
    ajwt.set_access_cookies(response, ajwt.create_token(sub=username, permissions=["notes:write"]))
    return {"detail": "Logged in."}


@app.get("/notes")
async def notes(ctx: TokenContext = Depends(ajwt.token_required)) -> list[str]:
    return [f"a note of {ctx.sub}"]


@app.post("/notes")
async def add_note(ctx: TokenContext = Depends(ajwt.permission("notes:write"))) -> dict[str, str]:
    return {"by": ctx.sub}


@app.post("/logout")
async def logout(response: Response, ctx: TokenContext = Depends(ajwt.token_required)) -> dict[str, str]:
    await ajwt.revoke_token(ctx)
    ajwt.unset_access_cookies(response)
    return {"detail": "Logged out."}

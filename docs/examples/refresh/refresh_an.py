from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Response

from fastapi_apojwt import ApoJWT, RefreshContext, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
ajwt.config_refresh("another-random-secret-of-32-bytes-or-more", refresh_exp_period=86400)

USERS = {"alice": ["orders:read"], "bob": ["orders:read", "orders:write"]}

app = FastAPI()


@app.post("/auth/login")
async def login(username: str, response: Response) -> dict[str, str]:
    if username not in USERS:  # check the password here
        raise HTTPException(401, "Incorrect username or password.")
    access, refresh = ajwt.create_token(sub=username, permissions=USERS[username])
    ajwt.set_refresh_cookies(response, refresh)
    return {"access_token": access, "token_type": "bearer"}


@app.post("/auth/refresh")
async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, str]:
    access, refresh = ajwt.rotate(ctx, permissions=USERS[ctx.sub])
    ajwt.set_refresh_cookies(response, refresh)
    return {"access_token": access, "token_type": "bearer"}


@app.post("/auth/logout")
async def logout(
    response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh_token_required)]
) -> dict[str, str]:
    await ajwt.revoke_family(ctx)
    ajwt.unset_refresh_cookies(response)
    return {"detail": "Logged out."}


@app.get("/me")
async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
    return {"sub": ctx.sub}

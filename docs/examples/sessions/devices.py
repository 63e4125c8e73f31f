from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Response

from fastapi_apojwt import ApoJWT, RefreshContext, SessionInfo, TokenContext

ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="auth.example.com")
ajwt.config_refresh("another-32-byte-or-longer-secret!!!")
app = FastAPI(lifespan=ajwt.lifespan)  # closes the store (and a JWKS client) at shutdown


@app.post("/auth/login")
async def login(response: Response, username: str) -> dict[str, str]:
    access, refresh = ajwt.create_token(sub=username)  # a new session, listed at once
    ajwt.set_refresh_cookies(response, refresh)
    return {"access_token": access}


@app.post("/auth/refresh")
async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, str]:
    access, refresh = ajwt.rotate(ctx)  # same session: its login time (auth_time) travels along
    ajwt.set_refresh_cookies(response, refresh)
    return {"access_token": access}


@app.get("/me/sessions")
async def my_sessions(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> list[SessionInfo]:
    return await ajwt.list_sessions(ctx.sub)  # "your devices", newest login first


@app.delete("/me/sessions/{family}")
async def end_session(family: str, ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> None:
    if family not in {info.family for info in await ajwt.list_sessions(ctx.sub)}:
        raise HTTPException(404)
    await ajwt.revoke_family(family)  # "log out that device"


@app.post("/me/password")
async def change_password(ctx: Annotated[TokenContext, Depends(ajwt.fresh_token_required)]) -> dict[str, str]:
    await ajwt.revoke_subject(ctx.sub)  # every session so far ends, refreshes in flight included...
    access, _ = ajwt.create_token(sub=ctx.sub)  # ...and this new login works, even in the same second
    return {"access_token": access}

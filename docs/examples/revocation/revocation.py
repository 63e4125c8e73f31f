from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com", admin_permission="admin"
)
ajwt.config_refresh("another-random-secret-of-32-bytes-or-more")

app = FastAPI()


@app.post("/auth/revoke")
async def revoke_this_token(ctx: TokenContext = Depends(ajwt.token_required)) -> dict[str, str]:
    await ajwt.revoke_token(ctx)
    return {"detail": "This token is revoked."}


@app.post("/auth/logout-session")
async def logout_this_session(ctx: TokenContext = Depends(ajwt.token_required)) -> dict[str, str]:
    await ajwt.revoke_family(ctx)
    return {"detail": "This session is revoked."}


@app.post("/auth/logout-everywhere")
async def logout_everywhere(ctx: TokenContext = Depends(ajwt.fresh_token_required)) -> dict[str, str]:
    await ajwt.revoke_subject(ctx.sub)
    return {"detail": "Every session is revoked."}


@app.post("/admin/users/{username}/lock")
async def lock_user(username: str, ctx: TokenContext = Depends(ajwt.permission("admin"))) -> dict[str, str]:
    await ajwt.revoke_subject(username)
    return {"locked": username}

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
ajwt.config_refresh("another-random-secret-of-32-bytes-or-more")

app = FastAPI()


@app.post("/account/password")
async def change_password(ctx: TokenContext = Depends(ajwt.fresh_token_required)) -> dict[str, str]:
    return {"changed": ctx.sub}


@app.delete("/account")
async def delete_account(ctx: TokenContext = Depends(ajwt.permission("account:delete", fresh=True))) -> dict[str, str]:
    return {"deleted": ctx.sub}

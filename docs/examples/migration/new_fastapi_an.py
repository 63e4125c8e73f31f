from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response

from fastapi_apojwt import ApoJWT, RefreshContext, TokenContext

# --8<-- [start:construct]
# No token_finder, no exception_handler, no async_framework: the "fastapi" template does it.
ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="issuer")
ajwt.config_refresh("change-me-to-another-random-secret-of-32-bytes")
# --8<-- [end:construct]

app = FastAPI()


# --8<-- [start:token_required]
# The classic decorator, without Header()/Body() parameters...
@app.get("/some/endpoint")
@ajwt.token_required
def some_endpoint(token_data: dict[str, Any], token_subject: str) -> dict[str, Any]:
    return {"token_subject": token_subject, "token_data": token_data}


# --8<-- [end:token_required]


# --8<-- [start:permission]
# ...or a dependency, which is what the rest of the docs use.
@app.get("/permission/endpoint")
async def permission_endpoint(ctx: Annotated[TokenContext, Depends(ajwt.permission("permission"))]) -> dict[str, Any]:
    return {"ok": True, "sub": ctx.sub}


# --8<-- [end:permission]


# --8<-- [start:refresh]
def get_user_permissions(user_id: str) -> list[str]:
    return ["permission"]


@app.post("/refresh")
async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, str]:
    user_id = ctx.data["user_id"]
    access_token, refresh_token = ajwt.create_token(
        sub=user_id, permissions=get_user_permissions(user_id), refresh_data={"user_id": user_id}
    )
    ajwt.set_refresh_cookies(response, refresh_token)  # HttpOnly refresh cookie + CSRF cookie
    return {"access_token": access_token}


# --8<-- [end:refresh]

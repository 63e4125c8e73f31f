import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Form
from fastapi.responses import JSONResponse

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.oauth2 import OAuth2Error, oauth2_error_handler, token_response

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
ajwt.config_refresh("change-me-to-another-random-secret-of-32-bytes")

app = FastAPI()
app.add_exception_handler(OAuth2Error, oauth2_error_handler)  # raise OAuth2Error -> RFC 6749 §5.2 response
ajwt.init_app(app, token_url="/token")  # Swagger UI's Authorize dialog logs in here

USERS = {"alice": ("alice-password", ["orders:read"])}  # use hashed passwords in real code


@app.post("/token")
async def token(  # every field is optional: a missing one is an OAuth2 error, not FastAPI's 422
    grant_type: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    if not grant_type:
        raise OAuth2Error("invalid_request", "The grant_type parameter is missing.")
    if grant_type != "password":
        raise OAuth2Error("unsupported_grant_type", "Only the password grant is supported.")
    if username is None or password is None:
        raise OAuth2Error("invalid_request", "The username and password parameters are required.")
    user = USERS.get(username)
    if user is None or not secrets.compare_digest(user[0].encode(), password.encode()):
        raise OAuth2Error("invalid_grant", "Incorrect username or password.")
    access, refresh = ajwt.create_token(sub=username, permissions=user[1])
    response = token_response(access, expires_in=int(ajwt.exp_period), scope=user[1])
    ajwt.set_refresh_cookies(response, refresh)  # the refresh token in its HttpOnly cookie, as usual
    return response


@app.get("/orders")
async def list_orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> list[str]:
    return [f"orders of {ctx.sub}"]

"""The example service: login, a profile, permission-protected orders and an admin route.

Run it with ``make demo`` (http://127.0.0.1:8000) or
``uvicorn example_app.main:app --port N``.
"""

from __future__ import annotations

import hmac
import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_apojwt import ApoJWT, CookieSettings, RefreshContext, TokenContext
from fastapi_apojwt.deployment import check_token_state
from fastapi_apojwt.oauth2 import OAuth2Error, oauth2_error_handler, token_response
from fastapi_apojwt.stores import MemoryStore, TokenStore

from . import web
from .keys import is_hmac, previous_keys, signing_key
from .settings import ADMIN_PERMISSION, USERS, Settings

settings = Settings()


def token_store() -> TokenStore:
    """Token state in Redis when APOJWT_REDIS_URL is set (several instances), else in memory.

    Every instance answers revocation checks from its mirror of Redis's records (within 0.25 s
    of a revocation anywhere) unless APOJWT_REDIS_MIRROR=0: then each check asks Redis.
    """
    if settings.redis_url:
        from fastapi_apojwt.stores.redis import RedisStore

        return RedisStore.from_url(settings.redis_url, mirror=settings.redis_mirror)
    return MemoryStore()


ajwt = ApoJWT(
    signing_key(settings),  # APOJWT_SECRET (HS256), or a private key: APOJWT_ALGORITHM + APOJWT_PRIVATE_KEY_FILE
    algorithm=settings.algorithm,
    previous_keys=previous_keys(settings),
    exp_period=settings.access_lifetime,
    iss=settings.issuer,
    server_audience=[settings.audience],
    admin_permission=ADMIN_PERMISSION,
    store=token_store(),
)
# Refresh tokens live in an HttpOnly cookie sent only to /auth; the JS-readable
# csrf_refresh_token cookie must come back in X-CSRF-Token (APOJWT_CSRF=0 turns that off).
ajwt.config_refresh(
    settings.refresh_secret,
    refresh_exp_period=settings.refresh_lifetime,
    cookie=CookieSettings(secure=settings.secure_cookies, samesite="strict", path="/auth"),
    csrf=settings.csrf,
)

if not os.environ.get("APOJWT_SECRET") or not os.environ.get("APOJWT_REFRESH_SECRET"):
    # Random secrets differ per process: under `uvicorn --workers N` tokens of one worker fail on the others.
    check_token_state(
        "The example app's secrets are random at start (APOJWT_SECRET or APOJWT_REFRESH_SECRET unset)",
        strict=False,
        fix="Set APOJWT_SECRET and APOJWT_REFRESH_SECRET (apojwt keygen hmac), and APOJWT_REDIS_URL for the state.",
    )

# ajwt.lifespan closes the token store (the Redis pool) and any JWKS client at shutdown.
app = FastAPI(title="fastapi-apojwt example", docs_url=None, redoc_url=None, lifespan=ajwt.lifespan)  # docs: web.py
web.install(app)  # the demo page at /, Swagger UI at /docs and ReDoc at /redoc, no CDN
# Documents 401/403 and the permissions of every protected operation; Swagger UI's
# "Authorize" dialog can log in with a username and password through /auth/token.
ajwt.init_app(app, token_url="/auth/token")
# /auth/token answers errors as RFC 6749 §5.2 says: 400 {"error": "invalid_grant", ...}, no-store.
app.add_exception_handler(OAuth2Error, oauth2_error_handler)
if not is_hmac(settings):
    # Other services verify our tokens with these public keys: ApoJWT(jwks_url=".../.well-known/jwks.json").
    app.include_router(ajwt.jwks_router())


class Credentials(BaseModel):
    """A JSON login request."""

    username: str
    password: str


class TokenResponse(BaseModel):
    """What a successful login or refresh returns."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Order(BaseModel):
    """An order of the demo shop."""

    item: str
    quantity: int = 1


ORDERS: list[dict[str, Any]] = [{"id": 1, "item": "coffee", "quantity": 2, "owner": "alice"}]


def authenticate_user(username: str, password: str) -> list[str] | None:
    """Check the demo credentials: the user's permissions, or ``None`` when they are wrong."""
    user = USERS.get(username)
    expected = user[0] if user else "x" * len(password)
    if not hmac.compare_digest(expected.encode(), password.encode()) or user is None:
        return None
    return user[1]


def mint(username: str, permissions: list[str]) -> tuple[str, str]:
    """A fresh access token and the refresh token of a new session (refresh family)."""
    access, refresh_token = ajwt.create_token(
        sub=username, permissions=permissions, data={"username": username}, refresh_data={"username": username}
    )
    return access, refresh_token


BAD_CREDENTIALS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Incorrect username or password.",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    }
}


@app.post("/auth/login", response_model=TokenResponse, tags=["auth"], responses=BAD_CREDENTIALS)
async def login(credentials: Credentials, response: Response) -> TokenResponse:
    """Log in with JSON credentials; sets the refresh and CSRF cookies."""
    permissions = authenticate_user(credentials.username, credentials.password)
    if permissions is None:
        # RFC 9110 §15.5.2: a 401 carries a challenge; access tokens from here are Bearer tokens.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Incorrect username or password.", headers={"WWW-Authenticate": "Bearer"}
        )
    access, refresh_token = mint(credentials.username, permissions)
    ajwt.set_refresh_cookies(response, refresh_token)
    return TokenResponse(access_token=access, expires_in=int(ajwt.exp_period))


class OAuth2ErrorBody(BaseModel):
    """An RFC 6749 §5.2 error response."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None


class GrantedToken(TokenResponse):
    """An RFC 6749 §5.1 token response: also the scope granted (the user's permissions)."""

    scope: str | None = None


# The form is read by the route itself (below), so that no input can get FastAPI's 422:
# every refusal is an RFC 6749 error. This documents it for Swagger UI and other clients.
TOKEN_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "title": "PasswordGrant",
                    "required": ["grant_type", "username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "scope": {"type": "string", "description": "Ignored: the token gets the user's permissions."},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string", "format": "password"},
                    },
                }
            }
        },
    }
}
OAUTH2_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuth2ErrorBody,
        "description": "RFC 6749 §5.2: `invalid_request`, `invalid_grant` (bad credentials) or "
        "`unsupported_grant_type` (anything but `password`).",
    }
}
TOKEN_PARAMETERS = ("grant_type", "username", "password", "scope", "client_id", "client_secret")


async def read_token_request(request: Request) -> FormData:
    """The token request's form, or an ``invalid_request`` error (RFC 6749 §3.2, §4.3.2)."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuth2Error("invalid_request", "Send the parameters as application/x-www-form-urlencoded.")
    if len(await request.body()) > 8192:  # a password grant is a few hundred bytes
        raise OAuth2Error("invalid_request", "The form is too large.")
    try:
        form = await request.form(max_files=0, max_fields=20)
    except StarletteHTTPException:  # Starlette's answer to a form it cannot parse (too many or too large fields)
        raise OAuth2Error("invalid_request", "The form cannot be parsed.") from None
    for name in TOKEN_PARAMETERS:
        if len(form.getlist(name)) > 1:  # RFC 6749 §3.2: parameters MUST NOT be included more than once
            raise OAuth2Error("invalid_request", f"The {name} parameter is repeated.")
    return form


@app.post(
    "/auth/token",
    response_model=GrantedToken,
    tags=["auth"],
    responses=OAUTH2_ERRORS,
    openapi_extra=TOKEN_FORM,
)
async def token(request: Request) -> JSONResponse:
    """Log in with an OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's Authorize button does.

    Errors follow RFC 6749 §5.2: `invalid_grant` for bad credentials,
    `unsupported_grant_type` for any grant but `password`. The refresh token
    goes to the same cookies as `/auth/login`'s, not into the body.
    """
    form = await read_token_request(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuth2Error("invalid_request", "The grant_type parameter is missing.")
    if grant_type != "password":
        raise OAuth2Error("unsupported_grant_type", "Only the password grant is supported.")
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise OAuth2Error("invalid_request", "The username and password parameters are required.")
    permissions = authenticate_user(username, password)
    if permissions is None:
        raise OAuth2Error("invalid_grant", "Incorrect username or password.")
    access, refresh_token = mint(username, permissions)
    response = token_response(access, expires_in=int(ajwt.exp_period), scope=permissions)
    ajwt.set_refresh_cookies(response, refresh_token)  # the refresh token stays in its HttpOnly cookie
    return response


@app.post("/auth/refresh", response_model=TokenResponse, tags=["auth"])
async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> TokenResponse:
    """Rotate: the refresh cookie is used up, a new pair is issued in the same session.

    Send the ``csrf_refresh_token`` cookie's value in ``X-CSRF-Token``. Replaying
    a used refresh token revokes the whole session.
    """
    user = USERS.get(ctx.sub)
    if user is None:  # the account is gone: end the session
        await ajwt.revoke_family(ctx)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Unknown user.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    access, refresh_token = ajwt.rotate(ctx, permissions=user[1], data={"username": ctx.sub})
    ajwt.set_refresh_cookies(response, refresh_token)
    return TokenResponse(access_token=access, expires_in=int(ajwt.exp_period))


@app.post("/auth/logout", tags=["auth"])
async def logout(
    response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh_token_required)]
) -> dict[str, str]:
    """Revoke the session (its refresh and access tokens) and clear the cookies."""
    await ajwt.revoke_family(ctx)
    ajwt.unset_refresh_cookies(response)
    return {"detail": "Logged out."}


@app.get("/me", tags=["profile"])
async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
    """The caller's subject and permissions."""
    return {"sub": ctx.sub, "permissions": list(ctx.permissions), "admin": ctx.admin, "expires_at": ctx.exp}


@app.get("/orders", tags=["orders"])
async def list_orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> list[dict[str, Any]]:
    """List orders (needs ``orders:read``)."""
    return ORDERS


@app.post("/orders", status_code=201, tags=["orders"])
async def create_order(
    order: Order, ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write"))]
) -> dict[str, Any]:
    """Place an order (needs ``orders:write``)."""
    record = {"id": len(ORDERS) + 1, **order.model_dump(), "owner": ctx.sub}
    ORDERS.append(record)
    return record


@app.get("/admin", tags=["admin"])
async def admin(ctx: Annotated[TokenContext, Depends(ajwt.permission(ADMIN_PERMISSION))]) -> dict[str, Any]:
    """Admins only."""
    return {"sub": ctx.sub, "message": "Welcome, administrator."}


@app.get("/health", tags=["ops"])
async def health() -> dict[str, str]:
    """Liveness probe (unprotected)."""
    return {"status": "ok"}

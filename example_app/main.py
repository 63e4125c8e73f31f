"""The example service: login, a profile, permission-protected orders and an admin route.

Run it with ``make demo`` (http://127.0.0.1:8000) or
``uvicorn example_app.main:app --port N``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from fastapi_apojwt import ApoJWT, CookieSettings, RefreshContext, TokenContext
from fastapi_apojwt.stores import MemoryStore, TokenStore

from . import web
from .keys import is_hmac, previous_keys, signing_key
from .settings import ADMIN_PERMISSION, USERS, Settings

settings = Settings()


def token_store() -> TokenStore:
    """Token state in Redis when APOJWT_REDIS_URL is set (several instances), else in memory."""
    if settings.redis_url:
        from fastapi_apojwt.stores.redis import RedisStore

        return RedisStore.from_url(settings.redis_url)
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

app = FastAPI(title="fastapi-apojwt example", docs_url=None, redoc_url=None)  # offline docs: see web.py
web.install(app)  # the demo page at /, Swagger UI at /docs and ReDoc at /redoc, no CDN
# Documents 401/403 and the permissions of every protected operation; Swagger UI's
# "Authorize" dialog can log in with a username and password through /auth/token.
ajwt.init_app(app, token_url="/auth/token")
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


def authenticate_user(username: str, password: str) -> list[str]:
    """Check the demo credentials and return the user's permissions, or 401."""
    user = USERS.get(username)
    expected = user[0] if user else "x" * len(password)
    if not hmac.compare_digest(expected.encode(), password.encode()) or user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Incorrect username or password.")
    return user[1]


def issue(username: str, permissions: list[str], response: Response) -> TokenResponse:
    """Log a user in: a fresh access token in the body, a new refresh family in the cookies."""
    access, refresh_token = ajwt.create_token(
        sub=username, permissions=permissions, data={"username": username}, refresh_data={"username": username}
    )
    ajwt.set_refresh_cookies(response, refresh_token)
    return TokenResponse(access_token=access, expires_in=int(ajwt.exp_period))


BAD_CREDENTIALS: dict[int | str, dict[str, Any]] = {401: {"description": "Incorrect username or password."}}


@app.post("/auth/login", response_model=TokenResponse, tags=["auth"], responses=BAD_CREDENTIALS)
async def login(credentials: Credentials, response: Response) -> TokenResponse:
    """Log in with JSON credentials; sets the refresh and CSRF cookies."""
    return issue(credentials.username, authenticate_user(credentials.username, credentials.password), response)


@app.post("/auth/token", response_model=TokenResponse, tags=["auth"], responses=BAD_CREDENTIALS)
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], response: Response) -> TokenResponse:
    """Log in with an OAuth2 password form (used by Swagger UI's Authorize button)."""
    return issue(form.username, authenticate_user(form.username, form.password), response)


@app.post("/auth/refresh", response_model=TokenResponse, tags=["auth"])
async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> TokenResponse:
    """Rotate: the refresh cookie is used up, a new pair is issued in the same session.

    Send the ``csrf_refresh_token`` cookie's value in ``X-CSRF-Token``. Replaying
    a used refresh token revokes the whole session.
    """
    user = USERS.get(ctx.sub)
    if user is None:  # the account is gone: end the session
        await ajwt.revoke_family(ctx)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Unknown user.")
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

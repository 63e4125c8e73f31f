"""The example service: login, a profile, permission-protected orders and an admin route.

Run it with ``make demo`` (http://127.0.0.1:8000) or
``uvicorn example_app.main:app --port N``.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from fastapi_apojwt import ApoJWT, TokenContext

from . import web
from .settings import ADMIN_PERMISSION, USERS, Settings

settings = Settings()

ajwt = ApoJWT(
    settings.secret,
    exp_period=settings.access_lifetime,
    iss=settings.issuer,
    server_audience=[settings.audience],
    admin_permission=ADMIN_PERMISSION,
)

app = FastAPI(title="fastapi-apojwt example", docs_url=None, redoc_url=None)  # offline docs: see web.py
web.install(app)  # the demo page at /, Swagger UI at /docs and ReDoc at /redoc, no CDN
# Documents 401/403 and the permissions of every protected operation; Swagger UI's
# "Authorize" dialog can log in with a username and password through /auth/token.
ajwt.init_app(app, token_url="/auth/token")


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


def issue(username: str, permissions: list[str]) -> TokenResponse:
    """Mint an access token for a user."""
    token = ajwt.create_token(sub=username, permissions=permissions, data={"username": username})
    access = token[0] if isinstance(token, tuple) else token
    return TokenResponse(access_token=access, expires_in=int(ajwt.exp_period))


@app.post("/auth/login", response_model=TokenResponse, tags=["auth"])
async def login(credentials: Credentials) -> TokenResponse:
    """Log in with JSON credentials."""
    return issue(credentials.username, authenticate_user(credentials.username, credentials.password))


@app.post("/auth/token", response_model=TokenResponse, tags=["auth"])
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenResponse:
    """Log in with an OAuth2 password form (used by Swagger UI's Authorize button)."""
    return issue(form.username, authenticate_user(form.username, form.password))


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

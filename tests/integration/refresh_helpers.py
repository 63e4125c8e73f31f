"""A small refresh-enabled app and cookie helpers shared by the refresh, CSRF, revocation and cookie tests."""

from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Response

from fastapi_apojwt import ApoJWT, CookieSettings, RefreshContext, TokenContext
from fastapi_apojwt.stores import TokenStore
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


class Clock:
    """A settable clock for ApoJWT and MemoryStore."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_ajwt(
    *,
    store: TokenStore | None = None,
    clock: Callable[[], float] | None = None,
    csrf: bool = True,
    cookie: CookieSettings | None = None,
    **options: Any,
) -> ApoJWT:
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], store=store, **extra, **options)
    ajwt.config_refresh(REFRESH_SECRET, refresh_exp_period=3600, csrf=csrf, cookie=cookie)
    return ajwt


def make_app(ajwt: ApoJWT) -> FastAPI:
    """Login, refresh (seed pattern and rotate), logout, and protected routes."""
    app = FastAPI()

    @app.post("/auth/login")
    async def login(response: Response, sub: str = "alice") -> dict[str, str]:
        access, refresh = ajwt.create_token(sub=sub, permissions=["orders:read"], refresh_data={"user": sub})
        ajwt.set_refresh_cookies(response, refresh)
        return {"access_token": access}

    @app.post("/auth/refresh")
    async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, Any]:
        access, refresh = ajwt.rotate(ctx, permissions=["orders:read"])
        ajwt.set_refresh_cookies(response, refresh)
        return {"access_token": access, "sub": ctx.sub, "data": ctx.data, "family": ctx.family}

    @app.post("/auth/refresh-seed")
    async def refresh_seed(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, Any]:
        # apojwt 1.x style: create_token inside the refresh handler stays in the family.
        access, refresh = ajwt.create_token(sub=ctx.sub, permissions=["orders:read"], refresh_data=ctx.data)
        ajwt.set_refresh_cookies(response, refresh)
        return {"access_token": access, "family": ctx.family}

    @app.post("/auth/logout")
    async def logout(
        response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh_token_required)]
    ) -> dict[str, str]:
        await ajwt.revoke_family(ctx)
        ajwt.unset_refresh_cookies(response)
        return {"detail": "Logged out."}

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return {"sub": ctx.sub, "fresh": ctx.fresh, "jti": ctx.jti}

    @app.post("/password")
    async def change_password(ctx: Annotated[TokenContext, Depends(ajwt.fresh_token_required)]) -> dict[str, str]:
        return {"changed": ctx.sub}

    @app.delete("/account")
    async def delete_account(
        ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read", fresh=True))],
    ) -> dict[str, str]:
        return {"deleted": ctx.sub}

    return app


@dataclass
class SetCookie:
    """One Set-Cookie header, parsed attribute by attribute."""

    name: str
    value: str
    attributes: dict[str, str]
    flags: set[str]


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    """The Set-Cookie headers of a response, by cookie name."""
    found: dict[str, SetCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *rest = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        attributes: dict[str, str] = {}
        flags: set[str] = set()
        for part in rest:
            key, sep, val = part.partition("=")
            if sep:
                attributes[key.lower()] = val
            else:
                flags.add(key.lower())
        found[name] = SetCookie(name, value, attributes, flags)
    assert all(SimpleCookie(h) for h in response.headers.get_list("set-cookie"))
    return found


def refresh_headers(refresh: str, csrf: str | None) -> dict[str, str]:
    """Headers carrying a refresh cookie (and its CSRF pair) explicitly, without a cookie jar."""
    cookie = f"refresh_token={refresh}"
    headers = {}
    if csrf is not None:
        cookie += f"; csrf_refresh_token={csrf}"
        headers["X-CSRF-Token"] = csrf
    headers["Cookie"] = cookie
    return headers

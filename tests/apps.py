"""The one test app and the one ApoJWT factory the suites share."""

# No `from __future__ import annotations`: the routes' annotations name the local `ajwt`, which FastAPI must see.

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response

from fastapi_apojwt import ApoJWT, RefreshContext, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET

__all__ = ["build_app", "make_ajwt"]


def make_ajwt(**kwargs: Any) -> ApoJWT:
    """An ApoJWT with the test secret, issuer and audience, and ``admin`` as the admin permission."""
    kwargs.setdefault("admin_permission", "admin")
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], **kwargs)


def build_app(ajwt: ApoJWT) -> FastAPI:
    """An app with one route per guard kind, dependency and decorator forms alike."""
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return {"sub": ctx.sub}

    @app.get("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, Any]:
        return {"sub": ctx.sub}

    @app.get("/admin")
    async def admin(ctx: Annotated[TokenContext, Depends(ajwt.permission("admin"))]) -> dict[str, Any]:
        return {"sub": ctx.sub}

    @app.get("/legacy")
    @ajwt.permission_required("orders:read")
    def legacy(token_subject: str) -> dict[str, Any]:
        return {"sub": token_subject}

    if ajwt.refresh_codec is not None:

        @app.post("/refresh")
        async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, Any]:
            # Rotation as apojwt 1.x code does it: create_token inside the refresh handler joins the family.
            access, refresh_token = ajwt.create_token(sub=ctx.sub, permissions=["orders:read"])
            return {"sub": ctx.sub, "access_token": access, "refresh_token": refresh_token}

    return app

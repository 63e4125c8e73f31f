"""An app whose store holds every refresh in ``use_refresh_token`` for a second (a slow store)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, RefreshContext, TokenContext
from fastapi_apojwt.stores import MemoryStore
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


class SlowStore(MemoryStore):
    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        await asyncio.sleep(1.0)
        return await super().use_refresh_token(jti, family=family, ttl=ttl)


ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], store=SlowStore())
ajwt.config_refresh(REFRESH_SECRET)
app = FastAPI(lifespan=ajwt.lifespan)


@app.post("/auth/login")
async def login() -> dict[str, str]:
    access, refresh = ajwt.create_token(sub="alice")
    return {"access_token": access, "refresh_token": refresh, "csrf": ajwt.csrf_token(refresh)}


@app.post("/auth/refresh")
async def refresh(ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, str]:
    access, _ = ajwt.rotate(ctx)
    return {"access_token": access}


@app.post("/admin/logout-everywhere")
async def logout_everywhere() -> dict[str, Any]:
    await ajwt.revoke_subject("alice")
    return {"ok": True}


@app.get("/me")
async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
    return ctx.sub

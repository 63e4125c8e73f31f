"""The app served by uvicorn for the requests-per-second comparisons: the same handler, bare and guarded.

Configured from the environment by ``run.py``: ``BENCH_SECRET``; ``BENCH_STORE``
(``memory``, the default; ``redis``: one round trip per check; ``mirror``: the
Redis store with its local mirror) and ``BENCH_REDIS_URL``. Run as
``uvicorn _server_app:app --app-dir benchmarks``.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.stores import MemoryStore, TokenStore

ISSUER = "https://auth.bench"
AUDIENCE = "https://api.bench"


def _store() -> TokenStore:
    kind = os.environ.get("BENCH_STORE", "memory")
    if kind == "memory":
        return MemoryStore()
    from fastapi_apojwt.stores.redis import RedisStore

    return RedisStore.from_url(os.environ["BENCH_REDIS_URL"], prefix="bench:", mirror=kind == "mirror")


store = _store()
ajwt = ApoJWT(os.environ["BENCH_SECRET"], iss=ISSUER, server_audience=[AUDIENCE], store=store)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await store.close()


app = FastAPI(lifespan=lifespan)


@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}


@app.get("/guarded")
async def guarded(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, bool]:
    return {"ok": True}

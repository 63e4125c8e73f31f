"""The app served by uvicorn for the requests-per-second comparison: the same handler, bare and guarded.

Configured from the environment by ``run.py`` (``BENCH_SECRET``); run as
``uvicorn _server_app:app --app-dir benchmarks``.
"""

import os
from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ISSUER = "https://auth.bench"
AUDIENCE = "https://api.bench"

ajwt = ApoJWT(os.environ["BENCH_SECRET"], iss=ISSUER, server_audience=[AUDIENCE])
app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}


@app.get("/guarded")
async def guarded(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, bool]:
    return {"ok": True}

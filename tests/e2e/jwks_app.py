"""A stand-in issuer for JWKS tests: serves a JWK set from a file and counts the fetches.

Run as ``uvicorn tests.e2e.jwks_app:app`` with ``JWKS_FILE`` naming the file. The
file is read on every request, so a test rotates keys or breaks the issuer by
rewriting it: ``STATUS <code>`` makes the endpoint answer that status, ``DRIP``
sends a byte every 0.2 s for ever (a stalling issuer), and any other text is
served as it is (garbage included). ``GET /count`` says how many
times the JWK set was requested.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_state = {"count": 0}


async def jwks(request: Request) -> Response:
    _state["count"] += 1
    text = Path(os.environ["JWKS_FILE"]).read_text(encoding="utf-8")  # noqa: ASYNC240 - a tiny local file
    if text.startswith("STATUS "):
        return Response("unavailable", status_code=int(text.split()[1]))
    if text.startswith("DRIP"):
        return StreamingResponse(_drip(), media_type="application/json")
    return Response(text, media_type="application/json")


async def _drip() -> AsyncIterator[bytes]:
    yield b'{"keys": ['
    while True:
        await asyncio.sleep(0.2)
        yield b" "


async def count(request: Request) -> Response:
    return JSONResponse({"count": _state["count"]})


app = Starlette(routes=[Route("/.well-known/jwks.json", jwks), Route("/count", count)])

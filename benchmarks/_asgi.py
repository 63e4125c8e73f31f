"""A minimal in-process ASGI driver: no TestClient, no sockets, little noise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
    Awaitable[None],
]

_REQUEST = {"type": "http.request", "body": b"", "more_body": False}


def make_scope(path: str, token: str | None) -> dict[str, Any]:
    """An HTTP GET scope as uvicorn builds it (headers as lowercase byte pairs)."""
    headers = [(b"host", b"bench"), (b"user-agent", b"bench/1"), (b"accept", b"*/*")]
    if token is not None:
        headers.append((b"authorization", b"Bearer " + token.encode("ascii")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return _REQUEST


class _Sink:
    __slots__ = ("status",)

    def __init__(self) -> None:
        self.status = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


async def request(app: ASGIApp, scope: dict[str, Any]) -> int:
    """Send one request and return the response status."""
    sink = _Sink()
    await app(dict(scope), _receive, sink)
    return sink.status


async def timed_batch(app: ASGIApp, scopes: Iterable[dict[str, Any]], expect: int = 200) -> tuple[float, int]:
    """CPU seconds (all threads of this process) spent serving ``scopes``, and how many were served."""
    items = list(scopes)
    start = time.process_time()
    for scope in items:
        sink = _Sink()
        await app(dict(scope), _receive, sink)
        if sink.status != expect:
            raise AssertionError(f"{scope['path']} answered {sink.status}, expected {expect}")
    return time.process_time() - start, len(items)


def run(coro: Awaitable[Any]) -> Any:
    """Run a coroutine on a fresh event loop."""
    return asyncio.run(coro)  # type: ignore[arg-type]

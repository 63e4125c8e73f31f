"""A small HTTP/1.1 keep-alive load generator (asyncio protocols, no dependencies).

Usage: ``python _load.py PORT TOKEN CONNECTIONS SECONDS ROUNDS``. For each
round it drives ``/bare`` then ``/guarded`` (the order alternating between
rounds) for SECONDS each with CONNECTIONS concurrent connections, one request
in flight per connection, and prints one JSON line per burst:
``{"path": ..., "requests": ..., "seconds": ..., "errors": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def split_response(buffer: bytes) -> tuple[bytes, bytes] | None:
    """The status code of the first complete HTTP/1.1 response in ``buffer`` and the bytes after it."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[:end]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    total = end + 4 + length
    if len(buffer) < total:
        return None
    return head[9:12], buffer[total:]


class _Client(asyncio.Protocol):
    def __init__(self, request: bytes, stats: dict[str, int], deadline: float, done: asyncio.Future[None]) -> None:
        self.request = request
        self.stats = stats
        self.deadline = deadline
        self.done = done
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            response = split_response(self.buffer)
            if response is None:
                return
            status, self.buffer = response
            if status == b"200":
                self.stats["requests"] += 1
            else:
                self.stats["errors"] += 1
            if time.monotonic() >= self.deadline:
                if self.transport is not None:
                    self.transport.close()
                return
            if self.transport is not None:
                self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def burst(port: int, path: str, token: str, connections: int, seconds: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench/1\r\nAccept: */*\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    stats = {"requests": 0, "errors": 0}
    start = time.monotonic()
    deadline = start + seconds
    futures = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda done=done: _Client(request, stats, deadline, done), "127.0.0.1", port)
        futures.append(done)
    await asyncio.gather(*futures)
    return {"path": path, "requests": stats["requests"], "errors": stats["errors"], "seconds": time.monotonic() - start}


async def main() -> None:
    port, token = int(sys.argv[1]), sys.argv[2]
    connections, seconds, rounds = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    await burst(port, "/bare", token, connections, min(seconds, 1.0))  # warm-up
    await burst(port, "/guarded", token, connections, min(seconds, 1.0))
    for index in range(rounds):
        paths = ("/bare", "/guarded") if index % 2 == 0 else ("/guarded", "/bare")
        for path in paths:
            print(json.dumps(await burst(port, path, token, connections, seconds)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

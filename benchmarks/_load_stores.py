"""Load for the store comparison: one uvicorn per store, driven in turn, many sessions (asyncio, no dependencies).

Usage: ``python _load_stores.py CONFIG.json``, where the file holds
``{"servers": {name: {"port": P, "pid": PID}}, "tokens": [...], "connections": C,
"seconds": S, "rounds": R}``. Every round drives ``GET /guarded`` on each server
in turn (the order rotating between rounds) for S seconds with C keep-alive
connections, one request in flight per connection, each connection cycling
through its own slice of the tokens (distinct sessions, not one hot token). One
JSON line per burst: requests, errors, seconds, the server process's CPU time per
request (``/proc/PID/stat``: user + system) and p50/p99 latency.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

from _load import split_response

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


class _Client(asyncio.Protocol):
    def __init__(self, requests: list[bytes], stats: dict[str, int], latencies: list[float], deadline: float) -> None:
        self.requests, self.stats, self.latencies, self.deadline = requests, stats, latencies, deadline
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.index = 0
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def _send(self) -> None:
        assert self.transport is not None
        self.index = (self.index + 1) % len(self.requests)
        self.sent = time.perf_counter()
        self.transport.write(self.requests[self.index])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            response = split_response(self.buffer)
            if response is None:
                return
            status, self.buffer = response
            self.latencies.append(time.perf_counter() - self.sent)
            self.stats["requests" if status == b"200" else "errors"] += 1
            if time.monotonic() >= self.deadline:
                assert self.transport is not None
                self.transport.close()
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def burst(name: str, server: dict[str, int], tokens: list[str], connections: int, seconds: float) -> dict:
    loop = asyncio.get_running_loop()
    port = server["port"]
    requests = [
        f"GET /guarded HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {t}\r\n\r\n".encode() for t in tokens
    ]
    share = max(1, len(requests) // connections)
    stats = {"requests": 0, "errors": 0}
    latencies: list[float] = []
    cpu_before = cpu_seconds(server["pid"])
    start = time.monotonic()
    clients = []
    for index in range(connections):
        mine = requests[index * share : (index + 1) * share] or requests
        _, client = await loop.create_connection(
            lambda mine=mine: _Client(mine, stats, latencies, start + seconds), "127.0.0.1", port
        )
        clients.append(client)
    await asyncio.gather(*(c.done for c in clients))
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(server["pid"]) - cpu_before
    latencies.sort()
    count = stats["requests"] + stats["errors"]
    return {
        "store": name,
        "requests": stats["requests"],
        "errors": stats["errors"],
        "seconds": elapsed,
        "cpu_us": cpu / count * 1e6 if count else float("nan"),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan"),
    }


async def main(config: dict) -> None:
    servers: dict[str, dict[str, int]] = config["servers"]
    names = list(servers)
    for name in names:  # warm-up: imports, the mirror's first load, connection pools
        await burst(name, servers[name], config["tokens"], config["connections"], min(1.0, config["seconds"]))
    for index in range(config["rounds"]):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            result = await burst(name, servers[name], config["tokens"], config["connections"], config["seconds"])
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    with open(sys.argv[1]) as file:
        asyncio.run(main(json.load(file)))

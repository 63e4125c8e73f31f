"""``make bench``: what authentication costs, side by side, in one run.

Compared in the same process, interleaved round by round, in CPU time
(``time.process_time``: every thread of this process, so a thread-pool hop is
counted, and time stolen by other processes is not), medians over rounds:

* requests driven straight through the ASGI apps (no TestClient, no sockets):
  a bare route, the hand-rolled ``HTTPBearer`` + ``jwt.decode`` dependency of
  FastAPI's docs (``async def`` and ``def``), AuthX, and this package (dependency,
  permission dependency, classic decorator; HS256, RS256, ES256, EdDSA; and the
  dependency with the token cache off), each with the same token every time and
  with a never-seen token every time;
* ``ajwt.decode`` against a stdlib floor (HMAC-SHA256 of the signing input,
  base64url decoding, ``json.loads`` of the payload) and against ``jwt.decode``;
* thread-pool hops per request;
* memory after floods of distinct valid tokens and of bogus tokens;
* a real uvicorn server on 127.0.0.1, loaded from a second process: requests
  per second of a guarded route against the same route unguarded;
* the token stores side by side on uvicorn (``_stores.py``): memory store, Redis
  checked per request, Redis with the mirror; and the propagation delay of a
  revocation between two instances (needs ``redis-server``).

Prints a table, writes ``benchmarks/results.json``, draws
``docs/img/benchmark.png`` and refreshes the table in ``docs/performance.md``.
Needs no network beyond 127.0.0.1. Options: ``--quick`` (a smoke run),
``--no-server``, ``--no-stores``, ``--stores-only`` (``make bench-stores``), ``--no-docs``,
``--results PATH`` (instead of ``benchmarks/results.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import hashlib
import hmac
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import anyio.to_thread  # noqa: E402
import jwt  # noqa: E402
from _apps import AUDIENCE, ISSUER, SECRET, Variant, apojwt_instance, apojwt_mint, request_variants  # noqa: E402
from _asgi import make_scope, request, timed_batch  # noqa: E402
from _stores import bench_stores  # noqa: E402
from _stores import markdown as stores_markdown  # noqa: E402
from _stores import update_docs as update_stores_docs  # noqa: E402

TARGETS = {
    "same_token": 0.25,
    "never_seen": 0.5,
    "decode_floor": 2.0,
    "decorator": 1.10,
    "uvicorn": 0.75,
}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- in-process requests ---------------------------------------------------------------------


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Move everything built so far (apps, token pools) out of the collector's sight while timing.

    The collection before each batch then only sweeps the last batch's garbage: 0.6 ms instead
    of 80 ms for the whole heap of a never-seen run (a third of the bench's time went there).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """One timed batch: the previous batch's garbage is collected first, and no collection runs inside."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def mint_many(mint: Callable[[], str | None], count: int) -> list[str | None]:
    tokens = [mint() for _ in range(count)]
    if tokens and tokens[0] is not None:
        assert len(set(tokens)) == count, "tokens must all differ"
    return tokens


async def bench_requests(
    variants: list[Variant], *, rounds: int, batch: int, never_seen: bool
) -> dict[str, list[float]]:
    """Microseconds of CPU per request, one value per round, for every variant."""
    path = "/r"
    if never_seen:
        pools = {v.name: [make_scope(path, t) for t in mint_many(v.mint, rounds * batch)] for v in variants}
    else:
        same = {v.name: make_scope(path, v.mint()) for v in variants}
    for v in variants:  # warm up: imports, caches, FastAPI's per-route setup
        await timed_batch(v.app, [make_scope(path, v.mint())] * 20)
    results: dict[str, list[float]] = {v.name: [] for v in variants}
    with frozen_heap():
        for index in range(rounds):
            order = variants[index % len(variants) :] + variants[: index % len(variants)]
            for v in order:
                scopes = pools[v.name][index * batch : (index + 1) * batch] if never_seen else [same[v.name]] * batch
                with collector_paused():
                    seconds, count = await timed_batch(v.app, scopes)
                results[v.name].append(seconds / count * 1e6)
    return results


# The variants the request targets compare, measured again in a focused run (see bench_targets).
TARGET_VARIANTS = ("bare", "hand_async", "apo_dep", "apo_perm", "apo_deco")


def targets_worker(rounds: int, batch: int) -> None:
    """One process's share of the focused run: its rounds of both kinds, as one JSON line on stdout."""
    variants = [v for v in request_variants(asymmetric=False) if v.name in TARGET_VARIANTS]
    same = asyncio.run(bench_requests(variants, rounds=rounds, batch=batch, never_seen=False))
    fresh = asyncio.run(bench_requests(variants, rounds=rounds, batch=batch, never_seen=True))
    print(json.dumps({"same": same, "fresh": fresh}))


def bench_targets(*, processes: int, rounds: int, batch: int) -> dict[str, dict[str, list[float]]]:
    """The rounds of the target comparisons, pooled from ``processes`` fresh interpreters run one after another.

    The full table's 41 rounds give a median whose 90% spread is about ±0.04 on the
    never-seen ratio and ±0.05 on the decorator's (subsamples of a 201-round run on
    this 2-core VM), wider than the margins the targets are judged on; and one
    process has one hash seed and one memory layout, which move a run's medians too.
    So the five variants the targets compare run again, alone (each round is cheap:
    no thread-pool variants), in several processes, and the verdicts are medians of
    all their rounds with a bootstrap interval beside them.
    """
    pooled: dict[str, dict[str, list[float]]] = {"same": {}, "fresh": {}}
    for _ in range(processes):
        out = subprocess.run(
            [sys.executable, __file__, "--targets-worker", str(rounds), str(batch)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        ).stdout
        share = json.loads(out.splitlines()[-1])
        for kind, series in share.items():
            for name, values in series.items():
                pooled[kind].setdefault(name, []).extend(values)
    return pooled


async def count_hops(variants: list[Variant]) -> dict[str, int]:
    """Thread-pool hops (``anyio.to_thread.run_sync`` calls) for one request of each variant."""
    hops: dict[str, int] = {}
    real = anyio.to_thread.run_sync
    calls = 0

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    anyio.to_thread.run_sync = counting  # type: ignore[assignment]
    try:
        for v in variants:
            scope = make_scope("/r", v.mint())
            await request(v.app, scope)  # first request: route set-up
            calls = 0
            status = await request(v.app, scope)
            assert status == 200, (v.name, status)
            hops[v.name] = calls
    finally:
        anyio.to_thread.run_sync = real  # type: ignore[assignment]
    return hops


# -- decode ---------------------------------------------------------------------------------------


def floor(token: str, key: bytes = SECRET.encode()) -> dict[str, Any]:
    """The stdlib floor: HMAC-SHA256 over the signing input, base64url decoding, json.loads of the payload."""
    signing_input, _, signature = token.rpartition(".")
    payload = signing_input.partition(".")[2]
    expected = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))):
        raise ValueError("bad signature")
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def bench_decode(*, rounds: int, batch: int) -> dict[str, list[float]]:
    """Microseconds of CPU per decode, one value per round; never-seen tokens unless named 'cached'."""
    hs = apojwt_instance()
    contenders: dict[str, tuple[Callable[[str], Any], Callable[[], str]]] = {}
    mint_hs = apojwt_mint(hs)
    contenders["floor"] = (floor, mint_hs)
    contenders["apo_decode"] = (hs.decode, mint_hs)
    cached_token = mint_hs()
    contenders["apo_decode_cached"] = (hs.decode, lambda: cached_token)
    contenders["pyjwt_decode"] = (
        lambda t: jwt.decode(t, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER),
        mint_hs,
    )
    for alg in ("RS256", "ES256", "EdDSA"):
        inst = apojwt_instance(alg)
        public = inst.keys.signing.key.public_key()  # type: ignore[union-attr]
        contenders[f"apo_decode_{alg.lower()}"] = (inst.decode, apojwt_mint(inst))
        contenders[f"pyjwt_decode_{alg.lower()}"] = (
            lambda t, public=public, alg=alg: jwt.decode(t, public, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER),
            apojwt_mint(inst),
        )
    asym_batch = max(10, batch // 10)
    pools: dict[str, list[str]] = {}
    for name, (_, mint) in contenders.items():
        size = asym_batch if name.endswith(("rs256", "es256", "eddsa")) else batch
        pools[name] = [mint() for _ in range(rounds * size)]
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for decode, mint in contenders.values():  # warm up: first calls, the cached token admitted
        for _ in range(3):
            decode(mint())
        token = mint()
        for _ in range(3):
            decode(token)
    names = list(contenders)
    with frozen_heap():
        for index in range(rounds):
            for name in names[index % len(names) :] + names[: index % len(names)]:
                decode = contenders[name][0]
                size = asym_batch if name.endswith(("rs256", "es256", "eddsa")) else batch
                tokens = pools[name][index * size : (index + 1) * size]
                with collector_paused():
                    start = time.process_time()
                    for token in tokens:
                        decode(token)
                    elapsed = time.process_time() - start
                results[name].append(elapsed / len(tokens) * 1e6)
    return results


# -- memory ---------------------------------------------------------------------------------------


def bench_memory(*, distinct: int, bogus: int) -> dict[str, Any]:
    """Memory retained after floods; the cache and the header cache stay within their bounds."""
    from fastapi_apojwt import ApoJWTError

    out: dict[str, Any] = {}
    for flood in (distinct // 4, distinct):
        ajwt = apojwt_instance(cache_size=4096)
        tokens = [apojwt_mint(ajwt)() for _ in range(flood)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for token in tokens:
            ajwt.decode(token)
            ajwt.decode(token)  # a second verification admits it to the cache
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        out[f"valid_{flood}"] = {"retained_mb": retained / 2**20, "cache_entries": len(ajwt.verifier.cache or ())}
    ajwt = apojwt_instance(cache_size=4096)
    good = apojwt_mint(ajwt)()
    head, payload, _ = good.split(".")
    junk = [f"{head}.{payload}.{os.urandom(32).hex()}" for _ in range(bogus // 2)]
    junk += [base64.urlsafe_b64encode(os.urandom(60)).decode().rstrip("=") for _ in range(bogus // 4)]
    junk += [
        base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "n": i}).encode()).decode().rstrip("=") + ".e30.AAAA"
        for i in range(bogus - len(junk))
    ]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for token in junk:
        try:
            ajwt.decode(token)
        except ApoJWTError:
            pass
    gc.collect()
    retained = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    out[f"bogus_{bogus}"] = {
        "retained_mb": retained / 2**20,
        "cache_entries": len(ajwt.verifier.cache or ()),
        "header_cache_entries": ajwt.codec.cached_headers,
    }
    return out


# -- a real server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_uvicorn(*, rounds: int, seconds: float, connections: int) -> dict[str, Any]:
    """Requests per second through uvicorn, guarded and bare, loaded from a second process."""
    from fastapi_apojwt import ApoJWT

    port = free_port()
    env = {**os.environ, "BENCH_SECRET": SECRET, "PYTHONWARNINGS": "ignore"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "_server_app:app",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError("uvicorn exited")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        minting = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
        token = str(minting.create_token(sub="alice", permissions=["orders:read"], data={"team": "bench"}))
        load = subprocess.run(
            [sys.executable, str(HERE / "_load.py"), str(port), token, str(connections), str(seconds), str(rounds)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60 + rounds * seconds * 4,
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    bursts = [json.loads(line) for line in load.stdout.splitlines() if line.startswith("{")]
    rps: dict[str, list[float]] = {"/bare": [], "/guarded": []}
    errors = 0
    for b in bursts:
        rps[b["path"]].append(b["requests"] / b["seconds"])
        errors += b["errors"]
    ratios = [g / b for b, g in zip(rps["/bare"], rps["/guarded"], strict=False) if b]
    return {
        "bare_rps": median(rps["/bare"]),
        "guarded_rps": median(rps["/guarded"]),
        "ratio": median(ratios),
        "ratios": ratios,
        "errors": errors,
        "connections": connections,
        "seconds_per_burst": seconds,
    }


# -- report ------------------------------------------------------------------------------------------


def overhead_ratios(data: dict[str, list[float]], name: str, base: str = "hand_async") -> list[float]:
    """Per round, ``name``'s overhead over the bare route divided by ``base``'s (``base`` costing nothing: skipped)."""
    return [(v - b) / (h - b) for v, h, b in zip(data[name], data[base], data["bare"], strict=True) if h - b > 0]


def summarise(
    same: dict[str, list[float]],
    fresh: dict[str, list[float]],
    labels: dict[str, str],
    hops: dict[str, int],
    decode: dict[str, list[float]],
    focused: dict[str, dict[str, list[float]]],
) -> dict[str, Any]:
    """Medians and ratios; per-round ratios are paired within a round, then the median taken.

    The x hand-rolled ratios of the guarded variants the focused run measured come from
    its rounds (the precise ones, marked †); the µs columns always come from this run.
    """
    rows = []
    for name in same:
        in_focus = name in focused["same"] and name not in ("bare", "hand_async")  # the baselines: 0 and 1 anywhere
        ratio_same, ratio_fresh = (focused["same"], focused["fresh"]) if in_focus else (same, fresh)
        rows.append(
            {
                "name": name,
                "label": labels[name] + (" †" if in_focus else ""),
                "same_us": median(same[name]),
                "same_overhead_us": median([v - b for v, b in zip(same[name], same["bare"], strict=True)]),
                "same_ratio": median(overhead_ratios(ratio_same, name)),
                "fresh_us": median(fresh[name]),
                "fresh_overhead_us": median([v - b for v, b in zip(fresh[name], fresh["bare"], strict=True)]),
                "fresh_ratio": median(overhead_ratios(ratio_fresh, name)),
                "hops": hops.get(name),
            }
        )
    decode_rows = {name: median(values) for name, values in decode.items()}

    def paired(a: str, b: str) -> float:
        return median([x / y for x, y in zip(decode[a], decode[b], strict=False) if y])

    return {
        "requests": rows,
        "decode_us": decode_rows,
        "decode_vs_floor": paired("apo_decode", "floor"),
        "cached_decode_vs_floor": paired("apo_decode_cached", "floor"),
        "pyjwt_vs_floor": paired("pyjwt_decode", "floor"),
        "decode_vs_pyjwt": {
            alg: paired(f"apo_decode{suffix}", f"pyjwt_decode{suffix}")
            for alg, suffix in (("HS256", ""), ("RS256", "_rs256"), ("ES256", "_es256"), ("EdDSA", "_eddsa"))
        },
    }


def bootstrap_interval(values: list[float], *, draws: int = 2000) -> tuple[float, float]:
    """A 90% bootstrap interval of the median of ``values`` (a fixed seed: the same rounds, the same interval)."""
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[draws // 20], medians[draws - draws // 20 - 1]


def summarise_targets(pooled: dict[str, dict[str, list[float]]], *, processes: int) -> dict[str, Any]:
    """The request targets from the focused run: medians of paired per-round ratios, with 90% intervals."""
    same, fresh = pooled["same"], pooled["fresh"]

    def measure(data: dict[str, list[float]], name: str, base: str = "hand_async") -> dict[str, float]:
        ratios = overhead_ratios(data, name, base)
        low, high = bootstrap_interval(ratios)
        return {"median": median(ratios), "low": low, "high": high}

    return {
        "processes": processes,
        "rounds": len(same["bare"]),
        "same_token": {"dependency": measure(same, "apo_dep"), "permission": measure(same, "apo_perm")},
        "never_seen": {"dependency": measure(fresh, "apo_dep"), "permission": measure(fresh, "apo_perm")},
        "decorator": measure(same, "apo_deco", "apo_perm"),
    }


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "| variant | same token: CPU µs/request | overhead µs | x hand-rolled | never-seen: CPU µs/request "
        "| overhead µs | x hand-rolled | thread-pool hops |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in summary["requests"]:
        same_ratio = "—" if row["name"] == "bare" else f"{row['same_ratio']:.2f}"
        fresh_ratio = "—" if row["name"] == "bare" else f"{row['fresh_ratio']:.2f}"
        lines.append(
            f"| {row['label']} | {row['same_us']:.1f} | {row['same_overhead_us']:.1f} | {same_ratio} "
            f"| {row['fresh_us']:.1f} | {row['fresh_overhead_us']:.1f} | {fresh_ratio} | {row['hops']} |"
        )
    d = summary["decode_us"]
    lines += [
        "",
        "| decode (CPU µs per token) | µs | ratio |",
        "| --- | ---: | ---: |",
        f"| stdlib floor (HMAC-SHA256 + base64url + json.loads) | {d['floor']:.1f} | 1.00 |",
        f"| `ajwt.decode`, never-seen HS256 token | {d['apo_decode']:.1f} | {summary['decode_vs_floor']:.2f} x floor |",
        f"| `ajwt.decode`, cached HS256 token | {d['apo_decode_cached']:.1f} "
        f"| {summary['cached_decode_vs_floor']:.2f} x floor |",
        f"| PyJWT `jwt.decode`, HS256 | {d['pyjwt_decode']:.1f} | {summary['pyjwt_vs_floor']:.2f} x floor |",
    ]
    for alg in ("RS256", "ES256", "EdDSA"):
        key = alg.lower()
        lines.append(
            f"| `ajwt.decode` / PyJWT, never-seen {alg} "
            f"| {d['apo_decode_' + key]:.1f} / {d['pyjwt_decode_' + key]:.1f} "
            f"| {summary['decode_vs_pyjwt'][alg]:.2f} x PyJWT |"
        )
    server = summary.get("uvicorn")
    if server:
        lines += [
            "",
            "| uvicorn, 127.0.0.1, load from a second process | requests/s |",
            "| --- | ---: |",
            f"| bare route | {server['bare_rps']:.0f} |",
            f"| same route, `ajwt.permission(...)` dependency | {server['guarded_rps']:.0f} |",
            f"| guarded ÷ bare (median of paired rounds) | {server['ratio']:.2f} |",
        ]
    memory = summary.get("memory")
    if memory:
        lines += [
            "",
            "| flood through `ajwt.decode` (cache_size=4096) | retained MiB | cache entries |",
            "| --- | ---: | ---: |",
        ]
        for name, m in memory.items():
            kind, count = name.split("_")
            what = (
                f"{int(count):,} distinct valid tokens, each twice"
                if kind == "valid"
                else f"{int(count):,} bogus tokens"
            )
            extra = f" (parsed-header cache: {m['header_cache_entries']})" if "header_cache_entries" in m else ""
            lines.append(f"| {what} | {m['retained_mb']:.1f} | {m['cache_entries']}{extra} |")
    return "\n".join(lines)


def _shown(measured: dict[str, float]) -> str:
    return f"{measured['median']:.2f} [{measured['low']:.2f}, {measured['high']:.2f}]"


def targets_table(summary: dict[str, Any]) -> str:
    rows = {r["name"]: r for r in summary["requests"]}
    dep = rows["apo_dep"]
    targets = summary["targets"]
    same, fresh, decorator = targets["same_token"], targets["never_seen"], targets["decorator"]
    lines = [
        "| target | measured [90% interval] | |",
        "| --- | ---: | --- |",
        f"| same token: guard overhead ≤ {TARGETS['same_token']}x hand-rolled async "
        f"| {_shown(same['dependency'])} (permission: {_shown(same['permission'])}) "
        f"| {verdict(max(m['median'] for m in same.values()) <= TARGETS['same_token'])} |",
        f"| never-seen token: ≤ {TARGETS['never_seen']}x "
        f"| {_shown(fresh['dependency'])} (permission: {_shown(fresh['permission'])}) "
        f"| {verdict(max(m['median'] for m in fresh.values()) <= TARGETS['never_seen'])} |",
        f"| `ajwt.decode` never-seen HS256 ≤ {TARGETS['decode_floor']}x stdlib floor "
        f"| {summary['decode_vs_floor']:.2f} "
        f"| {verdict(summary['decode_vs_floor'] <= TARGETS['decode_floor'])} |",
        f"| decorator on `async def` within 10% of the permission dependency | {_shown(decorator)} "
        f"| {verdict(decorator['median'] <= TARGETS['decorator'])} |",
        f"| thread-pool hops, async handlers | dependency {dep['hops']}, decorator {rows['apo_deco']['hops']} "
        f"| {verdict(dep['hops'] == 0 and rows['apo_deco']['hops'] == 0)} |",
    ]
    server = summary.get("uvicorn")
    if server:
        lines.append(
            f"| uvicorn: guarded ≥ {TARGETS['uvicorn']}x the bare route's requests/s | {server['ratio']:.2f} "
            f"| {verdict(server['ratio'] >= TARGETS['uvicorn'])} |"
        )
    memory = summary.get("memory")
    if memory:
        bounded = all(m["cache_entries"] <= 4096 for m in memory.values())
        lines.append(f"| memory bounded under floods | cache ≤ 4096 entries | {verdict(bounded)} |")
    return "\n".join(lines)


def draw(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary["requests"] if r["name"] != "bare"]
    labels = [r["label"] for r in rows]
    same = [r["same_ratio"] for r in rows]
    fresh = [r["fresh_ratio"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.2), gridspec_kw={"width_ratios": [3, 2]})
    ys = range(len(rows))
    height = 0.38
    left.barh([y - height / 2 for y in ys], same, height, label="same token each request", color="#2b7bba")
    left.barh([y + height / 2 for y in ys], fresh, height, label="never-seen token each request", color="#f29e4c")
    left.set_yticks(list(ys), labels)
    left.invert_yaxis()
    left.axvline(1.0, color="black", lw=1)
    left.axvline(TARGETS["same_token"], color="#2b7bba", ls="--", lw=1, label="target, same token (0.25)")
    left.axvline(TARGETS["never_seen"], color="#f29e4c", ls="--", lw=1, label="target, never-seen (0.5)")
    left.set_xlabel("auth overhead ÷ hand-rolled async PyJWT dependency's (CPU time, lower is better)")
    left.set_title("Auth overhead per request, in-process")
    left.legend(loc="lower right", fontsize=8)
    for y, value in zip(ys, same, strict=False):
        left.text(value + 0.03, y - height / 2, f"{value:.2f}", va="center", fontsize=7)
    for y, value in zip(ys, fresh, strict=False):
        left.text(value + 0.03, y + height / 2, f"{value:.2f}", va="center", fontsize=7)

    names = ["decode ÷ stdlib floor\n(never-seen HS256)", "PyJWT decode ÷ floor", "decorator ÷ dependency\n(overhead)"]
    values = [summary["decode_vs_floor"], summary["pyjwt_vs_floor"], summary["targets"]["decorator"]["median"]]
    goals: list[float | None] = [TARGETS["decode_floor"], None, TARGETS["decorator"]]
    server = summary.get("uvicorn")
    if server:
        names.append("uvicorn requests/s\nguarded ÷ bare")
        values.append(server["ratio"])
        goals.append(TARGETS["uvicorn"])
    colors = ["#2b7bba", "#999999", "#2b7bba", "#3a9d5d"][: len(values)]
    right.barh(range(len(values)), values, color=colors)
    right.set_yticks(range(len(values)), names)
    right.invert_yaxis()
    for y, (value, goal) in enumerate(zip(values, goals, strict=False)):
        right.text(value + 0.05, y, f"{value:.2f}", va="center", fontsize=8)
        if goal is not None:
            right.plot([goal, goal], [y - 0.4, y + 0.4], color="crimson", lw=2)
    right.set_title("Other ratios (red tick: target)")
    right.set_xlabel("ratio")
    fig.suptitle("fastapi-apojwt benchmark (medians of interleaved rounds; make bench)", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def update_docs(path: Path, summary: dict[str, Any], environment: str) -> None:
    if not path.exists():
        return
    text = path.read_text()
    start, end = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
    if start not in text or end not in text:
        return
    block = f"{start}\n{environment}\n\n{targets_table(summary)}\n\n{markdown(summary)}\n{end}"
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(before + block + after)


def run_stores(args: argparse.Namespace, *, quick: bool, results: dict[str, Any] | None) -> dict[str, Any] | None:
    """The store comparison; ``--stores-only`` keeps the rest of results.json and refreshes only its own table."""
    print("stores on uvicorn: memory, Redis, Redis + mirror", flush=True)
    stores = bench_stores(
        rounds=2 if quick else 13,  # many short interleaved bursts: a shared machine drifts within seconds
        seconds=0.5 if quick else 1.2,
        connections=32,
        sessions=2000 if quick else 5000,
        samples=50 if quick else 300,
    )
    if stores is None:
        return None
    environment = (
        f"Measured on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )
    stores["environment"] = environment
    print()
    print(stores_markdown(stores))
    if results is None:
        path = args.results
        saved = json.loads(path.read_text()) if path.exists() else {}
        saved["stores"] = stores
        path.write_text(json.dumps(saved, indent=1, default=str) + "\n")
    if not args.no_docs:
        update_stores_docs(ROOT / "docs" / "performance.md", stores, environment)
    return stores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds, small batches")
    parser.add_argument("--no-server", action="store_true", help="skip the uvicorn measurement")
    parser.add_argument("--no-docs", action="store_true", help="do not touch docs/ (chart and table)")
    parser.add_argument("--no-stores", action="store_true", help="skip the store comparison (memory, Redis, mirror)")
    parser.add_argument("--stores-only", action="store_true", help="run the store comparison alone")
    parser.add_argument("--results", type=Path, default=HERE / "results.json", help="where the raw numbers go (JSON)")
    parser.add_argument("--targets-worker", type=int, nargs=2, metavar=("ROUNDS", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.targets_worker:
        targets_worker(*args.targets_worker)
        return
    rounds, batch = (3, 40) if args.quick else (41, 100)  # many short rounds: the medians of a noisy machine settle
    processes, process_rounds = (1, 3) if args.quick else (4, 101)  # the focused run: 404 rounds, four hash seeds
    started = time.perf_counter()
    if args.stores_only:
        run_stores(args, quick=args.quick, results=None)
        print(f"\n({time.perf_counter() - started:.0f} s)")
        return

    variants = request_variants()
    labels = {v.name: v.label for v in variants}
    print(f"in-process requests: {len(variants)} variants x {rounds} rounds x {batch} requests", flush=True)
    same = asyncio.run(bench_requests(variants, rounds=rounds, batch=batch, never_seen=False))
    fresh = asyncio.run(bench_requests(variants, rounds=rounds, batch=batch, never_seen=True))
    hops = asyncio.run(count_hops(variants))
    print("decode", flush=True)
    decode = bench_decode(rounds=rounds, batch=batch * 2)
    print(f"targets: {len(TARGET_VARIANTS)} variants x {processes} processes x {process_rounds} rounds", flush=True)
    focused = bench_targets(processes=processes, rounds=process_rounds, batch=batch)
    summary = summarise(same, fresh, labels, hops, decode, focused)
    summary["targets"] = summarise_targets(focused, processes=processes)
    print("memory", flush=True)
    summary["memory"] = bench_memory(distinct=2000 if args.quick else 40000, bogus=2000 if args.quick else 50000)
    if not args.no_server:
        print("uvicorn", flush=True)
        summary["uvicorn"] = bench_uvicorn(
            rounds=2 if args.quick else 6, seconds=0.5 if args.quick else 2.0, connections=16
        )
    environment = (
        f"Measured on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{rounds} interleaved rounds of {batch} requests; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"The request targets: {summary['targets']['rounds']} rounds of the variants they compare, run alone "
        f"in {processes} process{'es' if processes > 1 else ''}, with a 90% bootstrap interval of each median; "
        "† marks the rows whose x hand-rolled ratios come from that run."
    )
    summary["environment"] = environment
    summary["raw"] = {"same": same, "fresh": fresh, "decode": decode, "targets": focused}
    print()
    print(environment)
    print()
    print(targets_table(summary))
    print()
    print(markdown(summary))
    if not args.no_stores:
        summary["stores"] = run_stores(args, quick=args.quick, results=summary)
    args.results.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    if not args.no_docs:
        draw(summary, ROOT / "docs" / "img" / "benchmark.png")
        update_docs(ROOT / "docs" / "performance.md", summary, environment)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

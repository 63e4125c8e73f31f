"""Bounded load test of the example app on uvicorn with Redis (``make load``).

Starts a private redis-server and ``--instances`` uvicorn processes of
``example_app.main:app`` sharing it (``APOJWT_REDIS_URL``), then runs
``--users`` concurrent virtual users for ``--duration`` seconds. Each user
loops: log in, call guarded routes, refresh (rotation), call again, log out,
and then tries its revoked tokens once more. Every few sessions a user also
races ``--race`` concurrent refreshes with the same refresh token.

Requests go round-robin across the instances, so revocation and rotation are
checked across processes. The run stops by itself after the duration (and
every request has a timeout). It reports throughput and p50/p99 latency, and
fails (exit status 1) unless:

* no response is a 5xx and no request fails at the transport level;
* every response has the status the flow expects;
* no token is accepted after its revocation (logout) completed;
* each refresh race has exactly one winner (exactly-once rotation), and the
  losers' replay revokes the family (the winner's new refresh token dies too).

Usage::

    python -m tests.load.run [--duration 20] [--users 32] [--instances 2] [--race 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.servers import RedisServer, UvicornServer, redis_server

USERS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}
EXPECTED_ORDERS = {"alice": 200, "bob": 200, "root": 200}
EXPECTED_ADMIN = {"alice": 403, "bob": 403, "root": 200}


@dataclass
class Stats:
    """Everything the run measured."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    revoked_accepted: list[str] = field(default_factory=list)
    revocation_checks: int = 0
    sessions: int = 0
    refreshes: int = 0
    races: int = 0
    race_failures: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """Human-readable reasons the run failed (empty when it passed)."""
        problems: list[str] = []
        for label, items in (
            ("5xx responses", self.server_errors),
            ("transport errors", self.transport_errors),
            ("unexpected statuses", self.unexpected),
            ("tokens accepted after revocation", self.revoked_accepted),
            ("refresh races without exactly one winner", self.race_failures),
        ):
            if items:
                problems.append(f"{len(items)} {label}, e.g. {items[:3]}")
        if self.sessions == 0:
            problems.append("no session completed: the run measured nothing")
        return problems


class Load:
    """The virtual users and their checks."""

    def __init__(self, urls: list[str], stats: Stats, deadline: float, race: int) -> None:
        self.urls = urls
        self.stats = stats
        self.deadline = deadline
        self.race = race
        self._next = 0

    def url(self) -> str:
        self._next = (self._next + 1) % len(self.urls)
        return self.urls[self._next]

    async def call(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        expect: int | tuple[int, ...],
        base: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One request: timed, classified and checked against the expected status."""
        url = (base or self.url()) + path
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.stats.transport_errors.append(f"{method} {path}: {type(exc).__name__}")
            return None
        finally:
            client.cookies.clear()  # cookies are sent explicitly: never let the jar mix sessions
        self.stats.latencies.append(time.perf_counter() - started)
        self.stats.statuses[response.status_code] += 1
        self.stats.by_route[f"{method} {path}"] += 1
        if response.status_code >= 500:
            self.stats.server_errors.append(f"{method} {path} -> {response.status_code}: {response.text[:100]}")
        expected = expect if isinstance(expect, tuple) else (expect,)
        if response.status_code not in expected:
            self.stats.unexpected.append(f"{method} {path} -> {response.status_code} (expected {expected})")
        return response

    @staticmethod
    def refresh_headers(refresh: str, csrf: str) -> dict[str, str]:
        return {"Cookie": f"refresh_token={refresh}; csrf_refresh_token={csrf}", "X-CSRF-Token": csrf}

    @staticmethod
    def session_cookies(response: httpx.Response) -> tuple[str, str]:
        return response.cookies["refresh_token"], response.cookies["csrf_refresh_token"]

    async def user(self, number: int) -> None:
        """One virtual user: sessions until the deadline."""
        name = list(USERS)[number % len(USERS)]
        async with httpx.AsyncClient(timeout=10) as client:
            session = 0
            while time.monotonic() < self.deadline:
                session += 1
                if self.race and (session + number) % 3 == 0:
                    await self.refresh_race(client, name)
                else:
                    await self.session(client, name)

    async def login(self, client: httpx.AsyncClient, name: str) -> tuple[str, str, str] | None:
        response = await self.call(
            client, "POST", "/auth/login", expect=200, json={"username": name, "password": USERS[name]}
        )
        if response is None or response.status_code != 200:
            return None
        refresh, csrf = self.session_cookies(response)
        return response.json()["access_token"], refresh, csrf

    async def session(self, client: httpx.AsyncClient, name: str) -> None:
        """Login, guarded calls, refresh, guarded calls, logout, then the revoked tokens must fail."""
        tokens = await self.login(client, name)
        if tokens is None:
            return
        access, refresh, csrf = tokens
        auth = {"Authorization": f"Bearer {access}"}
        await self.call(client, "GET", "/me", expect=200, headers=auth)
        await self.call(client, "GET", "/orders", expect=EXPECTED_ORDERS[name], headers=auth)
        await self.call(client, "GET", "/admin", expect=EXPECTED_ADMIN[name], headers=auth)

        response = await self.call(
            client, "POST", "/auth/refresh", expect=200, headers=self.refresh_headers(refresh, csrf)
        )
        if response is None or response.status_code != 200:
            return
        self.stats.refreshes += 1
        old_refresh, old_csrf = refresh, csrf
        refresh, csrf = self.session_cookies(response)
        access = response.json()["access_token"]
        auth = {"Authorization": f"Bearer {access}"}
        await self.call(client, "GET", "/orders", expect=EXPECTED_ORDERS[name], headers=auth)
        await self.call(client, "GET", "/me", expect=200, headers=auth)

        response = await self.call(
            client, "POST", "/auth/logout", expect=200, headers=self.refresh_headers(refresh, csrf)
        )
        if response is None or response.status_code != 200:
            return
        # The logout has completed: from now on every token of this session must be refused, on every instance.
        for base in self.urls:
            await self.expect_revoked(client, base, "GET", "/me", headers=auth)
            await self.expect_revoked(
                client, base, "POST", "/auth/refresh", headers=self.refresh_headers(refresh, csrf)
            )
        await self.expect_revoked(
            client, self.urls[0], "POST", "/auth/refresh", headers=self.refresh_headers(old_refresh, old_csrf)
        )
        self.stats.sessions += 1

    async def expect_revoked(self, client: httpx.AsyncClient, base: str, method: str, path: str, **kwargs: Any) -> None:
        self.stats.revocation_checks += 1
        response = await self.call(client, method, path, expect=401, base=base, **kwargs)
        if response is not None and response.status_code < 300:
            self.stats.revoked_accepted.append(f"{method} {base}{path} -> {response.status_code}")

    async def refresh_race(self, client: httpx.AsyncClient, name: str) -> None:
        """``race`` concurrent refreshes with one token, across instances: exactly one may win."""
        tokens = await self.login(client, name)
        if tokens is None:
            return
        _, refresh, csrf = tokens
        headers = self.refresh_headers(refresh, csrf)
        racers = [httpx.AsyncClient(timeout=10) for _ in range(self.race)]
        try:
            responses = await asyncio.gather(
                *(
                    self.call(
                        racer,
                        "POST",
                        "/auth/refresh",
                        expect=(200, 401),
                        base=self.urls[i % len(self.urls)],
                        headers=headers,
                    )
                    for i, racer in enumerate(racers)
                )
            )
        finally:
            for racer in racers:
                await racer.aclose()
        if any(r is None for r in responses):
            return
        winners = [r for r in responses if r is not None and r.status_code == 200]
        self.stats.races += 1
        if len(winners) != 1:
            self.stats.race_failures.append(f"{len(winners)} winners of {self.race}")
            return
        # The losers were replays: the family is revoked, so the winner's new tokens are dead too.
        new_refresh, new_csrf = self.session_cookies(winners[0])
        new_access = winners[0].json()["access_token"]
        await self.expect_revoked(
            client, self.urls[0], "POST", "/auth/refresh", headers=self.refresh_headers(new_refresh, new_csrf)
        )
        await self.expect_revoked(
            client, self.urls[-1], "GET", "/me", headers={"Authorization": f"Bearer {new_access}"}
        )


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))
    return ordered[index]


async def drive(urls: list[str], *, duration: float, users: int, race: int) -> tuple[Stats, float]:
    """Run the virtual users against ``urls`` for ``duration`` seconds."""
    stats = Stats()
    started = time.monotonic()
    load = Load(urls, stats, started + duration, race)
    await asyncio.wait_for(asyncio.gather(*(load.user(n) for n in range(users))), timeout=duration + 60)
    return stats, time.monotonic() - started


@contextlib.contextmanager
def servers(instances: int, redis_url: str | None = None) -> Iterator[tuple[list[UvicornServer], RedisServer | None]]:
    """Redis (private unless ``redis_url``) and ``instances`` uvicorn processes of the example app sharing it."""
    env = {
        "APOJWT_SECRET": secrets.token_urlsafe(48),
        "APOJWT_REFRESH_SECRET": secrets.token_urlsafe(48),
    }
    with contextlib.ExitStack() as stack:
        redis: RedisServer | None = None
        if redis_url is None:
            redis = stack.enter_context(redis_server())
            redis_url = redis.url
        env["APOJWT_REDIS_URL"] = redis_url
        env["APOJWT_REDIS_MIRROR"] = (
            "0"  # exact: every check asks Redis (the mirror's bound: tests/e2e/test_example_mirror.py)
        )
        started: list[UvicornServer] = []
        for _ in range(instances):
            server = UvicornServer("example_app.main:app", env).start()
            stack.callback(server.stop)
            started.append(server)
        yield started, redis


def report(stats: Stats, elapsed: float, *, users: int, instances: int) -> dict[str, Any]:
    """The numbers of a run, as a dict (also printed)."""
    total = len(stats.latencies)
    return {
        "duration_s": round(elapsed, 2),
        "users": users,
        "instances": instances,
        "requests": total,
        "throughput_rps": round(total / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(stats.latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(stats.latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(stats.latencies) * 1000, 2) if total else None,
        "statuses": dict(sorted(stats.statuses.items())),
        "sessions": stats.sessions,
        "refreshes": stats.refreshes,
        "revocation_checks": stats.revocation_checks,
        "revoked_accepted": len(stats.revoked_accepted),
        "refresh_races": stats.races,
        "race_failures": len(stats.race_failures),
        "server_errors": len(stats.server_errors),
        "transport_errors": len(stats.transport_errors),
        "unexpected": len(stats.unexpected),
        "failures": stats.failures(),
    }


def run(
    *, duration: float = 20, users: int = 32, instances: int = 2, race: int = 4, redis_url: str | None = None
) -> dict[str, Any]:
    """Start the servers (on a private Redis unless ``redis_url``), drive the load, return the report."""
    with servers(instances, redis_url) as (started, _):
        stats, elapsed = asyncio.run(drive([s.url for s in started], duration=duration, users=users, race=race))
    return report(stats, elapsed, users=users, instances=instances)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("LOAD_DURATION", 20)))
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--race", type=int, default=4, help="concurrent refreshes per race (0: no races)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    result = run(duration=args.duration, users=args.users, instances=args.instances, race=args.race)
    for key, value in result.items():
        if key != "failures":
            print(f"{key:>20}: {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    if result["failures"]:
        print("LOAD TEST FAILED:", *result["failures"], sep="\n  ", file=sys.stderr)
        return 1
    print("load test passed: no 5xx, no errors, no token accepted after revocation, exactly-once rotation")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The example app as deployed by default with Redis: every instance answers from its revocation mirror.

Two uvicorn processes of ``example_app.main:app`` share one real redis-server
(the default, ``APOJWT_REDIS_MIRROR`` unset or 1: the mirror). A revocation on one is refused by
the other within the bound; a frozen Redis (SIGSTOP) gives every request an answer
within 2 s, 503s once the bound has passed, and the service recovers by itself.
No test asserts speed: the elapsed-time checks are the issue's 2 s rule and hang detectors.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.faults.flows import example_app_on_redis, login, logout, me, refresh
from tests.servers import RedisServer, UvicornServer, redis_server

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX signals")]


@contextlib.contextmanager
def mirrored_fleet() -> Iterator[tuple[RedisServer, UvicornServer, UvicornServer]]:
    with (
        redis_server() as redis,
        example_app_on_redis(redis.url, mirror=True) as a,
        example_app_on_redis(redis.url, mirror=True) as b,
    ):
        yield redis, a, b


def within(seconds: float, check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_a_logout_on_one_instance_is_refused_by_the_other_within_the_bound() -> None:
    with mirrored_fleet() as (_, a, b), a.client() as on_a, b.client() as on_b:
        session = login(on_a)
        assert me(on_b, session).status_code == 200  # B's mirror is following by now
        assert logout(on_a, session).status_code == 200
        assert me(on_a, session).status_code == 401  # the instance that revoked: at once
        assert within(1.0, lambda: me(on_b, session).status_code == 401)  # the other: within the bound
        assert refresh(on_b, session).status_code == 401
        other = login(on_b)
        assert me(on_a, other).status_code == 200  # only that session


def test_frozen_redis_answers_within_two_seconds_then_recovers() -> None:
    with mirrored_fleet() as (redis, a, _), a.client() as client:
        live = login(client, "bob")
        revoked = login(client, "alice")
        assert me(client, live).status_code == 200
        assert logout(client, revoked).status_code == 200  # revoked just before the outage
        assert redis.process is not None
        os.kill(redis.process.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        statuses: list[tuple[float, int, int]] = []
        try:
            with httpx.Client(base_url=a.url, timeout=5) as probe:
                while not statuses or statuses[-1][0] < 2.0:  # until a pair sent 2 s or more after the freeze
                    sent = time.monotonic()
                    live_status = me(probe, live).status_code
                    revoked_status = me(probe, revoked).status_code
                    statuses.append((sent - frozen_at, live_status, revoked_status))
                    assert time.monotonic() - sent < 2 * 2.0, "a request hung"  # two requests, 2 s each at most
        finally:
            os.kill(redis.process.pid, signal.SIGCONT)
        assert all(r in (401, 503) for _, _, r in statuses), statuses  # the revoked token: never a 200
        assert all(s in (200, 503) for _, s, _ in statuses), statuses  # never a 500
        late = [s for at, s, _ in statuses if at >= 2.0]
        assert late, statuses
        assert set(late) == {503}, statuses  # past 2 s: no 200 from a mirror that cannot prove itself
        assert within(10.0, lambda: me(client, live).status_code == 200)  # recovers by itself
        assert me(client, revoked).status_code == 401


def test_the_example_app_mirrors_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    from example_app import main
    from example_app.settings import Settings
    from fastapi_apojwt.stores.redis import RedisStore

    monkeypatch.setenv("APOJWT_REDIS_URL", "redis://127.0.0.1:1/0")  # never connected to here
    for value, mirrored in ((None, True), ("1", True), ("0", False)):
        if value is None:
            monkeypatch.delenv("APOJWT_REDIS_MIRROR", raising=False)
        else:
            monkeypatch.setenv("APOJWT_REDIS_MIRROR", value)
        monkeypatch.setattr(main, "settings", Settings())
        store = main.token_store()
        assert isinstance(store, RedisStore)
        assert store.mirror is mirrored

"""Issue 12, through TestClient: used-up refresh tokens on every guard, 503 rotations, the session start
across rotations, cut-offs at sub-second precision, mints inside a refresh handler, outage logging, session
lists, auth events and shutdown."""

import asyncio
import logging
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient

from fastapi_apojwt import (
    ApoJWT,
    AuthEvent,
    MemoryStore,
    RefreshContext,
    ServiceUnavailableError,
    SessionInfo,
    TokenReuseError,
)
from tests.integration.refresh_helpers import Clock, make_ajwt, make_app, refresh_headers


def login(ajwt: ApoJWT, sub: str = "alice") -> tuple[str, str]:
    access, refresh = ajwt.create_token(sub=sub, permissions=["orders:read"])
    return access, refresh


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rotate(client: TestClient, ajwt: ApoJWT, refresh: str, path: str = "/auth/refresh") -> Any:
    return client.post(path, headers=refresh_headers(refresh, ajwt.csrf_token(refresh)))


class Flaky(MemoryStore):
    """A MemoryStore whose operations fail while ``down`` (optionally only ``use_refresh_token``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.down = False
        self.fail_use_after_write = False

    async def is_revoked(self, **kwargs: Any) -> bool:
        if self.down:
            raise ConnectionError("backend at 10.0.0.7 refused eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl")
        return await super().is_revoked(**kwargs)

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        if self.down:
            raise ConnectionError("down")
        return await super().use_refresh_token(jti, family=family, ttl=ttl)


# -- 1. every refresh guard refuses a used-up token; its return revokes the family ---------------------------


@pytest.mark.parametrize("second", ["/auth/refresh", "/auth/logout"])
def test_used_up_refresh_token_is_refused_by_every_refresh_guard(second: str) -> None:
    ajwt = make_ajwt()
    client = TestClient(make_app(ajwt))
    access, old = login(ajwt)
    rotated = rotate(client, ajwt, old)
    assert rotated.status_code == 200
    new_access = rotated.json()["access_token"]
    assert client.get("/me", headers=bearer(new_access)).status_code == 200

    replay = rotate(client, ajwt, old, second)  # the thief's old cookie, on either guard
    assert replay.status_code == 401
    assert replay.json()["detail"] == TokenReuseError.message
    assert client.get("/me", headers=bearer(new_access)).status_code == 401  # the family is revoked
    assert client.get("/me", headers=bearer(access)).status_code == 401


def test_refresh_token_required_does_not_use_the_token_up() -> None:
    ajwt = make_ajwt()
    app = make_app(ajwt)

    @app.get("/auth/whoami")
    async def whoami(ctx: Annotated[RefreshContext, Depends(ajwt.refresh_token_required)]) -> str:
        return ctx.sub

    client = TestClient(app)
    _, refresh = login(ajwt)
    headers = refresh_headers(refresh, ajwt.csrf_token(refresh))
    assert client.get("/auth/whoami", headers=headers).json() == "alice"
    assert client.get("/auth/whoami", headers=headers).json() == "alice"
    assert rotate(client, ajwt, refresh).status_code == 200  # still usable by the rotation
    assert client.get("/auth/whoami", headers=headers).status_code == 401  # now used up


def test_a_store_without_is_refresh_token_used_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    class OldStore(MemoryStore):
        is_refresh_token_used = None  # type: ignore[assignment]

    ajwt = make_ajwt(store=OldStore())
    client = TestClient(make_app(ajwt))
    _, refresh = login(ajwt)
    with caplog.at_level(logging.ERROR, logger="fastapi_apojwt.sessions"):
        assert rotate(client, ajwt, refresh, "/auth/logout").status_code == 503
    assert "is_refresh_token_used" in caplog.text
    assert rotate(client, ajwt, refresh).status_code == 200  # the rotation itself does not need it


# -- 2. a rotation answered with 503 leaves the token usable -----------------------------------------------


def test_a_rotation_that_answered_503_leaves_the_token_usable() -> None:
    store = Flaky()
    ajwt = make_ajwt(store=store)
    client = TestClient(make_app(ajwt))
    _, refresh = login(ajwt)
    store.down = True
    assert rotate(client, ajwt, refresh).status_code == 503
    store.down = False
    retry = rotate(client, ajwt, refresh)
    assert retry.status_code == 200  # the retry is not a replay
    assert rotate(client, ajwt, refresh).status_code == 401  # but a real second use is


def test_nothing_after_the_use_up_can_fail_the_rotation() -> None:
    class IndexDown(MemoryStore):
        async def add_session(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionError("index down")

    ajwt = make_ajwt(store=IndexDown())
    ajwt.add_event_listener(lambda event: 1 / 0)  # type: ignore[arg-type,func-returns-value]
    client = TestClient(make_app(ajwt))
    _, refresh = login(ajwt)
    assert rotate(client, ajwt, refresh).status_code == 200


# -- 3. the session's start travels across rotations ---------------------------------------------------------


def test_auth_time_is_written_at_login_and_copied_by_rotations() -> None:
    clock = Clock(1_800_000_000.25)
    ajwt = make_ajwt(clock=clock, store=MemoryStore(clock=clock))
    client = TestClient(make_app(ajwt))
    access, refresh = login(ajwt)
    started = ajwt.decode(access).claims["auth_time"]
    assert started == pytest.approx(1_800_000_000.25, abs=1e-5)  # sub-second precision kept
    assert isinstance(started, float)
    assert ajwt.sessions.refresh_claims(refresh)["auth_time"] == started  # type: ignore[index]
    for _ in range(3):
        clock.now += 600
        response = rotate(client, ajwt, refresh, "/auth/refresh-seed")
        body, refresh = response.json(), response.cookies["refresh_token"]
        assert ajwt.decode(body["access_token"]).claims["auth_time"] == started
        assert ajwt.sessions.refresh_claims(refresh)["auth_time"] == started  # type: ignore[index]


class Gate(MemoryStore):
    """A MemoryStore whose use_refresh_token waits until released: a refresh held in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def use_refresh_token(self, jti: str, *, family: str, ttl: float) -> bool:
        self.entered.set()
        await self.release.wait()
        return await super().use_refresh_token(jti, family=family, ttl=ttl)


async def test_a_refresh_in_flight_cannot_outlive_revoke_subject() -> None:
    store = Gate()
    ajwt = make_ajwt(store=store)
    app = make_app(ajwt)
    _, refresh = login(ajwt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        in_flight = asyncio.create_task(
            client.post("/auth/refresh", headers=refresh_headers(refresh, ajwt.csrf_token(refresh)))
        )
        await asyncio.wait_for(store.entered.wait(), timeout=5)
        await ajwt.revoke_subject("alice")  # "log out everywhere" while the rotation is held
        store.release.set()
        rotated = await in_flight
        assert rotated.status_code == 200  # it had passed its checks: it completes...
        new_access, new_refresh = rotated.json()["access_token"], rotated.cookies["refresh_token"]
        assert (await client.get("/me", headers=bearer(new_access))).status_code == 401  # ...but extends nothing
        again = await client.post("/auth/refresh", headers=refresh_headers(new_refresh, ajwt.csrf_token(new_refresh)))
        assert again.status_code == 401
        _, fresh_login = login(ajwt)  # and a login after the call works
        later = await client.post("/auth/refresh", headers=refresh_headers(fresh_login, ajwt.csrf_token(fresh_login)))
        assert later.status_code == 200


def test_apojwt_1x_tokens_fall_back_to_iat() -> None:
    clock = Clock()
    ajwt = make_ajwt(clock=clock, store=MemoryStore(clock=clock))
    claims = ajwt.codec.base_claims(900)
    claims.update(sub="alice", perms=[], data={})  # the 1.x shape: no type, no auth_time
    token = ajwt.codec.encode(claims)
    client = TestClient(make_app(ajwt))
    assert client.get("/me", headers=bearer(token)).status_code == 200
    asyncio.run(ajwt.revoke_subject("alice"))
    assert client.get("/me", headers=bearer(token)).status_code == 401


# -- 4. what is issued after revoke_subject works, in the same instant ------------------------------------


@pytest.mark.parametrize("frozen", [True, False])
def test_change_password_flow_in_the_same_instant(frozen: bool) -> None:
    clock = Clock() if frozen else None
    ajwt = make_ajwt(clock=clock, store=MemoryStore(clock=clock) if clock else None)
    client = TestClient(make_app(ajwt))
    before, before_refresh = login(ajwt)
    asyncio.run(ajwt.revoke_subject("alice"))  # "log out everywhere", then log in again at once
    after, after_refresh = login(ajwt)
    assert client.get("/me", headers=bearer(before)).status_code == 401
    assert client.get("/me", headers=bearer(after)).status_code == 200
    assert rotate(client, ajwt, before_refresh).status_code == 401
    assert rotate(client, ajwt, after_refresh).status_code == 200


def test_ticks_are_strictly_increasing_on_a_microsecond_grid() -> None:
    ajwt = make_ajwt(clock=lambda: 1_800_000_000.1234567)
    ticks = [ajwt.sessions.tick() for _ in range(1000)]
    assert ticks == sorted(set(ticks))
    assert all(round(t, 6) == t for t in ticks)
    assert ticks[0] == 1_800_000_000.123457


# -- 5. mints inside a refresh handler -----------------------------------------------------------------------


def test_second_mint_in_a_refresh_handler_stays_in_the_family_and_other_subjects_do_not_use_it_up() -> None:
    ajwt = make_ajwt()
    app = FastAPI()
    minted: dict[str, Any] = {}

    @app.post("/auth/refresh")
    async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> None:
        other = ajwt.create_token(sub="bob")  # e.g. a service token: not the rotation
        first = ajwt.create_token(sub=ctx.sub)
        second = ajwt.create_token(sub=ctx.sub)
        minted.update(family=ctx.family, other=other, first=first, second=second)

    client = TestClient(app)
    _, refresh_token = login(ajwt)
    assert rotate(client, ajwt, refresh_token).status_code == 200
    for name in ("first", "second"):
        access = ajwt.decode(minted[name][0])
        assert access.claims["fam"] == minted["family"]
        assert not access.fresh
    assert ajwt.decode(minted["other"][0]).claims["fam"] != minted["family"]


# -- 7. outages are logged once, at the Sessions level ------------------------------------------------------


def test_store_outage_logged_once_and_recovery(caplog: pytest.LogCaptureFixture) -> None:
    store = Flaky()
    ajwt = make_ajwt(store=store)
    events: list[AuthEvent] = []
    ajwt.add_event_listener(events.append)
    client = TestClient(make_app(ajwt))
    access, _ = login(ajwt)
    with caplog.at_level(logging.INFO, logger="fastapi_apojwt"):
        store.down = True
        for _ in range(5):
            assert client.get("/me", headers=bearer(access)).status_code == 503
        store.down = False
        assert client.get("/me", headers=bearer(access)).status_code == 200
        store.down = True
        assert client.get("/me", headers=bearer(access)).status_code == 503
    warnings = [r for r in caplog.records if r.name == "fastapi_apojwt.sessions" and r.levelno == logging.WARNING]
    assert len(warnings) == 2  # once per outage, not per request
    assert "ConnectionError" in warnings[0].getMessage()
    assert "eyJ" not in caplog.text
    assert access not in caplog.text
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert [e.name for e in events].count("store_unavailable") == 2


# -- 9. session lists -----------------------------------------------------------------------------------------


def test_list_sessions_newest_first_rotation_revocation_and_expiry() -> None:
    clock = Clock()
    ajwt = make_ajwt(clock=clock, store=MemoryStore(clock=clock))
    client = TestClient(make_app(ajwt))
    _, first = login(ajwt)
    clock.now += 5
    _, _second = login(ajwt)
    login(ajwt, "bob")
    sessions = asyncio.run(ajwt.list_sessions("alice"))
    assert all(isinstance(info, SessionInfo) for info in sessions)
    assert [info.created_at.timestamp() for info in sessions] == [clock.now, clock.now - 5]
    newest, oldest = sessions
    assert newest.refreshed_at == newest.created_at
    assert newest.expires_at.timestamp() == int(clock.now) + 3600
    assert newest.created_at.tzinfo is not None
    with pytest.raises(Exception):  # noqa: B017 - frozen
        newest.family = "x"  # type: ignore[misc]

    clock.now += 60
    assert rotate(client, ajwt, first).status_code == 200
    rotated = {info.family: info for info in asyncio.run(ajwt.list_sessions("alice"))}[oldest.family]
    assert rotated.refreshed_at.timestamp() == clock.now
    assert rotated.created_at == oldest.created_at
    assert rotated.expires_at.timestamp() == int(clock.now) + 3600

    asyncio.run(ajwt.revoke_family(newest.family))  # "log out that device"
    assert [info.family for info in asyncio.run(ajwt.list_sessions("alice"))] == [oldest.family]
    asyncio.run(ajwt.revoke_subject("alice"))
    assert asyncio.run(ajwt.list_sessions("alice")) == []
    _, _third = login(ajwt)  # after the cut-off: listed
    assert len(asyncio.run(ajwt.list_sessions("alice"))) == 1
    clock.now += 3601
    assert asyncio.run(ajwt.list_sessions("alice")) == []
    assert len(asyncio.run(ajwt.list_sessions("bob"))) == 0  # expired too


def test_a_login_in_an_async_handler_is_listed_at_once() -> None:
    ajwt = make_ajwt()
    app = make_app(ajwt)

    @app.get("/sessions")
    async def sessions() -> list[str]:
        return [info.family for info in await ajwt.list_sessions("alice")]

    client = TestClient(app)
    client.post("/auth/login")
    assert len(client.get("/sessions").json()) == 1


def test_list_sessions_needs_a_session_index() -> None:
    from tests.docs.test_examples_import import EXAMPLES, load_example

    store = load_example(EXAMPLES / "redis" / "custom_store.py").DictStore()
    ajwt = make_ajwt(store=store)
    with pytest.raises(Exception, match="SessionIndex"):
        asyncio.run(ajwt.list_sessions("alice"))


# -- 10. auth events -------------------------------------------------------------------------------------------


def test_auth_events_and_their_log_records(caplog: pytest.LogCaptureFixture) -> None:
    ajwt = make_ajwt()
    seen: list[AuthEvent] = []
    ajwt.add_event_listener(seen.append)
    ajwt.add_event_listener(lambda event: 1 / 0)  # type: ignore[arg-type,func-returns-value]
    client = TestClient(make_app(ajwt))
    access, refresh = login(ajwt)
    with caplog.at_level(logging.DEBUG, logger="fastapi_apojwt.events"):
        assert client.get("/me").status_code == 401
        assert client.get("/me", headers=bearer(access + "x")).status_code == 401
        assert rotate(client, ajwt, refresh).status_code == 200
        assert rotate(client, ajwt, refresh).status_code == 401  # reuse
        asyncio.run(ajwt.revoke_token(access))
        asyncio.run(ajwt.revoke_subject("alice"))
    names = [event.name for event in seen]
    assert names == [
        "auth_failed",
        "auth_failed",
        "refreshed",
        "refresh_reuse",
        "family_revoked",
        "auth_failed",
        "token_revoked",
        "subject_revoked",
    ]
    by_name = {event.name: event for event in seen}
    assert [e.reason for e in seen if e.name == "auth_failed"] == [
        "missing_token",
        "invalid_token:signature",
        "invalid_token:reuse",
    ]
    assert by_name["refreshed"].sub == "alice"
    assert by_name["refreshed"].family
    assert by_name["refresh_reuse"].family == by_name["family_revoked"].family == by_name["refreshed"].family
    assert by_name["token_revoked"].jti == ajwt.decode(access).jti
    assert by_name["subject_revoked"].sub == "alice"
    assert all(event.at.tzinfo is not None for event in seen)
    records = [r for r in caplog.records if hasattr(r, "event")]
    assert [r.event for r in records] == names  # type: ignore[attr-defined]
    assert access not in caplog.text
    assert refresh not in caplog.text
    assert any("listener" in r.getMessage() and r.exc_info for r in caplog.records)  # the raising one, logged
    dumped = by_name["refreshed"].model_dump()
    assert set(dumped) == {"name", "sub", "family", "jti", "reason", "at"}


async def test_async_listeners_are_scheduled_on_the_running_loop() -> None:
    ajwt = make_ajwt()
    scheduled: list[str] = []

    async def listener(event: AuthEvent) -> None:
        await asyncio.sleep(0.01)
        scheduled.append(event.name)

    ajwt.add_event_listener(listener)
    await ajwt.revoke_subject("alice")
    await ajwt.revoke_family("f")
    assert scheduled == []  # not awaited by the call
    await ajwt.sessions.events.drain()
    assert scheduled == ["subject_revoked", "family_revoked"]


async def test_a_slow_async_listener_does_not_delay_the_request() -> None:
    ajwt = make_ajwt()
    release = asyncio.Event()

    async def slow(event: AuthEvent) -> None:
        await release.wait()

    ajwt.add_event_listener(slow)
    _, refresh = login(ajwt)
    await asyncio.wait_for(ajwt.revoke_token(refresh), timeout=1)  # returns although the listener waits
    release.set()
    await ajwt.aclose()


# -- 8. shutdown -------------------------------------------------------------------------------------------------


def test_lifespan_closes_the_store_once_per_shutdown_and_aclose_is_idempotent() -> None:
    class Closing(MemoryStore):
        closed = 0

        async def close(self) -> None:
            Closing.closed += 1

    ajwt = make_ajwt(store=Closing())
    app = FastAPI(lifespan=ajwt.lifespan)
    with TestClient(app):
        assert Closing.closed == 0
    assert Closing.closed == 1
    asyncio.run(ajwt.aclose())
    asyncio.run(ajwt.aclose())  # harmless


def test_lifespan_inside_a_users_own_lifespan() -> None:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    ajwt = make_ajwt()
    order: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ajwt.lifespan(app):
            order.append("up")
            yield
        order.append("closed")

    with TestClient(FastAPI(lifespan=lifespan)):
        pass
    assert order == ["up", "closed"]


def test_service_unavailable_from_list_sessions_is_an_http_503() -> None:
    store = Flaky()
    ajwt = make_ajwt(store=store)
    app = FastAPI()

    @app.get("/sessions")
    async def sessions() -> int:
        return len(await ajwt.list_sessions("alice"))

    class Down(Flaky):
        async def sessions(self, sub: str) -> list[tuple[str, float, float, float]]:
            raise ConnectionError("down")

    ajwt.sessions.store = Down()
    assert TestClient(app).get("/sessions").status_code == 503
    with pytest.raises(ServiceUnavailableError):
        asyncio.run(ajwt.list_sessions("alice"))


async def test_the_rotation_ends_with_the_request_even_in_the_callers_task() -> None:
    ajwt = make_ajwt()
    app = make_app(ajwt)
    _, refresh = login(ajwt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        rotated = await client.post("/auth/refresh", headers=refresh_headers(refresh, ajwt.csrf_token(refresh)))
        assert rotated.status_code == 200  # the app ran in this very task (ASGITransport)
    access, _ = login(ajwt)  # a later login here is a new, fresh session
    context = ajwt.decode(access)
    assert context.fresh
    assert context.claims["fam"] != rotated.json()["family"]


class Delegating:
    """A store that is not a MemoryStore (so may do I/O): its records cannot be written inline."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def add_session(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        await self.inner.add_session(*args, **kwargs)

    async def sessions(self, sub: str) -> list[tuple[str, float, float, float]]:
        return await self.inner.sessions(sub)


def test_a_login_outside_any_loop_is_recorded_with_the_next_store_operation() -> None:
    ajwt = make_ajwt(store=Delegating())  # type: ignore[arg-type]
    login(ajwt)  # a script or a Flask view: no event loop, no worker thread of one
    assert len(asyncio.run(ajwt.list_sessions("alice"))) == 1

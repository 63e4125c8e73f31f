"""The session-list, events and lifespan snippets (docs/examples/sessions/) do what the pages say."""

import asyncio

import pytest
from fastapi.testclient import TestClient

from tests.docs.test_examples_import import EXAMPLES, load_example

HTTPS = "https://testserver"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_devices_snippet() -> None:
    module = load_example(EXAMPLES / "sessions" / "devices.py")
    with TestClient(module.app, base_url=HTTPS) as phone, TestClient(module.app, base_url=HTTPS) as laptop:
        first = phone.post("/auth/login", params={"username": "alice"}).json()["access_token"]
        second = laptop.post("/auth/login", params={"username": "alice"}).json()["access_token"]
        sessions = phone.get("/me/sessions", headers=bearer(first)).json()
        assert len(sessions) == 2
        assert set(sessions[0]) >= {"family", "sub", "created_at", "refreshed_at", "expires_at"}
        laptop_family = sessions[0]["family"]  # newest first: the laptop's
        assert phone.delete(f"/me/sessions/{laptop_family}", headers=bearer(first)).status_code == 200
        assert laptop.get("/me/sessions", headers=bearer(second)).status_code == 401  # that device is out
        assert len(phone.get("/me/sessions", headers=bearer(first)).json()) == 1

        changed = phone.post("/me/password", headers=bearer(first))
        assert changed.status_code == 200
        assert phone.get("/me/sessions", headers=bearer(first)).status_code == 401
        assert phone.get("/me/sessions", headers=bearer(changed.json()["access_token"])).status_code == 200


def test_events_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    module = load_example(EXAMPLES / "sessions" / "events.py")
    ajwt = module.ajwt

    async def scenario() -> None:
        _, refresh = ajwt.create_token(sub="alice")
        await ajwt.revoke_token(refresh)
        await ajwt.revoke_subject("alice")
        ajwt.sessions.events.emit("refresh_reuse", sub="alice", family="f1")
        await ajwt.sessions.events.drain()

    asyncio.run(scenario())
    assert module.alerts == ["refresh token replayed: session f1 of alice revoked"]
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["token_revoked", "subject_revoked", "refresh_reuse"]


def test_lifespan_snippet(shared_redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_apojwt.stores import redis as redis_store

    real = redis_store.RedisStore.from_url
    monkeypatch.setattr(redis_store.RedisStore, "from_url", lambda url, **kw: real(shared_redis_url, **kw))
    module = load_example(EXAMPLES / "sessions" / "lifespan.py")
    store = module.ajwt.store
    closed: list[bool] = []
    original = store.close

    async def close() -> None:
        closed.append(True)
        await original()

    store.close = close
    with TestClient(module.app):
        assert module.opened == ["your own start-up"]
        assert closed == []
    assert closed == [True]

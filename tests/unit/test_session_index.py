"""The session index (``SessionIndex``): MemoryStore's, and the protocol's shape."""

from __future__ import annotations

import pytest

from fastapi_apojwt.stores import MemoryStore, SessionIndex, TokenStore
from fastapi_apojwt.stores.memory import MAX_SESSIONS
from tests.docs.test_examples_import import EXAMPLES, load_example


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_protocols() -> None:
    assert isinstance(MemoryStore(), SessionIndex)
    assert isinstance(MemoryStore(), TokenStore)
    custom = load_example(EXAMPLES / "redis" / "custom_store.py").DictStore()
    assert isinstance(custom, TokenStore)  # a store without a session index is still a TokenStore
    assert not isinstance(custom, SessionIndex)


async def test_newest_login_first_updates_and_expiry() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    await store.add_session("alice", "a", created_at=900, refreshed_at=900, expires_at=1_100)
    await store.add_session("alice", "b", created_at=950, refreshed_at=950, expires_at=1_050)
    await store.add_session("bob", "c", created_at=990, refreshed_at=990, expires_at=1_500)
    assert await store.sessions("alice") == [("b", 950, 950, 1_050), ("a", 900, 900, 1_100)]
    await store.add_session("alice", "a", created_at=900, refreshed_at=1_000, expires_at=1_200)  # a rotation
    assert await store.sessions("alice") == [("b", 950, 950, 1_050), ("a", 900, 1_000, 1_200)]
    clock.now = 1_050  # b's expiry: gone
    assert await store.sessions("alice") == [("a", 900, 1_000, 1_200)]
    clock.now = 1_200
    assert await store.sessions("alice") == []
    assert await store.sessions("bob") == [("c", 990, 990, 1_500)]
    assert await store.sessions("nobody") == []


async def test_expired_sessions_are_forgotten_not_just_hidden() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    await store.add_session("alice", "old", created_at=1, refreshed_at=1, expires_at=1_001)
    await store.add_session("alice", "late", created_at=1, refreshed_at=1, expires_at=999)  # already expired
    assert [s[0] for s in await store.sessions("alice")] == ["old"]
    clock.now = 2_000
    await store.add_session("alice", "new", created_at=2_000, refreshed_at=2_000, expires_at=3_000)
    assert list(store._sessions["alice"]) == ["new"]  # pruned on write
    for i in range(2_100):  # subjects whose sessions all expired are swept, amortised
        await store.add_session(f"user-{i}", "f", created_at=2_000, refreshed_at=2_000, expires_at=2_001)
    clock.now = 2_002
    for i in range(2_100):
        await store.add_session(f"other-{i}", "f", created_at=2_002, refreshed_at=2_002, expires_at=9_000)
    assert not any(sub.startswith("user-") for sub in store._sessions)


@pytest.mark.parametrize("extra", [1, 5])
async def test_bounded_per_subject(extra: int) -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    for i in range(MAX_SESSIONS + extra):
        await store.add_session("busy", f"f{i}", created_at=i, refreshed_at=i, expires_at=10_000 + i)
    sessions = await store.sessions("busy")
    assert len(sessions) == MAX_SESSIONS
    assert sessions[0][0] == f"f{MAX_SESSIONS + extra - 1}"  # the newest kept ...
    assert {s[0] for s in sessions}.isdisjoint({f"f{i}" for i in range(extra)})  # ... the oldest dropped

"""MemoryStore: the TokenStore semantics, expiry, bounded growth, atomic use."""

import asyncio

from fastapi_apojwt.stores import MemoryStore, TokenStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_is_a_token_store() -> None:
    assert isinstance(MemoryStore(), TokenStore)


async def test_token_family_and_subject_revocation() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    assert not await store.is_revoked(jti="j", sub="alice", issued_at=900, family="f")
    await store.revoke_token("j", ttl=10)
    await store.revoke_family("f", ttl=20)
    await store.revoke_subject("bob", issued_before=950, ttl=30)
    assert await store.is_revoked(jti="j", sub="alice", issued_at=900)
    assert await store.is_revoked(jti="other", sub="alice", issued_at=900, family="f")
    assert await store.is_revoked(jti=None, sub="bob", issued_at=950)
    assert not await store.is_revoked(jti=None, sub="bob", issued_at=951)
    await store.revoke_subject("bob", issued_before=900, ttl=1)  # an older cut-off does not win
    assert await store.is_revoked(jti=None, sub="bob", issued_at=950)
    clock.now += 15
    assert not await store.is_revoked(jti="j", sub="alice", issued_at=900)  # expired record
    assert await store.is_revoked(jti=None, sub="alice", issued_at=900, family="f")
    clock.now += 20
    assert not await store.is_revoked(jti=None, sub="bob", issued_at=950)


async def test_use_refresh_token_once_even_concurrently() -> None:
    store = MemoryStore()
    results = await asyncio.gather(*(store.use_refresh_token("r", family="f", ttl=60) for _ in range(50)))
    assert results.count(True) == 1


async def test_records_are_pruned() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)
    for i in range(2000):
        await store.revoke_token(f"j{i}", ttl=1)
        await store.use_refresh_token(f"u{i}", family="f", ttl=1)
        await store.revoke_subject(f"s{i}", issued_before=1, ttl=1)
    clock.now += 5
    await store.revoke_token("last", ttl=1)
    await store.use_refresh_token("last", family="f", ttl=1)
    await store.revoke_subject("last", issued_before=1, ttl=1)
    assert len(store._revoked) == 1
    assert len(store._used) == 1
    assert len(store._subjects) == 1
    await store.close()

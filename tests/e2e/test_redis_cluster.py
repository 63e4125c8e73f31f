"""RedisStore on a real 3-node Redis Cluster: every operation, hash slots, seeds, odd subjects, WAIT routing."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.cluster import RedisCluster as SyncRedisCluster

from fastapi_apojwt import ConfigurationError, ServiceUnavailableError
from fastapi_apojwt.stores import SessionIndex, TokenStore
from fastapi_apojwt.stores.redis import RedisStore
from tests.redis_topology import Cluster, redis_cluster

pytestmark = pytest.mark.e2e

ODD_SUBJECTS = ["", "{", "}", "a}b{c", "{alice}", "ünï{cødé}", "x" * 500]


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with redis_cluster() as running:
        yield running


@pytest.fixture
def raw(cluster: Cluster) -> Iterator[SyncRedisCluster]:
    client = SyncRedisCluster(host="127.0.0.1", port=cluster.nodes[0].port)
    yield client
    client.close()


async def test_every_operation_works_on_a_cluster(cluster: Cluster, request: pytest.FixtureRequest) -> None:
    store = RedisStore.from_url(cluster.url, prefix=f"{request.node.name}:")
    assert isinstance(store, TokenStore)
    assert isinstance(store, SessionIndex)
    assert not await store.is_revoked(jti="j1", sub="alice", issued_at=100.0, family="f1")

    await store.revoke_token("j1", ttl=60)
    assert await store.is_revoked(jti="j1", sub="alice", issued_at=100.0)
    assert not await store.is_revoked(jti="j2", sub="alice", issued_at=100.0, family="f2")

    await store.revoke_family("f1", ttl=60)
    assert await store.is_revoked(jti="j2", sub="alice", issued_at=100.0, family="f1")

    await store.revoke_subject("bob", issued_before=200.5, ttl=300)
    assert await store.is_revoked(jti="j3", sub="bob", issued_at=200.5, family="f3")
    assert not await store.is_revoked(jti="j3", sub="bob", issued_at=201.0, family="f3")
    await store.revoke_subject("bob", issued_before=150.0, ttl=10)  # an older cut-off does not win
    assert await store.is_revoked(jti=None, sub="bob", issued_at=200.0)

    assert await store.use_refresh_token("r1", family="f9", ttl=30)
    assert not await store.use_refresh_token("r1", family="f9", ttl=30)
    assert await store.use_refresh_token("r1", family="other", ttl=30)  # another family: another record

    now = time.time()
    await store.add_session("alice", "old", created_at=now - 50, refreshed_at=now - 10, expires_at=now + 60)
    await store.add_session("alice", "new", created_at=now - 5, refreshed_at=now - 5, expires_at=now + 90)
    assert await store.sessions("alice") == [
        ("new", now - 5, now - 5, now + 90),
        ("old", now - 50, now - 10, now + 60),
    ]
    assert await store.sessions("nobody") == []
    await store.close()


async def test_use_is_exactly_once_under_20_concurrent_calls(cluster: Cluster) -> None:
    stores = [RedisStore.from_url(cluster.url, prefix="burst:") for _ in range(4)]
    for round_ in range(3):
        results = await asyncio.gather(
            *(stores[i % 4].use_refresh_token(f"jti-{round_}", family=f"fam-{round_}", ttl=30) for i in range(20))
        )
        assert results.count(True) == 1, results
    for store in stores:
        await store.close()


async def test_keys_land_in_the_slot_of_their_tag(
    cluster: Cluster, raw: SyncRedisCluster, request: pytest.FixtureRequest
) -> None:
    prefix = f"{request.node.name}:"
    store = RedisStore.from_url(cluster.url, prefix=prefix)
    await store.revoke_token("jti-1", ttl=60)
    await store.revoke_family("fam-1", ttl=60)
    assert await store.use_refresh_token("jti-2", family="fam-1", ttl=60)
    await store.revoke_subject("carol", issued_before=1.0, ttl=60)
    now = time.time()
    await store.add_session("carol", "fam-1", created_at=now, refreshed_at=now, expires_at=now + 60)
    await store.close()

    family_keys = [f"{prefix}f:{{F{h('fam-1')}}}", f"{prefix}u:{{F{h('fam-1')}}}:jti-2"]
    subject_keys = [f"{prefix}s:{{S{h('carol')}}}", f"{prefix}i:{{S{h('carol')}}}", f"{prefix}x:{{S{h('carol')}}}"]
    token_key = f"{prefix}t:{{{h('jti-1')}}}"
    for key in [*family_keys, *subject_keys, token_key]:
        assert raw.exists(key), key
        assert raw.pttl(key) > 0, key
    # one slot per atomic step: the family's keys together, the subject's keys together
    assert {cluster.keyslot(key) for key in family_keys} == {cluster.keyslot(f"F{h('fam-1')}")}
    assert {cluster.keyslot(key) for key in subject_keys} == {cluster.keyslot(f"S{h('carol')}")}
    assert cluster.keyslot(token_key) == cluster.keyslot(h("jti-1"))
    # nothing of the raw ids in a tag
    for key in [*family_keys, *subject_keys, token_key]:
        tag = key[key.index("{") + 1 : key.index("}")]
        assert not any(raw_id in tag for raw_id in ("fam-1", "carol", "jti"))


async def test_records_spread_over_the_nodes(cluster: Cluster) -> None:
    store = RedisStore.from_url(cluster.url, prefix="spread:")
    for i in range(30):
        await store.revoke_token(f"spread-{i}", ttl=60)
    await store.close()
    owners = {cluster.node_of(f"spread:t:{{{h(f'spread-{i}')}}}").port for i in range(30)}
    assert len(owners) == 3  # not all in one slot: the tag is per record


@pytest.mark.parametrize("sub", ODD_SUBJECTS)
async def test_subjects_with_braces_or_empty(cluster: Cluster, sub: str) -> None:
    store = RedisStore.from_url(cluster.url, prefix="odd:")
    assert not await store.is_revoked(jti=f"j-{sub}", sub=sub, issued_at=10.0, family=f"{{{sub}")
    await store.revoke_subject(sub, issued_before=10.0, ttl=60)
    assert await store.is_revoked(jti=f"j-{sub}", sub=sub, issued_at=10.0, family=f"{{{sub}")
    assert not await store.is_revoked(jti=f"j-{sub}", sub=sub, issued_at=11.0, family=f"{{{sub}")
    await store.revoke_family(f"{{{sub}", ttl=60)
    assert await store.is_revoked(jti=None, sub=sub, issued_at=11.0, family=f"{{{sub}")
    assert await store.use_refresh_token(f"{sub}}}", family=sub, ttl=60)
    assert not await store.use_refresh_token(f"{sub}}}", family=sub, ttl=60)
    now = time.time()
    await store.add_session(sub, f"}}{sub}", created_at=now, refreshed_at=now, expires_at=now + 30)
    assert [s[0] for s in await store.sessions(sub)] == [f"}}{sub}"]
    await store.close()


async def test_from_url_seeded_from_any_node(cluster: Cluster) -> None:
    writer = RedisStore.from_url(cluster.url, prefix="seeds:")
    for i in range(6):
        await writer.revoke_token(f"seed-{i}", ttl=60)
    await writer.close()
    for node in cluster.nodes:
        for url in (f"redis+cluster://127.0.0.1:{node.port}", f"redis+cluster://127.0.0.1:{node.port}/0"):
            reader = RedisStore.from_url(url, prefix="seeds:")
            for i in range(6):
                assert await reader.is_revoked(jti=f"seed-{i}", sub="", issued_at=0)
            assert not await reader.is_revoked(jti="seed-x", sub="", issued_at=0)
            await reader.close()


async def test_a_cluster_client_can_be_given(cluster: Cluster) -> None:
    client = RedisCluster(host="127.0.0.1", port=cluster.nodes[1].port)
    store = RedisStore(client=client, prefix="given:")
    await store.revoke_family("fam", ttl=60)
    assert await store.is_revoked(jti="a", sub="b", issued_at=0, family="fam")
    assert await store.use_refresh_token("r", family="fam", ttl=60)
    assert not await store.use_refresh_token("r", family="fam", ttl=60)
    await client.aclose()


def test_cluster_urls_are_checked() -> None:
    for url in ("redis+cluster://127.0.0.1:7000/1", "rediss+cluster://127.0.0.1:7000/3", "redis+cluster:///0"):
        with pytest.raises(ConfigurationError):
            RedisStore.from_url(url)
    RedisStore.from_url("rediss+cluster://127.0.0.1:7000/0")  # TLS: built lazily, nothing sent yet
    RedisStore.from_url("REDIS+CLUSTER://127.0.0.1:7000")


async def test_rediss_cluster_builds_a_tls_cluster_client() -> None:
    store = RedisStore.from_url("rediss+cluster://127.0.0.1:7000")
    client = store._redis()
    assert isinstance(client, RedisCluster)
    assert client.get_connection_kwargs()["connection_class"].__name__ == "SSLConnection"
    assert client.get_connection_kwargs()["socket_timeout"] == 2.0
    await client.aclose()


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True, None])
def test_wait_replicas_is_validated(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        RedisStore.from_url("redis+cluster://127.0.0.1:7000", wait_replicas=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RedisStore(wait_replicas=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1, "1", True])
def test_wait_timeout_is_validated(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        RedisStore(wait_replicas=1, wait_timeout=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["{shop}:", "a{", "b}"])
def test_prefix_with_braces_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="hash slots"):
        RedisStore.from_url("redis+cluster://127.0.0.1:7000", prefix=prefix)


async def test_wait_replicas_without_replicas_is_503(cluster: Cluster) -> None:
    store = RedisStore.from_url(cluster.url, prefix="nowait:", wait_replicas=1, wait_timeout=0.1)
    with pytest.raises(ServiceUnavailableError):
        await store.revoke_token("j", ttl=60)
    with pytest.raises(ServiceUnavailableError):
        await store.use_refresh_token("r", family="f", ttl=60)
    await store.close()
    plain = RedisStore.from_url(cluster.url, prefix="nowait:")
    assert await plain.use_refresh_token("r", family="f", ttl=60)  # the unconfirmed use was given back
    await plain.close()


# -- a cluster with a replica per primary: WAIT goes to the primary owning the key ------------


@pytest.fixture(scope="module")
def replicated_cluster() -> Iterator[Cluster]:
    with redis_cluster(replicas=1) as running:
        yield running


async def test_wait_replicas_on_a_cluster(replicated_cluster: Cluster) -> None:
    cluster = replicated_cluster
    store = RedisStore.from_url(cluster.url, prefix="waited:", wait_replicas=1, wait_timeout=0.5)
    await store.revoke_token("j", ttl=60)
    await store.revoke_family("f", ttl=60)
    await store.revoke_subject("s", issued_before=5.0, ttl=60)
    assert await store.use_refresh_token("r", family="f", ttl=60)
    assert not await store.use_refresh_token("r", family="f", ttl=60)
    now = time.time()
    await store.add_session("s", "f", created_at=now, refreshed_at=now, expires_at=now + 60)
    assert await store.is_revoked(jti="j", sub="x", issued_at=0)
    assert await store.is_revoked(jti=None, sub="s", issued_at=5.0)
    assert len(await store.sessions("s")) == 1

    # Freeze the replica of the primary that owns one family's keys: writes there are not
    # confirmed (503, and the use is given back); writes owned by the other primaries still are.
    frozen_family = "fam-frozen"
    owner = cluster.node_of(f"F{h(frozen_family)}")
    (replica,) = cluster.replicas_of(owner)
    others = [f"fam-{i}" for i in range(40) if cluster.node_of(f"F{h(f'fam-{i}')}").port != owner.port][:5]
    assert others
    replica.pause()
    try:
        with pytest.raises(ServiceUnavailableError):
            await store.use_refresh_token("frozen-jti", family=frozen_family, ttl=60)
        with pytest.raises(ServiceUnavailableError):
            await store.revoke_family(frozen_family, ttl=60)
        for family in others:  # WAIT went to each key's own primary, not to all of them
            assert await store.use_refresh_token("jti", family=family, ttl=60)
    finally:
        replica.resume()
    # the use that answered 503 left the refresh token usable
    for _ in range(100):
        try:
            assert await store.use_refresh_token("frozen-jti", family=frozen_family, ttl=60)
            break
        except ServiceUnavailableError:
            await asyncio.sleep(0.1)  # the replica is catching up
    else:
        pytest.fail("the refresh token stayed unusable")
    assert not await store.use_refresh_token("frozen-jti", family=frozen_family, ttl=60)
    await store.close()

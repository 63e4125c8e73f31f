"""The Redis page's cluster and durability snippets (docs/examples/redis/) do what the page says."""

from __future__ import annotations

import pytest

from fastapi_apojwt import RevokedTokenError, ServiceUnavailableError
from tests.docs.test_examples_import import EXAMPLES, load_example
from tests.redis_topology import primary_with_replica, redis_cluster

pytestmark = pytest.mark.e2e


async def test_cluster_snippet(monkeypatch: pytest.MonkeyPatch) -> None:
    with redis_cluster() as cluster:
        monkeypatch.setenv("REDIS_URL", f"redis+cluster://127.0.0.1:{cluster.nodes[2].port}")
        module = load_example(EXAMPLES / "redis" / "cluster_store.py")
        access = module.ajwt.create_token(sub="{alice}")
        await module.ajwt.verify(access)
        await module.ajwt.revoke_token(access)
        with pytest.raises(RevokedTokenError):
            await module.ajwt.verify(access)
        await module.store.close()


async def test_durable_snippet(monkeypatch: pytest.MonkeyPatch) -> None:
    with primary_with_replica() as pair:
        monkeypatch.setenv("REDIS_URL", pair.primary.url)
        module = load_example(EXAMPLES / "redis" / "durable_store.py")
        access = module.ajwt.create_token(sub="alice")
        await module.ajwt.revoke_token(access)  # confirmed by the replica
        with pytest.raises(RevokedTokenError):
            await module.ajwt.verify(access)
        other = module.ajwt.create_token(sub="bob")
        pair.replica.pause()
        try:
            with pytest.raises(ServiceUnavailableError):
                await module.ajwt.revoke_token(other)  # not confirmed: a 503, never "done"
        finally:
            pair.replica.resume()
        await module.store.close()

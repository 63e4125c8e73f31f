"""A tiny version of ``make load`` for ``make test``: a few seconds, a few users, the same checks."""

import pytest

from tests.load.run import run
from tests.redis_topology import redis_cluster


@pytest.mark.e2e
def test_load_smoke_redis_two_instances() -> None:
    """Login/refresh/guarded calls/logout and refresh races on two uvicorn instances sharing Redis."""
    result = run(duration=3, users=4, instances=2, race=3)
    assert result["failures"] == []
    assert result["sessions"] > 0
    assert result["refresh_races"] > 0
    assert result["server_errors"] == 0
    assert result["revoked_accepted"] == 0


@pytest.mark.e2e
def test_load_smoke_redis_cluster_two_instances() -> None:
    """The same load on a 3-node Redis Cluster (``redis+cluster://``)."""
    with redis_cluster() as cluster:
        result = run(duration=3, users=4, instances=2, race=3, redis_url=cluster.url)
    assert result["failures"] == []
    assert result["sessions"] > 0
    assert result["refresh_races"] > 0
    assert result["server_errors"] == 0
    assert result["revoked_accepted"] == 0

"""A tiny version of ``make load`` for ``make test``: a few seconds, a few users, the same checks."""

import pytest

from tests.load.run import run


@pytest.mark.e2e
def test_load_smoke_redis_two_instances() -> None:
    """Login/refresh/guarded calls/logout and refresh races on two uvicorn instances sharing Redis."""
    result = run(duration=3, users=4, instances=2, race=3)
    assert result["failures"] == []
    assert result["sessions"] > 0
    assert result["refresh_races"] > 0
    assert result["server_errors"] == 0
    assert result["revoked_accepted"] == 0

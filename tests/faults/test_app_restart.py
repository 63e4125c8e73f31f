"""An app instance restarted mid-flow (uvicorn process stopped and started again).

Expected behaviour (docs/security.md, "Faults"): with ``RedisStore`` the
refresh family state lives in Redis, so a restart changes nothing: rotation
continues, a replayed token is still detected (and kills its family), and a
logout stays in force. With the default ``MemoryStore`` that state dies with
the process (documented: use Redis for anything but a single dev process).
Secrets must be stable across restarts, or every token dies with the process.
"""

from __future__ import annotations

import pytest

from tests.conftest import REFRESH_SECRET, SECRET
from tests.faults.flows import Session, example_app_on_redis, login, logout, me, refresh
from tests.servers import redis_server, uvicorn_server

pytestmark = pytest.mark.e2e


def test_restart_mid_flow_with_redis_keeps_families() -> None:
    """Rotation, reuse detection and logout survive app restarts when state is in Redis."""
    with (
        redis_server() as redis,
        example_app_on_redis(redis.url, mirror=False) as app,
    ):
        with app.client() as client:
            session = login(client, "bob")
            retired = Session(session.access, session.refresh, session.csrf)
            assert refresh(client, session).status_code == 200
            ended = login(client, "alice")
            assert logout(client, ended).status_code == 200

        app.restart()
        with app.client() as client:
            assert me(client, session).status_code == 200  # tokens minted before the restart still verify
            assert refresh(client, session).status_code == 200  # rotation continues
            assert me(client, ended).status_code == 401  # the logout holds
            assert refresh(client, ended).status_code == 401

        app.restart()
        with app.client() as client:
            replay = refresh(client, retired)  # a token retired two restarts ago
            assert replay.status_code == 401
            assert 'error="invalid_token"' in replay.headers["www-authenticate"]
            assert refresh(client, session).status_code == 401  # the replay revoked the family...
            assert me(client, session).status_code == 401  # ...its access tokens included


def test_restart_with_memory_store_forgets_state() -> None:
    """Documented limit of MemoryStore: a restart forgets retired refresh tokens and logouts."""
    with uvicorn_server(APOJWT_SECRET=SECRET, APOJWT_REFRESH_SECRET=REFRESH_SECRET) as app:
        with app.client() as client:
            session = login(client, "bob")
            retired = Session(session.access, session.refresh, session.csrf)
            assert refresh(client, session).status_code == 200
            assert refresh(client, retired).status_code == 401  # replay detected while the process lives
        app.restart()
        with app.client() as client:
            again = login(client, "bob")
            assert refresh(client, again).status_code == 200
            revived = Session(retired.access, retired.refresh, retired.csrf)
            assert refresh(client, revived).status_code == 200  # forgotten: this is why production needs Redis


def test_restart_with_new_random_secrets_invalidates_everything() -> None:
    """Without stable secrets (APOJWT_SECRET unset: random per start) a restart logs everyone out: 401, not 500."""
    with uvicorn_server() as app:
        with app.client() as client:
            session = login(client, "bob")
            assert me(client, session).status_code == 200
        app.restart()
        with app.client() as client:
            response = me(client, session)
            assert response.status_code == 401
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
            # The CSRF key derives from the (new) refresh secret, so the double-submit check refuses first.
            assert refresh(client, session).status_code in (401, 403)

"""Two example-app processes sharing one real Redis: rotation, replay, logout, bursts, restarts, outages.

The fleet runs with APOJWT_SECURE_COOKIES=1, as a deployment behind TLS does, and
httpx (like curl) withholds Secure cookies from http:// URLs, so these tests carry
the cookies explicitly: what the server sets is parsed attribute by attribute, and
sent back by hand. The plain-http demo default is tested with a cookie jar at the end.
"""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.flows import example_app_env, example_app_on_redis
from tests.integration.refresh_helpers import set_cookies
from tests.redis_topology import Cluster, redis_cluster
from tests.servers import RedisServer, UvicornServer, redis_server, uvicorn_server

pytestmark = pytest.mark.e2e


@dataclass
class Session:
    """What a browser would hold after a login or a refresh."""

    access: str
    refresh: str
    csrf: str | None

    def headers(self, csrf: bool = True) -> dict[str, str]:
        cookie = f"refresh_token={self.refresh}"
        headers = {}
        if self.csrf is not None:
            cookie += f"; csrf_refresh_token={self.csrf}"
            if csrf:
                headers["X-CSRF-Token"] = self.csrf
        headers["Cookie"] = cookie
        return headers


def env(redis_url: str, **extra: str) -> dict[str, str]:
    # exact: every check asks Redis (the mirror: test_example_mirror.py)
    return example_app_env(redis_url, mirror=False, APOJWT_SECURE_COOKIES="1", **extra)


@pytest.fixture(scope="module", params=["single", "cluster"])
def shared_redis(request: pytest.FixtureRequest) -> Iterator[RedisServer | Cluster]:
    """One redis-server, then a 3-node Redis Cluster (``redis+cluster://``): every flow runs on both."""
    if request.param == "single":
        with redis_server() as server:
            yield server
    else:
        with redis_cluster() as cluster:
            yield cluster


@pytest.fixture(scope="module")
def fleet(shared_redis: RedisServer | Cluster) -> Iterator[tuple[UvicornServer, UvicornServer]]:
    with (
        uvicorn_server(**env(shared_redis.url)) as a,
        uvicorn_server(**env(shared_redis.url)) as b,
    ):
        yield a, b


def login(server: UvicornServer, user: str = "alice") -> Session:
    response = httpx.post(f"{server.url}/auth/login", json={"username": user, "password": f"{user}-password"})
    assert response.status_code == 200, response.text
    cookies = set_cookies(response)
    csrf = cookies.get("csrf_refresh_token")
    return Session(response.json()["access_token"], cookies["refresh_token"].value, csrf.value if csrf else None)


def refresh(server: UvicornServer, session: Session, csrf: bool = True) -> httpx.Response:
    return httpx.post(f"{server.url}/auth/refresh", headers=session.headers(csrf), timeout=10)


def rotated(response: httpx.Response) -> Session:
    assert response.status_code == 200, response.text
    cookies = set_cookies(response)
    csrf = cookies.get("csrf_refresh_token")
    return Session(response.json()["access_token"], cookies["refresh_token"].value, csrf.value if csrf else None)


def me(server: UvicornServer, access: str) -> httpx.Response:
    return httpx.get(f"{server.url}/me", headers={"Authorization": f"Bearer {access}"}, timeout=10)


def test_login_cookies_attribute_by_attribute(fleet: tuple[UvicornServer, UvicornServer]) -> None:
    a, _ = fleet
    response = httpx.post(f"{a.url}/auth/login", json={"username": "bob", "password": "bob-password"})
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    cookies = set_cookies(response)
    assert set(cookies) == {"refresh_token", "csrf_refresh_token"}
    refresh_cookie, csrf_cookie = cookies["refresh_token"], cookies["csrf_refresh_token"]
    assert refresh_cookie.flags == {"httponly", "secure"}
    assert refresh_cookie.attributes == {"max-age": "86400", "path": "/auth", "samesite": "strict"}
    assert csrf_cookie.flags == {"secure"}
    assert csrf_cookie.attributes == {"max-age": "86400", "path": "/", "samesite": "strict"}
    assert refresh_cookie.value not in response.text


def test_refresh_on_one_replay_on_the_other_revokes_everywhere(fleet: tuple[UvicornServer, UvicornServer]) -> None:
    a, b = fleet
    first = login(a)
    second = rotated(refresh(b, first))  # refresh on B with A's token
    assert me(a, second.access).status_code == 200
    third = rotated(refresh(a, second))  # and back on A

    replay = refresh(b, first)  # the thief replays the first token on B
    assert replay.status_code == 401
    assert replay.json() == {"detail": "The refresh token was already used; its session has been revoked."}

    for server in (a, b):  # the whole family is dead on both instances
        assert refresh(server, third).status_code == 401
        for session in (first, second, third):
            assert me(server, session.access).status_code == 401


def test_logout_on_one_rejects_refresh_on_the_other(fleet: tuple[UvicornServer, UvicornServer]) -> None:
    a, b = fleet
    session = login(a)
    other_device = login(b)
    logout = httpx.post(f"{a.url}/auth/logout", headers=session.headers())
    assert logout.status_code == 200
    cleared = set_cookies(logout)
    assert cleared["refresh_token"].attributes["max-age"] == "0"
    assert cleared["refresh_token"].attributes["path"] == "/auth"
    assert cleared["csrf_refresh_token"].attributes["max-age"] == "0"
    assert refresh(b, session).status_code == 401
    assert me(b, session.access).status_code == 401
    assert refresh(b, other_device).status_code == 200  # only that session


def test_csrf_is_required_by_default(fleet: tuple[UvicornServer, UvicornServer]) -> None:
    a, _ = fleet
    session = login(a)
    missing = refresh(a, session, csrf=False)
    assert missing.status_code == 403
    assert "X-CSRF-Token" in missing.json()["detail"]
    assert refresh(a, session).status_code == 200  # the refused request did not use the token


def test_burst_of_concurrent_refreshes_exactly_one_wins(fleet: tuple[UvicornServer, UvicornServer]) -> None:
    a, b = fleet
    session = login(a)
    servers = [a, b] * 10
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda server: refresh(server, session).status_code, servers))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(401) == 19, statuses


def test_csrf_off_and_state_survives_a_restart(shared_redis: RedisServer | Cluster) -> None:
    with uvicorn_server(**env(shared_redis.url, APOJWT_CSRF="0")) as server:
        session = login(server)
        assert session.csrf is None
        next_session = rotated(refresh(server, session, csrf=False))
        server.restart()
        assert refresh(server, session, csrf=False).status_code == 401  # the use was remembered
        assert refresh(server, next_session, csrf=False).status_code == 401  # and the replay revoked the family
        fresh_login = login(server)
        server.restart()
        assert me(server, fresh_login.access).status_code == 200
        assert refresh(server, fresh_login, csrf=False).status_code == 200


def test_redis_outage_is_503_then_recovers() -> None:
    with redis_server() as redis, uvicorn_server(**env(redis.url)) as server:
        session = login(server)
        assert me(server, session.access).status_code == 200
        redis.stop()
        down_me = me(server, session.access)
        assert down_me.status_code == 503
        assert down_me.headers["retry-after"] == "1"
        down_refresh = refresh(server, session)
        assert down_refresh.status_code == 503
        assert "set-cookie" not in down_refresh.headers
        redis.start()  # no app restart
        assert me(server, session.access).status_code == 200
        assert rotated(refresh(server, session)).access


def test_plain_http_demo_works_with_a_cookie_jar(shared_redis: RedisServer | Cluster) -> None:
    """`make demo` serves plain http: a client's cookie jar carries the refresh flow unaided."""
    with (
        example_app_on_redis(shared_redis.url, mirror=False) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        login = client.post("/auth/login", json={"username": "bob", "password": "bob-password"})
        assert login.status_code == 200, login.text
        cookies = set_cookies(login)
        assert cookies["refresh_token"].flags == {"httponly"}
        assert cookies["refresh_token"].attributes["path"] == "/auth"
        old_refresh = client.cookies["refresh_token"]
        rotated = client.post("/auth/refresh", headers={"X-CSRF-Token": client.cookies["csrf_refresh_token"]})
        assert rotated.status_code == 200, rotated.text
        assert client.cookies["refresh_token"] != old_refresh
        access = rotated.json()["access_token"]
        assert client.get("/orders", headers={"Authorization": f"Bearer {access}"}).status_code == 200
        no_csrf = client.post("/auth/refresh")
        assert no_csrf.status_code in (401, 403)
        logout = client.post("/auth/logout", headers={"X-CSRF-Token": client.cookies["csrf_refresh_token"]})
        assert logout.status_code in (200, 204), logout.text

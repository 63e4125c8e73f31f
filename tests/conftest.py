"""Shared fixtures: an ApoJWT, a test client, real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.servers import RedisServer, UvicornServer, redis_server, uvicorn_server

SECRET = "test-secret-that-is-at-least-32-bytes-long!"
REFRESH_SECRET = "refresh-secret-that-is-at-least-32-bytes!!"
ISSUER = "https://auth.test"
AUDIENCE = "https://api.test"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A private, restartable redis-server for this test."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def shared_redis_url() -> Iterator[str]:
    """A redis-server for the whole session: CI's (APOJWT_TEST_REDIS_URL) or one started here."""
    url = os.environ.get("APOJWT_TEST_REDIS_URL")
    if url:
        yield url
        return
    with redis_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def example_server() -> Iterator[UvicornServer]:
    """The example app on a real uvicorn server (in-memory token state)."""
    with uvicorn_server("example_app.main:app", APOJWT_SECRET=SECRET, APOJWT_REFRESH_SECRET=REFRESH_SECRET) as server:
        yield server

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from main import ajwt, app

from fastapi_apojwt.testing import authenticate, create_test_context, unauthenticate


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def login(client: TestClient) -> Iterator[Callable[..., TestClient]]:
    """``login("alice", "orders:read")``: the client, now carrying that user's token."""

    def as_user(sub: str, *permissions: str) -> TestClient:
        authenticate(client, ajwt, sub=sub, permissions=permissions)
        return client

    yield as_user
    unauthenticate(client)


def test_reader(login: Callable[..., TestClient]) -> None:
    assert login("alice", "orders:read").get("/orders").json() == {"reader": "alice", "team": None}


def test_reader_cannot_write(login: Callable[..., TestClient]) -> None:
    assert login("alice", "orders:read").post("/orders", json={}).status_code == 403


@pytest.fixture
def as_writer() -> Iterator[None]:
    """Skip the token entirely: the guard answers with this context."""
    context = create_test_context(ajwt, sub="bob", permissions=["orders:write"])
    app.dependency_overrides[ajwt.permission("orders:write")] = lambda: context
    yield
    app.dependency_overrides.clear()


@pytest.mark.usefixtures("as_writer")
def test_writer_without_a_token(client: TestClient) -> None:
    assert client.post("/orders", json={"item": "tea"}).json() == {"item": "tea", "by": "bob"}

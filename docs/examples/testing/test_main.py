from fastapi.testclient import TestClient
from main import ajwt, app

from fastapi_apojwt.testing import auth_headers, authenticate, create_test_token, unauthenticate


def test_reader_can_list_orders() -> None:
    client = TestClient(app)
    authenticate(client, ajwt, sub="alice", permissions=["orders:read"], data={"team": "a"})
    assert client.get("/orders").json() == {"reader": "alice", "team": "a"}


def test_reader_cannot_create_orders() -> None:
    client = TestClient(app)
    response = client.post("/orders", json={"item": "tea"}, headers=auth_headers(ajwt, permissions=["orders:read"]))
    assert response.status_code == 403


def test_writer_creates_orders() -> None:
    client = TestClient(app)
    token = create_test_token(ajwt, sub="bob", permissions=["orders:write"])
    response = client.post("/orders", json={"item": "tea"}, headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"item": "tea", "by": "bob"}


def test_anonymous_gets_401() -> None:
    client = TestClient(app)
    authenticate(client, ajwt, sub="carol", permissions=["orders:read"])
    unauthenticate(client)
    assert client.get("/orders").status_code == 401

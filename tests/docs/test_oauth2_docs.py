"""The token endpoint page (docs/tutorial/token-endpoint.md) and its snippet do what the page says."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.docs.test_examples_import import EXAMPLES, load_example

DOCS = EXAMPLES.parent
PAGE = DOCS / "tutorial" / "token-endpoint.md"
SNIPPET = EXAMPLES / "oauth2" / "token_endpoint.py"


@pytest.fixture
def client() -> TestClient:
    return TestClient(load_example(SNIPPET).app)


def password_grant(**overrides: Any) -> dict[str, str]:
    return {"grant_type": "password", "username": "alice", "password": "alice-password", **overrides}


def test_the_page_includes_the_snippet() -> None:
    assert '--8<-- "docs/examples/oauth2/token_endpoint.py"' in PAGE.read_text()


def test_success(client: TestClient) -> None:
    response = client.post("/token", data=password_grant())
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "scope"]
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "orders:read"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert "refresh_token" in response.cookies  # the refresh cookie, as the page says
    orders = client.get("/orders", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert orders.json() == ["orders of alice"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (password_grant(password="wrong"), "invalid_grant"),
        (password_grant(username="mallory"), "invalid_grant"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "x"}, "unsupported_grant_type"),
        ({"username": "alice", "password": "alice-password"}, "invalid_request"),
        ({"grant_type": "password", "username": "alice"}, "invalid_request"),
        ({"grant_type": "password", "password": "alice-password"}, "invalid_request"),
        ({}, "invalid_request"),
    ],
)
def test_errors_are_rfc_6749(client: TestClient, data: dict[str, str], error: str) -> None:
    response = client.post("/token", data=data)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert set(body) == {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert "www-authenticate" not in response.headers


def test_the_page_table_matches(client: TestClient) -> None:
    text = PAGE.read_text()
    assert '{"error": "invalid_grant", "error_description": "Incorrect username or password."}' in text
    bad = client.post("/token", data=password_grant(password="wrong")).json()
    assert bad == {"error": "invalid_grant", "error_description": "Incorrect username or password."}
    assert '"token_type": "bearer", "expires_in": 900, "scope": "orders:read"' in text


def test_swagger_ui_can_log_in_here(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["OAuth2Password"]["flows"]["password"]["tokenUrl"] == "/token"
    # What Swagger UI's dialog sends.
    response = client.post("/token", data=password_grant(scope="", client_id="", client_secret=""))
    assert response.status_code == 200

"""The "Tokens from Keycloak, Auth0 and Entra ID" page: each provider's example, against that provider's tokens.

Each example is imported with its issuer pointing at a stand-in provider on
127.0.0.1 (``tests/idp.py``: a real HTTP server with the provider's discovery
document and JWK set), and exercised through TestClient with tokens shaped as
that provider sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from tests.docs.test_examples_import import EXAMPLES, load_example
from tests.idp import (
    ENTRA_API,
    TENANT,
    Provider,
    auth0_access_token,
    auth0_machine_token,
    entra_access_token,
    entra_app_token,
    keycloak_access_token,
    keycloak_id_token,
    keycloak_refresh_token,
    serving,
)

PAGE = EXAMPLES.parent / "tutorial" / "identity-providers.md"


def example(name: str, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv(f"{name.upper()}_ISSUER", provider.issuer)
    return load_example(EXAMPLES / "idp" / f"{name}.py")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def keycloak() -> Iterator[Provider]:
    with serving("keycloak") as provider:
        yield provider


@pytest.fixture
def auth0() -> Iterator[Provider]:
    with serving("auth0") as provider:
        yield provider


@pytest.fixture
def entra() -> Iterator[Provider]:
    with serving("entra") as provider:
        yield provider


@pytest.mark.parametrize("name", ["keycloak", "auth0", "entra"])
def test_the_page_includes_each_example(name: str) -> None:
    assert f'--8<-- "docs/examples/idp/{name}.py"' in PAGE.read_text()


# -- Keycloak ------------------------------------------------------------------------------------


def test_keycloak_realm_and_client_roles_and_scopes(keycloak: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("keycloak", keycloak, monkeypatch).app)
    token = keycloak_access_token(keycloak)
    response = client.get("/orders", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user": "alice",
        "permissions": [
            "default-roles-shop",
            "offline_access",
            "uma_authorization",
            "orders:read",
            "orders:write",
            "openid",
            "profile",
            "email",
        ],
    }
    created = client.post("/orders", headers=bearer(token)).json()
    assert created == {"created_by": "f1b2c3d4-1111-4a5b-8c9d-0e1f2a3b4c5d"}
    # the discovery document once, then the JWK set it names: nothing refetched per request
    assert keycloak.requests == [keycloak.discovery_path, keycloak.jwks_path]


def test_keycloak_roles_of_another_client_grant_nothing(keycloak: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("keycloak", keycloak, monkeypatch).app)
    token = keycloak_access_token(
        keycloak, realm_access={"roles": ["offline_access"]}, resource_access={"account": {"roles": ["orders:write"]}}
    )
    response = client.post("/orders", headers=bearer(token))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("make", [keycloak_refresh_token, keycloak_id_token])
def test_keycloak_refresh_and_id_tokens_are_refused(
    keycloak: Provider, monkeypatch: pytest.MonkeyPatch, make: object
) -> None:
    client = TestClient(example("keycloak", keycloak, monkeypatch).app)
    response = client.get("/orders", headers=bearer(make(keycloak)))  # type: ignore[operator]
    assert response.status_code == 401
    assert "typ" in response.json()["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_keycloak_refresh_token_as_keycloak_signs_it_hs512(keycloak: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    import jwt

    client = TestClient(example("keycloak", keycloak, monkeypatch).app)
    claims = jwt.decode(keycloak_refresh_token(keycloak), options={"verify_signature": False})
    token = jwt.encode(claims, "a-realm-hmac-key-of-at-least-64-bytes-" * 2, algorithm="HS512", headers={"kid": "h"})
    assert client.get("/orders", headers=bearer(token)).status_code == 401


# -- Auth0 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rfc9068", [True, False], ids=["typ at+jwt", "typ JWT"])
def test_auth0_permissions(auth0: Provider, monkeypatch: pytest.MonkeyPatch, rfc9068: bool) -> None:
    client = TestClient(example("auth0", auth0, monkeypatch).app)
    token = auth0_access_token(auth0, rfc9068=rfc9068)
    response = client.get("/orders", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {"sub": "auth0|64f1c2d3e4b5a6978899aabb", "permissions": ["orders:read", "orders:write"]}
    assert client.post("/orders", headers=bearer(token)).status_code == 200


def test_auth0_machine_to_machine(auth0: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("auth0", auth0, monkeypatch).app)
    token = auth0_machine_token(auth0)
    assert client.get("/orders", headers=bearer(token)).json()["sub"] == "Xb1oYr3zL0q5CwN8tPz4@clients"
    assert client.post("/orders", headers=bearer(token)).status_code == 403


def test_auth0_id_token_is_refused_by_its_audience(auth0: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("auth0", auth0, monkeypatch).app)
    claims = {"iss": auth0.issuer, "sub": "auth0|64f1c2d3e4b5a6978899aabb", "aud": "Xb1oYr3zL0q5CwN8tPz4"}
    id_token = auth0.sign({**claims, "iat": 1, "exp": 4102444800, "nonce": "n", "sid": "s"})
    assert client.get("/orders", headers=bearer(id_token)).status_code == 401


def test_auth0_wrong_shape_is_401(auth0: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("auth0", auth0, monkeypatch).app)
    response = client.get("/orders", headers=bearer(auth0_access_token(auth0, permissions={"orders": "read"})))
    assert response.status_code == 401
    assert "permissions" in response.json()["detail"]


# -- Entra ID ------------------------------------------------------------------------------------


def test_entra_keys_without_alg_and_scp_and_roles(entra: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "alg" not in entra.jwks()["keys"][0]
    client = TestClient(example("entra", entra, monkeypatch).app)
    token = entra_access_token(entra)
    response = client.get("/orders", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "tenant": TENANT,
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "permissions": ["Orders.Read", "Orders.Write", "Orders.Admin"],
    }
    assert client.get("/admin", headers=bearer(token)).status_code == 200


def test_entra_app_only_token(entra: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("entra", entra, monkeypatch).app)
    token = entra_app_token(entra)
    assert client.get("/orders", headers=bearer(token)).json()["permissions"] == ["Orders.Read.All"]
    assert client.get("/admin", headers=bearer(token)).status_code == 403


def test_entra_token_of_another_api_is_refused(entra: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(example("entra", entra, monkeypatch).app)
    token = entra_access_token(entra, aud="00000003-0000-0000-c000-000000000000")  # a Microsoft Graph token
    assert client.get("/orders", headers=bearer(token)).status_code == 401
    assert ENTRA_API != "00000003-0000-0000-c000-000000000000"


def test_issuer_mismatch_fails_closed(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with serving("entra") as entra:
        entra.discovery_issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"  # the "common" template
        client = TestClient(example("entra", entra, monkeypatch).app)
        with caplog.at_level(logging.ERROR, logger="fastapi_apojwt.jwks"):
            response = client.get("/orders", headers=bearer(entra_access_token(entra)))
        assert response.status_code == 503
        assert response.json() == {
            "detail": "The keys of the token issuer are not available right now "
            "(the issuer's OpenID configuration names another issuer); try again shortly."
        }
        assert any("'issuer' is not" in record.getMessage() for record in caplog.records)
        assert entra.jwks_path not in entra.requests  # the key set of a mismatched document is never fetched

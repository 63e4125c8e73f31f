"""Other issuers' tokens through FastAPI guards: permissions from the configured claims, RFC 6750 answers.

(No ``from __future__ import annotations``: the routes are declared inside fixtures.)
"""

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, TokenContext
from tests.idp import ENTRA_API, Provider, entra_access_token, keycloak_access_token, keycloak_refresh_token


@pytest.fixture
def entra() -> Provider:
    return Provider("entra", port=1)  # never served: the key set is given as jwks=


@pytest.fixture
def client(entra: Provider) -> TestClient:
    ajwt = ApoJWT(
        jwks=entra.jwks(),  # RSA keys without "alg", as Entra ID publishes them
        algorithm="RS256",
        iss=entra.issuer,
        server_audience=[ENTRA_API],
        permissions_claim=["scp", "roles"],
    )
    app = FastAPI()

    @app.get("/read")
    async def read(ctx: Annotated[TokenContext, Depends(ajwt.permission("Orders.Read"))]) -> list[str]:
        return list(ctx.permissions)

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    return TestClient(app)


def get(client: TestClient, path: str, token: str) -> tuple[int, str]:
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.headers.get("www-authenticate", "")


def test_scopes_and_roles(client: TestClient, entra: Provider) -> None:
    response = client.get("/read", headers={"Authorization": f"Bearer {entra_access_token(entra)}"})
    assert response.json() == ["Orders.Read", "Orders.Write", "Orders.Admin"]


def test_missing_claims_are_403_where_a_permission_is_needed(client: TestClient, entra: Provider) -> None:
    token = entra_access_token(entra, scp=None, roles=None)
    assert get(client, "/me", token)[0] == 200
    status, challenge = get(client, "/read", token)
    assert status == 403
    assert 'error="insufficient_scope"' in challenge


@pytest.mark.parametrize("scp", [7, {"Orders.Read": True}, ["Orders.Read", None], None])
def test_wrong_shapes_are_401(client: TestClient, entra: Provider, scp: object) -> None:
    token = entra_access_token(entra, scp=scp) if scp is not None else entra.sign({"scp": None, "sub": "x"})
    for path in ("/me", "/read"):
        status, challenge = get(client, path, token)
        assert status == 401
        assert 'error="invalid_token"' in challenge


def test_keycloak_token_types(entra: Provider) -> None:
    keycloak = Provider("keycloak", index=entra.index, port=1)
    ajwt = ApoJWT(
        jwks=keycloak.jwks(),
        iss=keycloak.issuer,
        server_audience=["orders-api"],
        permissions_claim="realm_access.roles",
    )
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    client = TestClient(app)
    assert get(client, "/me", keycloak_access_token(keycloak))[0] == 200
    assert get(client, "/me", keycloak_refresh_token(keycloak))[0] == 401
    assert (
        "Wrong token type"
        in client.get("/me", headers={"Authorization": f"Bearer {keycloak_refresh_token(keycloak)}"}).text
    )

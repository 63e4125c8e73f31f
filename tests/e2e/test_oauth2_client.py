"""The example app's /auth/token against an OAuth2 client nobody here wrote: authlib's httpx client.

The example app runs under a real uvicorn server on 127.0.0.1. authlib reads the
RFC 6749 §5.1 response as a token and the §5.2 response as an error: before
/auth/token followed the RFC, authlib stored a 401 ``{"detail": ...}`` body as if
it were a token.
"""

from __future__ import annotations

import time

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client, OAuthError

from tests.servers import UvicornServer

pytestmark = pytest.mark.e2e


def token_url(server: UvicornServer) -> str:
    return server.url + "/auth/token"


def test_fetch_token_with_a_password(example_server: UvicornServer) -> None:
    with OAuth2Client(client_id="docs", token_endpoint_auth_method="none", base_url=example_server.url) as client:
        token = client.fetch_token(token_url(example_server), username="bob", password="bob-password")
        assert token["token_type"] == "bearer"
        assert token["scope"] == "orders:read orders:write"
        assert isinstance(token["expires_in"], int)
        assert token["expires_at"] > time.time()  # authlib computed it from expires_in
        assert "refresh_token" not in token  # it travels in the HttpOnly cookie
        assert client.token is token
        # authlib now sends the token as a bearer token on every request.
        me = client.get("/me")
        assert me.status_code == 200
        assert me.json()["sub"] == "bob"
        assert client.get("/orders").status_code == 200
        assert client.get("/admin").status_code == 403


def test_a_confidential_client_sending_basic_auth_also_logs_in(example_server: UvicornServer) -> None:
    # authlib's default client authentication is client_secret_basic; the demo ignores client credentials.
    with OAuth2Client(client_id="docs", client_secret="s3cret") as client:
        token = client.fetch_token(token_url(example_server), username="alice", password="alice-password")
        assert token["scope"] == "orders:read"


@pytest.mark.parametrize(
    ("username", "password"), [("bob", "nope"), ("nobody", "bob-password"), ("alice", "bob-password")]
)
def test_bad_password_is_invalid_grant(example_server: UvicornServer, username: str, password: str) -> None:
    with OAuth2Client(client_id="docs", token_endpoint_auth_method="none") as client:
        with pytest.raises(OAuthError) as caught:
            client.fetch_token(token_url(example_server), username=username, password=password)
        assert caught.value.error == "invalid_grant"
        assert caught.value.description == "Incorrect username or password."
        assert client.token is None  # the error body was not taken for a token


def test_client_credentials_is_unsupported_grant_type(example_server: UvicornServer) -> None:
    with OAuth2Client(client_id="service", client_secret="s3cret") as client:
        with pytest.raises(OAuthError) as caught:
            client.fetch_token(token_url(example_server), grant_type="client_credentials")
        assert caught.value.error == "unsupported_grant_type"
        assert client.token is None


def test_other_grants_are_unsupported(example_server: UvicornServer) -> None:
    with OAuth2Client(client_id="docs", token_endpoint_auth_method="none") as client:
        with pytest.raises(OAuthError) as caught:
            client.fetch_token(token_url(example_server), grant_type="refresh_token", refresh_token="abc")
        assert caught.value.error == "unsupported_grant_type"


async def test_async_client(example_server: UvicornServer) -> None:
    async with AsyncOAuth2Client(
        client_id="docs", token_endpoint_auth_method="none", base_url=example_server.url
    ) as client:
        token = await client.fetch_token(token_url(example_server), username="root", password="root-password")
        assert token["scope"] == "admin"
        assert (await client.get("/admin")).status_code == 200
    async with AsyncOAuth2Client(client_id="docs", token_endpoint_auth_method="none") as client:
        with pytest.raises(OAuthError) as caught:
            await client.fetch_token(token_url(example_server), username="root", password="wrong")
        assert caught.value.error == "invalid_grant"
        assert client.token is None

"""fastapi_apojwt.testing: real tokens in one call, clients authenticated without a login."""

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask

from fastapi_apojwt.testing import auth_headers, authenticate, create_test_token, create_test_tokens, unauthenticate
from tests.apps import make_ajwt
from tests.conftest import REFRESH_SECRET


def test_create_test_token_carries_what_was_asked() -> None:
    ajwt = make_ajwt()
    ctx = ajwt.decode(create_test_token(ajwt, sub="alice", permissions=["a", "b"], data={"k": 1}))
    assert (ctx.sub, ctx.permissions, ctx.data, ctx.fresh) == ("alice", ("a", "b"), {"k": 1}, True)
    assert ajwt.decode(create_test_token(ajwt, fresh=False)).fresh is False


def test_tokens_with_and_without_refresh() -> None:
    ajwt = make_ajwt()
    access, refresh = create_test_tokens(ajwt, sub="bob")
    assert refresh is None
    assert ajwt.decode(access).sub == "bob"
    ajwt.config_refresh(REFRESH_SECRET)
    access, refresh = create_test_tokens(ajwt, sub="bob", refresh_data={"r": 1})
    assert refresh is not None
    assert ajwt.decode(create_test_token(ajwt, sub="carol")).sub == "carol"  # the access token alone


def test_auth_headers() -> None:
    ajwt = make_ajwt()
    headers = auth_headers(ajwt, sub="dan", permissions=["x"])
    assert list(headers) == ["Authorization"]
    assert headers["Authorization"].startswith("Bearer ")
    assert ajwt.decode(headers["Authorization"][7:]).permissions == ("x",)


def test_authenticate_each_kind_of_client() -> None:
    ajwt = make_ajwt()
    starlette_client = TestClient(FastAPI())
    token = authenticate(starlette_client, ajwt, sub="eve")
    assert starlette_client.headers["Authorization"] == f"Bearer {token}"
    unauthenticate(starlette_client)
    assert "Authorization" not in starlette_client.headers

    with httpx.Client() as http_client:
        authenticate(http_client, ajwt, sub="eve")
        assert http_client.headers["Authorization"].startswith("Bearer ")

    flask_client = Flask(__name__).test_client()
    token = authenticate(flask_client, ajwt, sub="eve")
    assert flask_client.environ_base["HTTP_AUTHORIZATION"] == f"Bearer {token}"
    unauthenticate(flask_client)
    assert "HTTP_AUTHORIZATION" not in flask_client.environ_base

    with pytest.raises(TypeError, match="test clients"):
        authenticate(object(), ajwt)

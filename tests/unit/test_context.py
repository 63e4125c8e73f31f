"""TokenContext and RefreshContext: immutable, typed, and typed ``data`` through ``data_model``."""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

from datetime import datetime, timezone
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from fastapi_apojwt import ApoJWT, InvalidClaimError, RefreshContext, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET


class User(BaseModel):
    user_id: int
    team: str = "none"


@pytest.fixture(scope="module")
def ajwt() -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")


@pytest.fixture(scope="module")
def typed() -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], data_model=User)


def test_fields(ajwt: ApoJWT) -> None:
    token = ajwt.create_token(sub="alice", permissions=["a", "b"], data={"k": [1, 2]})
    ctx = ajwt.decode(token)
    assert isinstance(ctx, TokenContext)
    assert ctx.sub == "alice"
    assert ctx.permissions == ("a", "b")
    assert ctx.data == {"k": [1, 2]}
    assert ctx.iss == ISSUER
    assert ctx.aud == (AUDIENCE,)
    for moment in (ctx.iat, ctx.nbf, ctx.exp):
        assert isinstance(moment, datetime)
        assert moment.utcoffset() is not None
        assert moment.astimezone(timezone.utc) == moment
    assert isinstance(ctx.jti, str)
    assert ctx.token == token
    assert ctx.claims["sub"] == "alice"
    assert ctx.claims["perms"] == ["a", "b"]
    assert ctx.fresh is True
    assert ctx.admin is False


def test_context_is_immutable(ajwt: ApoJWT) -> None:
    ctx = ajwt.decode(ajwt.create_token(sub="alice", permissions=["a"]))
    with pytest.raises(ValidationError):
        ctx.sub = "root"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ctx.permissions = ("admin",)  # type: ignore[misc]
    assert isinstance(ctx.permissions, tuple)


def test_repr_never_shows_the_token(ajwt: ApoJWT) -> None:
    token = ajwt.create_token(sub="alice")
    ctx = ajwt.decode(token)
    assert token not in repr(ctx)
    assert token not in str(ctx)
    signature = token.rsplit(".", 1)[1]
    assert signature not in repr(ctx)


def test_has_permission(ajwt: ApoJWT) -> None:
    ctx = ajwt.decode(ajwt.create_token(sub="a", permissions=["orders:read"]))
    assert ctx.has_permission("orders:read")
    assert not ctx.has_permission("orders:write")
    root = ajwt.decode(ajwt.create_token(sub="root", permissions=["admin"]))
    assert root.admin
    assert root.has_permission("orders:write")


def test_a_context_built_by_hand_still_checks_permissions() -> None:
    now = datetime.now(timezone.utc)
    ctx: TokenContext[dict[str, Any]] = TokenContext(
        sub="s",
        permissions=("p",),
        data={},
        iss="",
        aud=(),
        iat=now,
        nbf=None,
        exp=now,
        jti=None,
        claims={},
        token="t",
    )
    assert ctx.has_permission("p")
    assert not ctx.has_permission("q")


def test_typed_data(typed: ApoJWT) -> None:
    ctx = typed.decode(typed.create_token(sub="alice", data={"user_id": 7, "team": "a"}))
    assert isinstance(ctx.data, User)
    assert ctx.data == User(user_id=7, team="a")
    # A pydantic model can be passed to create_token directly.
    ctx = typed.decode(typed.create_token(sub="alice", data=User(user_id=8)))
    assert ctx.data.user_id == 8


@pytest.mark.parametrize("data", [{}, {"user_id": "not-an-int"}, {"team": "a"}, {"user_id": None}])
def test_data_that_fails_validation_is_invalid_token(typed: ApoJWT, data: dict[str, Any]) -> None:
    token = typed.create_token(sub="alice", data=data)
    with pytest.raises(InvalidClaimError) as info:
        typed.decode(token)
    assert info.value.status_code == 401
    assert "data" in info.value.detail
    assert "not-an-int" not in info.value.detail


def test_typed_data_in_a_route(typed: ApoJWT) -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext[User], Depends(typed.token_required)]) -> dict[str, Any]:
        assert isinstance(ctx.data, User)
        return {"user_id": ctx.data.user_id}

    client = TestClient(app)
    good = typed.create_token(sub="a", data={"user_id": 3})
    assert client.get("/me", headers={"Authorization": f"Bearer {good}"}).json() == {"user_id": 3}
    bad = typed.create_token(sub="a", data={"user_id": "x"})
    response = client.get("/me", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert bad not in response.text


def test_refresh_context_fields() -> None:
    now = datetime.now(timezone.utc)
    ctx = RefreshContext(
        sub="alice", data={"uid": 1}, exp=now, iat=now, jti="j", family="f", claims={}, token="secret-token"
    )
    assert ctx.sub == "alice"
    assert ctx.data == {"uid": 1}
    assert ctx.jti == "j"
    assert "secret-token" not in repr(ctx)
    with pytest.raises(ValidationError):
        ctx.sub = "root"  # type: ignore[misc]


def test_returning_the_context_never_echoes_the_token(ajwt: ApoJWT) -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> TokenContext:
        return ctx

    @app.get("/raw")
    async def raw(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> Any:
        return ctx

    token = ajwt.create_token(sub="alice", permissions=["p"])
    client = TestClient(app)
    for path in ("/me", "/raw"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json()["sub"] == "alice"
        assert token not in response.text
        assert token.rsplit(".", 1)[1] not in response.text
    assert "token" not in ajwt.decode(token).model_dump()

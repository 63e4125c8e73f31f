"""A token cookie sent twice (cookie tossing) is refused with 400 invalid_request, never resolved silently."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, RefreshContext, TokenContext
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


def build() -> tuple[ApoJWT, FastAPI]:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], token_location="cookies")
    ajwt.config_refresh(REFRESH_SECRET)
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
        return {"sub": ctx.sub}

    @app.post("/auth/refresh")
    async def refresh(response: Response, ctx: Annotated[RefreshContext, Depends(ajwt.refresh)]) -> dict[str, Any]:
        return {"sub": ctx.sub}

    return ajwt, app


def test_duplicate_access_cookie_is_an_invalid_request() -> None:
    ajwt, app = build()
    client = TestClient(app)
    mine, theirs = ajwt.create_token(sub="victim")[0], ajwt.create_token(sub="attacker")[0]
    assert client.get("/me", headers={"Cookie": f"access_token={mine}"}).json() == {"sub": "victim"}
    tossed = client.get("/me", headers={"Cookie": f"access_token={theirs}; access_token={mine}"})
    assert tossed.status_code == 400
    assert tossed.headers["www-authenticate"].startswith('Bearer error="invalid_request"')
    assert mine not in tossed.text
    assert theirs not in tossed.text


def test_duplicate_refresh_cookie_is_an_invalid_request() -> None:
    ajwt, app = build()
    client = TestClient(app)
    _, victim = ajwt.create_token(sub="victim")
    _, attacker = ajwt.create_token(sub="attacker")
    csrf = ajwt.csrf_token(attacker)
    tossed = client.post(
        "/auth/refresh",
        headers={
            "Cookie": f"refresh_token={attacker}; refresh_token={victim}; csrf_refresh_token={csrf}",
            "X-CSRF-Token": csrf,
        },
    )
    assert tossed.status_code == 400
    genuine = client.post(
        "/auth/refresh",
        headers={
            "Cookie": f"refresh_token={victim}; csrf_refresh_token={ajwt.csrf_token(victim)}",
            "X-CSRF-Token": ajwt.csrf_token(victim),
        },
    )
    assert genuine.status_code == 200, genuine.text
    assert genuine.json() == {"sub": "victim"}

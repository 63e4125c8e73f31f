from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET


def test_protected_route_round_trip() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
        return {"sub": ctx.sub}

    client = TestClient(app)
    token = ajwt.create_token(sub="alice")
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json() == {"sub": "alice"}
    missing = client.get("/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"

"""Cookie-authenticated WebSocket handshakes from another site are refused (cross-site WebSocket hijacking)."""

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_apojwt import ApoJWT, ConfigurationError, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET


def build(**origins: object) -> tuple[ApoJWT, TestClient]:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], token_location="cookies")
    ajwt.config_access_cookies(**origins)  # type: ignore[arg-type]
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> None:
        await websocket.accept()
        await websocket.send_text(ctx.sub)
        await websocket.close()

    return ajwt, TestClient(app)


def handshake(client: TestClient, token: str, origin: str | None) -> str:
    headers = {"Cookie": f"access_token={token}"}
    if origin is not None:
        headers["Origin"] = origin
    with client.websocket_connect("/ws", headers=headers) as websocket:
        return websocket.receive_text()


@pytest.mark.parametrize("origin", [None, "http://testserver", "HTTP://TESTSERVER"])
def test_same_site_and_non_browser_handshakes_pass(origin: str | None) -> None:
    ajwt, client = build()
    assert handshake(client, ajwt.create_token(sub="alice"), origin) == "alice"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://testserver.evil.example", "null"])
def test_cross_site_handshake_is_closed_with_1008(origin: str) -> None:
    ajwt, client = build()
    with pytest.raises(WebSocketDisconnect) as closed:
        handshake(client, ajwt.create_token(sub="alice"), origin)
    assert closed.value.code == 1008


def test_allowed_origins_open_the_door_for_named_sites_only() -> None:
    ajwt, client = build(allowed_origins=["https://app.example.com"])
    token = ajwt.create_token(sub="alice")
    assert handshake(client, token, "https://app.example.com") == "alice"
    with pytest.raises(WebSocketDisconnect):
        handshake(client, token, "https://other.example.com")


@pytest.mark.parametrize("bad", ["app.example.com", "https://app.example.com/", 42])
def test_allowed_origins_are_checked_at_start_up(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="allowed_origins"):
        build(allowed_origins=[bad])

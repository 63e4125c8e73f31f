"""Guards on FastAPI WebSocket routes: header, opt-in query parameter and subprotocol, 1008 closes.

The module-level ``app`` is also served by a real uvicorn process for the last tests.
"""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.finders import accepted_subprotocol
from fastapi_apojwt.testing import create_test_token
from tests.conftest import AUDIENCE, ISSUER, SECRET
from tests.servers import uvicorn_server

ajwt = ApoJWT(
    SECRET,
    iss=ISSUER,
    server_audience=[AUDIENCE],
    websocket_query_param="token",
    websocket_subprotocol="bearer",
)
header_only = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket, ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> None:
    await websocket.accept(subprotocol=accepted_subprotocol(websocket))
    await websocket.send_json({"sub": ctx.sub})
    await websocket.close()


@app.websocket("/ws/orders")
@ajwt.permission_required("orders:read")
async def ws_orders(websocket: WebSocket, token_subject: str, token_permissions: list[str]) -> None:
    await websocket.accept(subprotocol=accepted_subprotocol(websocket))
    await websocket.send_json({"sub": token_subject, "perms": token_permissions})
    await websocket.close()


@app.websocket("/ws/header-only")
async def ws_header_only(
    websocket: WebSocket, ctx: Annotated[TokenContext, Depends(header_only.token_required)]
) -> None:
    await websocket.accept()
    await websocket.send_json({"sub": ctx.sub})
    await websocket.close()


@app.get("/http")
async def http(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
    return {"sub": ctx.sub}


def token(sub: str = "alice", permissions: tuple[str, ...] = ()) -> str:
    return create_test_token(ajwt, sub=sub, permissions=permissions)


@pytest.fixture
def client() -> TestClient:
    return TestClient(app)


def rejected(client: TestClient, path: str, **kwargs: Any) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as caught, client.websocket_connect(path, **kwargs) as session:
        session.receive_json()
    return caught.value


def test_token_from_the_authorization_header(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"Authorization": f"Bearer {token()}"}) as session:
        assert session.receive_json() == {"sub": "alice"}


def test_no_or_bad_token_closes_with_1008(client: TestClient) -> None:
    assert rejected(client, "/ws").code == 1008
    bad = rejected(client, "/ws", headers={"Authorization": "Bearer x.y.z"})
    assert bad.code == 1008
    assert "x.y.z" not in (bad.reason or "")
    expired = rejected(client, "/ws/orders", headers={"Authorization": f"Bearer {token()}"})
    assert expired.code == 1008  # valid token, missing permission


def test_decorated_websocket_route(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {token(permissions=('orders:read',))}"}
    with client.websocket_connect("/ws/orders", headers=headers) as session:
        assert session.receive_json() == {"sub": "alice", "perms": ["orders:read"]}


def test_query_parameter_is_opt_in_and_websocket_only(client: TestClient) -> None:
    with client.websocket_connect(f"/ws?token={token()}") as session:
        assert session.receive_json() == {"sub": "alice"}
    assert rejected(client, f"/ws/header-only?token={token()}").code == 1008
    # never on plain HTTP routes, even with the opt-in
    assert client.get(f"/http?token={token()}").status_code == 401
    assert rejected(client, f"/ws?token={token()}&token={token()}").code == 1008


def test_subprotocol_is_echoed_without_the_token(client: TestClient) -> None:
    with client.websocket_connect("/ws", subprotocols=["bearer", token()]) as session:
        assert session.accepted_subprotocol == "bearer"
        assert session.receive_json() == {"sub": "alice"}
    assert rejected(client, "/ws", subprotocols=["bearer"]).code == 1008
    assert rejected(client, "/ws/header-only", subprotocols=["bearer", token()]).code == 1008


def test_header_wins_over_other_sources(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {token('from-header')}"}
    with client.websocket_connect(f"/ws?token={token('from-query')}", headers=headers) as session:
        assert session.receive_json() == {"sub": "from-header"}


# -- a real uvicorn server and a real websocket client ------------------------------------------


@pytest.fixture(scope="module")
def server_url() -> Any:
    with uvicorn_server("tests.integration.test_websockets:app") as server:
        yield server.url.replace("http://", "ws://")


def test_real_server_accepts_valid_tokens(server_url: str) -> None:
    from websockets.sync.client import connect

    with connect(f"{server_url}/ws", additional_headers={"Authorization": f"Bearer {token()}"}) as session:
        assert session.recv(timeout=10) == '{"sub":"alice"}'
    with connect(f"{server_url}/ws", subprotocols=["bearer", token()]) as session:  # type: ignore[list-item]
        assert session.subprotocol == "bearer"
        assert session.recv(timeout=10) == '{"sub":"alice"}'


def test_real_server_rejects_the_handshake(server_url: str) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as caught, connect(f"{server_url}/ws", open_timeout=10):
        pass
    # An ASGI close before accept is a refused handshake: uvicorn answers 403.
    assert caught.value.response.status_code == 403

"""Other token channels: WebSocket handshakes and access tokens held in cookies (CSRF).

Catalogue: RFC 6455 §10.2 / OWASP WebSocket cheat sheet (authentication at
the handshake, tokens in query strings leak to logs), RFC 8725 §3.1 on every
channel; OWASP CSRF cheat sheet (signed double submit, protect every
state-changing method), RFC 6265bis (cookies are sent ambiently).
"""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.finders import accepted_subprotocol
from tests.security.attack import AUDIENCE, ISSUER, SECRET, forge, valid_claims

# -- WebSocket handshakes ---------------------------------------------------------------------------

opted_in = ApoJWT(
    SECRET, iss=ISSUER, server_audience=[AUDIENCE], websocket_query_param="token", websocket_subprotocol="bearer"
)
header_only = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
ws_app = FastAPI()


@ws_app.websocket("/ws")
async def ws(websocket: WebSocket, ctx: Annotated[TokenContext, Depends(opted_in.permission("orders:read"))]) -> None:
    await websocket.accept(subprotocol=accepted_subprotocol(websocket))
    await websocket.send_json({"sub": ctx.sub})
    await websocket.close()


@ws_app.websocket("/ws/header-only")
async def ws_header(websocket: WebSocket, ctx: Annotated[TokenContext, Depends(header_only.token_required)]) -> None:
    await websocket.accept()
    await websocket.send_json({"sub": ctx.sub})
    await websocket.close()


GENUINE = opted_in.create_token(sub="alice", permissions=["orders:read"])


def _connect(path: str, **kwargs: Any) -> dict[str, Any]:
    with TestClient(ws_app).websocket_connect(path, **kwargs) as socket:
        message: dict[str, Any] = socket.receive_json()
        return message


def _refused(path: str, **kwargs: Any) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        _connect(path, **kwargs)
    assert refused.value.code == 1008  # RFC 6455 §7.4.1 policy violation
    # Control: the same route admits a genuine token.
    assert _connect("/ws", headers={"Authorization": f"Bearer {GENUINE}"}) == {"sub": "alice"}


FORGED = {
    "alg-none": forge({"alg": "none"}, valid_claims(perms=["orders:read"]), key=None),
    "wrong-key": forge(None, valid_claims(perms=["orders:read"]), key="k" * 40),
    "expired": forge(None, valid_claims(perms=["orders:read"], exp=1000, iat=900, nbf=900)),
    "no-permission": opted_in.create_token(sub="mallory", permissions=["orders:reads"]),
    "refresh-shaped": forge(None, valid_claims(type="refresh", perms=None)),
}


@pytest.mark.parametrize("case", list(FORGED))
@pytest.mark.parametrize("channel", ["header", "query", "subprotocol"])
def test_rfc6455_handshake_rejects_forged_tokens(case: str, channel: str) -> None:
    """RFC 8725 §3.1 on WebSockets: every channel refuses forged tokens with a 1008 close."""
    token = FORGED[case]
    if channel == "header":
        _refused("/ws", headers={"Authorization": f"Bearer {token}"})
    elif channel == "query":
        _refused(f"/ws?token={token}")
    else:
        _refused("/ws", subprotocols=["bearer", token])


def test_websocket_query_token_ignored_unless_opted_in() -> None:
    """OWASP (tokens in URLs leak to logs): a header-only service ignores ``?token=`` on WebSockets."""
    with pytest.raises(WebSocketDisconnect) as refused:
        _connect(f"/ws/header-only?token={GENUINE}")
    assert refused.value.code == 1008
    assert _connect("/ws/header-only", headers={"Authorization": f"Bearer {GENUINE}"}) == {"sub": "alice"}


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"subprotocols": ["bearer"]}, id="marker-without-token"),
        pytest.param({"subprotocols": ["bearer", ""]}, id="marker-empty-token"),
        pytest.param({"subprotocols": ["bearer", GENUINE, "bearer", GENUINE]}, id="marker-twice"),
        pytest.param({"subprotocols": [GENUINE, "bearer"]}, id="token-before-marker"),
    ],
)
def test_websocket_subprotocol_tricks(kwargs: dict[str, Any]) -> None:
    """Malformed subprotocol offers are refused (1008), never accepted or a 500."""
    _refused("/ws", **kwargs)


def test_websocket_never_echoes_token_as_subprotocol() -> None:
    """The accepted subprotocol is the marker, never the token (which would echo it in a response header)."""
    with TestClient(ws_app).websocket_connect("/ws", subprotocols=["bearer", GENUINE]) as socket:
        assert socket.accepted_subprotocol == "bearer"
        assert socket.receive_json() == {"sub": "alice"}


# -- access tokens in cookies: CSRF on state-changing methods -------------------------------------

cookie_ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], token_location="cookies")
cookie_app = FastAPI()


@cookie_app.api_route("/orders", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "PROPFIND"])
async def orders(ctx: Annotated[TokenContext, Depends(cookie_ajwt.token_required)]) -> dict[str, str]:
    return {"sub": ctx.sub}


COOKIE_TOKEN = cookie_ajwt.create_token(sub="alice")


def _cookie_request(method: str, *, csrf: str | None, csrf_cookie: str | None) -> Any:
    client = TestClient(cookie_app)
    client.cookies.set("access_token", COOKIE_TOKEN)
    if csrf_cookie is not None:
        client.cookies.set("csrf_access_token", csrf_cookie)
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    return client.request(method, "/orders", headers=headers)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"])
def test_owasp_csrf_cookie_access_token_state_changing_methods(method: str) -> None:
    """OWASP CSRF: a cookie-held access token needs the CSRF pair on every state-changing method."""
    good = cookie_ajwt.csrf_token(COOKIE_TOKEN)
    assert _cookie_request(method, csrf=None, csrf_cookie=good).status_code == 403
    assert _cookie_request(method, csrf="attacker", csrf_cookie="attacker").status_code == 403
    assert _cookie_request(method, csrf=good, csrf_cookie=good).status_code == 200


@pytest.mark.parametrize("method", ["GET"])
def test_safe_methods_need_no_csrf(method: str) -> None:
    """Safe methods carry no CSRF header (they must not change state)."""
    assert _cookie_request(method, csrf=None, csrf_cookie=None).status_code == 200


def test_cookie_service_ignores_bearer_header() -> None:
    """A cookie-configured service does not silently also accept a forged bearer header."""
    client = TestClient(cookie_app)
    forged = forge({"alg": "none"}, valid_claims(), key=None)
    response = client.get("/orders", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401

from fastapi import Depends, FastAPI, WebSocket

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.finders import accepted_subprotocol

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    websocket_subprotocol="bearer",  # new WebSocket(url, ["bearer", token])
    websocket_query_param="token",  # new WebSocket(url + "?token=" + token)
)

app = FastAPI()


@app.websocket("/live")
async def live(websocket: WebSocket, ctx: TokenContext = Depends(ajwt.token_required)) -> None:
    # Echo "bearer" back (never the token), or the browser drops the connection.
    await websocket.accept(subprotocol=accepted_subprotocol(websocket))
    await websocket.send_json({"sub": ctx.sub})
    await websocket.close()

from fastapi import Depends, FastAPI, WebSocket

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")

app = FastAPI()


@app.websocket("/chat")
async def chat(websocket: WebSocket, ctx: TokenContext = Depends(ajwt.permission("chat:join"))) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(f"{ctx.sub}: {message}")


@app.websocket("/notifications")
@ajwt.token_required
async def notifications(websocket: WebSocket, token_subject: str) -> None:
    await websocket.accept()
    await websocket.send_json({"hello": token_subject})
    await websocket.close()

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from fastapi_apojwt import ApoJWT, ApoJWTError

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")

app = FastAPI()


@app.exception_handler(ApoJWTError)
async def auth_error(request: Request, exc: ApoJWTError) -> JSONResponse:
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": {"type": type(exc).__name__, "message": exc.detail}},
        headers=exc.headers,  # keep the RFC 6750 WWW-Authenticate challenge
    )


@app.get("/orders", dependencies=[Depends(ajwt.permission("orders:read"))])
async def orders() -> list[str]:
    return ["coffee"]

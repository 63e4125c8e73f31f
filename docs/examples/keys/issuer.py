import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext


def private_key_pem() -> str:
    """The issuer's private key: from a file in production, generated here for the demo."""
    path = os.environ.get("ISSUER_KEY_FILE")
    if path:
        return Path(path).read_text()
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


ajwt = ApoJWT(
    private_key_pem(),
    algorithm="EdDSA",
    iss="https://auth.example.com",
    server_audience=["https://api.example.com"],
)

app = FastAPI()
app.include_router(ajwt.jwks_router())  # GET /.well-known/jwks.json


@app.post("/login")
async def login(username: str) -> dict[str, str]:
    # Check the user's password here: this example trusts everyone.
    token = ajwt.create_token(sub=username, permissions=["orders:read"])
    return {"access_token": token, "token_type": "bearer"}


@app.get("/me")
async def me(ctx: TokenContext = Depends(ajwt.token_required)) -> dict[str, object]:
    return {"sub": ctx.sub, "permissions": ctx.permissions}

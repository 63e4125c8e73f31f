import secrets

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordRequestForm

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")

app = FastAPI()
ajwt.init_app(app, token_url="/token")  # Swagger UI's Authorize dialog can log in here

USERS = {"alice": ("alice-password", ["orders:read"])}  # use hashed passwords in real code


@app.post("/token")
async def token(form: OAuth2PasswordRequestForm = Depends()) -> dict[str, str]:
    user = USERS.get(form.username)
    if user is None or not secrets.compare_digest(user[0].encode(), form.password.encode()):
        raise HTTPException(status_code=401, detail="Incorrect username or password.")
    access = ajwt.create_token(sub=form.username, permissions=user[1])
    return {"access_token": access, "token_type": "bearer"}


@app.get("/orders")
async def list_orders(ctx: TokenContext = Depends(ajwt.permission("orders:read"))) -> list[str]:
    return [f"orders of {ctx.sub}"]

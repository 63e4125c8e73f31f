from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
app = FastAPI()


class User(BaseModel):
    username: str
    email: str


USERS = {"alice": User(username="alice", email="alice@example.com")}


@ajwt.user_loader
async def load_user(ctx: TokenContext) -> User | None:
    return USERS.get(ctx.sub)  # None (an unknown or deleted user): 401


@app.get("/me")
async def me(user: Annotated[User, Depends(ajwt.current_user)]) -> User:
    return user


@app.get("/legacy-me")
@ajwt.current_user
def legacy_me(current_user: User) -> dict[str, str]:
    return {"email": current_user.email}

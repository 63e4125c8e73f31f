from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from fastapi_apojwt import ApoJWT, TokenContext


class UserData(BaseModel):
    name: str
    team: str
    locale: str = "en"


ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    data_model=UserData,
)

app = FastAPI()


@app.post("/login")
async def login(username: str) -> dict[str, str]:
    data = UserData(name=username.title(), team="shipping")
    return {"access_token": ajwt.create_token(sub=username, data=data)}


@app.get("/greeting")
async def greeting(ctx: Annotated[TokenContext[UserData], Depends(ajwt.token_required)]) -> dict[str, str]:
    # ctx.data is a UserData instance, validated once when the token was verified.
    return {"message": f"Hello {ctx.data.name} from {ctx.data.team}"}

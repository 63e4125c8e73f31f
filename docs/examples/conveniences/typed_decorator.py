from fastapi import FastAPI
from pydantic import BaseModel

from fastapi_apojwt import ApoJWT


class UserData(BaseModel):
    name: str
    team: str


ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    data_model=UserData,
)
app = FastAPI()


@app.get("/team")
@ajwt.token_required
async def team(token_data: UserData) -> dict[str, str]:
    # With data_model=, token_data is the validated model (a plain dict if annotated dict).
    return {"team": token_data.team}

from fastapi import FastAPI, Response

from fastapi_apojwt import ApoJWT

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
ajwt.config_refresh("another-random-secret-of-32-bytes-or-more")

app = FastAPI()


def get_user_permissions(user_id: str) -> list[str]:
    return ["orders:read"]


@app.post("/auth/refresh")
@ajwt.refresh
async def refresh(response: Response, refresh_data: dict) -> dict[str, str]:
    user_id = refresh_data["user_id"]
    access_token, refresh_token = ajwt.create_token(
        sub=user_id,
        permissions=get_user_permissions(user_id),
        refresh_data={"user_id": user_id},
    )
    ajwt.set_refresh_cookies(response, refresh_token)
    return {"access_token": access_token}

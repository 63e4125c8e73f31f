from typing import Any, NoReturn

from fastapi import FastAPI, Header, HTTPException

from fastapi_apojwt import ApoJWT


def token_finder(*args: Any, **kwargs: Any) -> str:
    # On a decorated route: the handler's own arguments, as apojwt 1.x did.
    # As a dependency: the keyword arguments `request` and `authorization`.
    if "x_api_token" in kwargs:
        return str(kwargs["x_api_token"])
    return str(kwargs["request"].headers["x-api-token"])


def exception_handler(code: int, msg: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise HTTPException(status_code=code, detail={"error": msg, "path_id": kwargs.get("item_id")})


ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    token_finder=token_finder,
    exception_handler=exception_handler,
)

app = FastAPI()


@app.get("/items/{item_id}")
@ajwt.token_required
def read_item(item_id: int, token_subject: str, x_api_token: str = Header("")) -> dict[str, Any]:
    return {"item_id": item_id, "owner": token_subject}

# An apojwt 1.x FastAPI program, as its README wrote it. Only the import line changed.
from typing import Optional, Union

from fastapi import Body, Cookie, FastAPI, Header, HTTPException

from fastapi_apojwt import ApoJWT  # was: from apojwt import ApoJWT

# --8<-- [start:finder]
"""Token Finder: used to locate and return the JWT"""
token_finder = lambda **kwargs: kwargs["authorization"].replace("Bearer ", "")
# --8<-- [end:finder]


# --8<-- [start:handler]
"""Exception Handler"""


def exception_handler(code: int, msg: str, *args, **kwargs):
    raise HTTPException(status_code=code, detail=msg)


# --8<-- [end:handler]


# --8<-- [start:construct]
ajwt = ApoJWT(
    "secret", iss="issuer", async_framework=True, token_finder=token_finder, exception_handler=exception_handler
)
# --8<-- [end:construct]


# --8<-- [start:refresh_config]
def refresh_finder(refresh_token: Union[str, None] = Cookie(default=None)):
    return refresh_token


ajwt.config_refresh("refresh_secret", refresh_finder=refresh_finder)
# --8<-- [end:refresh_config]

app = FastAPI()


# --8<-- [start:token_required]
@app.get("/some/endpoint")
@ajwt.token_required
def some_endpoint(
    authorization=Header(None), token_data: Optional[dict] = Body(None), token_subject: Optional[str] = Body(None)
):
    return {"token_subject": token_subject, "token_data": token_data}


# --8<-- [end:token_required]


# --8<-- [start:permission_required]
@app.get("/permission/endpoint")
@ajwt.permission_required("permission")
def permission_endpoint(authorization=Header(None)):
    return {"ok": True}


# --8<-- [end:permission_required]


def get_user_permissions(user_id):
    return ["permission"]


# --8<-- [start:refresh]
@app.get("/refresh")
@ajwt.refresh
def refresh(refresh_data: dict):
    user_id = refresh_data["user_id"]
    user_permissions = get_user_permissions(user_id)
    ref_data = dict(user_id=user_id)
    access_token, refresh_token = ajwt.create_token(sub=user_id, permissions=user_permissions, refresh_data=ref_data)
    return {"access_token": access_token}


# --8<-- [end:refresh]


# --8<-- [start:create_token]
"""Permissions will be assigned to the new token"""
sub = "user_id_1"
permissions = ["permission"]
data = dict(team="a")
refresh_data = dict(user_id="user_id_1")
access, refresh_token = ajwt.create_token(sub=sub, permissions=permissions, data=data, refresh_data=refresh_data)
# --8<-- [end:create_token]

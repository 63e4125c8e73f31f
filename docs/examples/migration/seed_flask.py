# An apojwt 1.x Flask program, as its README wrote it. Only the import line changed.
from flask import Flask, abort, request

from fastapi_apojwt import ApoJWT  # was: from apojwt import ApoJWT

# --8<-- [start:finder]
token_finder = lambda: request.headers["Authorization"].replace("Bearer ", "")
# --8<-- [end:finder]


# --8<-- [start:handler]
def exception_handler(code: int, msg: str):
    abort(code, msg)


# --8<-- [end:handler]


# --8<-- [start:construct]
ajwt = ApoJWT("secret", iss="issuer", token_finder=token_finder, exception_handler=exception_handler)
# --8<-- [end:construct]

# --8<-- [start:refresh_config]
ajwt.config_refresh("refresh_secret", refresh_finder=lambda: request.cookies.get("refresh_token"))
# --8<-- [end:refresh_config]

app = Flask(__name__)


# --8<-- [start:permission_required]
@app.route("/some/endpoint", methods=["GET"])
@ajwt.permission_required("permission")
def some_endpoint(token_data: dict, token_subject: str):
    return {"token_subject": token_subject, "token_data": token_data}


# --8<-- [end:permission_required]


# --8<-- [start:token_required]
@app.route("/other/endpoint", methods=["GET"])
@ajwt.token_required
def other_endpoint():
    return "ok"


# --8<-- [end:token_required]


# --8<-- [start:token_data]
@app.route("/data")
@ajwt.token_required
def route(token_data: dict, token_subject: str):
    print(token_subject)
    return token_data


# --8<-- [end:token_data]


# --8<-- [start:refresh]
@app.route("/refresh")
@ajwt.refresh
def refresh(refresh_data: dict):
    user_id = refresh_data["user_id"]
    ref_data = dict(user_id=user_id)
    access_token, refresh_token = ajwt.create_token(sub=user_id, permissions=["permission"], refresh_data=ref_data)
    return {"access_token": access_token}


# --8<-- [end:refresh]

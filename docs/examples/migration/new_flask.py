from typing import Any

from flask import Flask, Response, jsonify

from fastapi_apojwt import ApoJWT

# --8<-- [start:construct]
# template="flask": the token comes from Authorization, the refresh token from its cookie,
# errors are JSON 401/403 with WWW-Authenticate. No token_finder or exception_handler needed.
ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="issuer", template="flask")
ajwt.config_refresh("change-me-to-another-random-secret-of-32-bytes")
# --8<-- [end:construct]

app = Flask(__name__)


# --8<-- [start:permission_required]
@app.route("/some/endpoint", methods=["GET"])
@ajwt.permission_required("permission")
def some_endpoint(token_data: dict[str, Any], token_subject: str) -> dict[str, Any]:
    return {"token_subject": token_subject, "token_data": token_data}


# --8<-- [end:permission_required]


# --8<-- [start:refresh]
@app.route("/refresh", methods=["POST"])
@ajwt.refresh
def refresh(refresh_data: dict[str, Any]) -> Response:
    access_token, refresh_token = ajwt.create_token(sub=refresh_data["user_id"], refresh_data=refresh_data)
    response = jsonify(access_token=access_token)
    response.set_cookie("refresh_token", refresh_token, httponly=True, secure=True, samesite="Strict")
    response.set_cookie(ajwt.refresh_csrf_cookie_name, ajwt.csrf_token(refresh_token), secure=True, samesite="Strict")
    return response


# --8<-- [end:refresh]

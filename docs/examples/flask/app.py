from typing import Any

from flask import Flask, Response, jsonify

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    admin_permission="admin",
    template="flask",
)
ajwt.config_refresh("change-me-to-another-random-secret-of-32-bytes")

app = Flask(__name__)


@app.get("/me")
@ajwt.token_required
def me(token_subject: str, token_permissions: list[str]) -> dict[str, Any]:
    return {"sub": token_subject, "permissions": token_permissions}


@app.get("/orders/<int:order_id>")
@ajwt.permission_required("orders:read")
def read_order(order_id: int, ctx: TokenContext) -> dict[str, Any]:
    return {"id": order_id, "reader": ctx.sub}


@app.post("/auth/refresh")
@ajwt.refresh
def refresh(refresh_data: dict[str, Any]) -> Response:
    access, new_refresh = ajwt.create_token(sub=refresh_data["user"], refresh_data=refresh_data)
    response = jsonify(access_token=access, token_type="bearer")
    response.set_cookie("refresh_token", new_refresh, httponly=True, secure=True, samesite="Strict")
    response.set_cookie(ajwt.refresh_csrf_cookie_name, ajwt.csrf_token(new_refresh), secure=True, samesite="Strict")
    return response


@app.get("/report")
@ajwt.permission_required("reports:read")
async def report(token_subject: str) -> dict[str, Any]:  # needs Flask's async extra
    return {"for": token_subject}

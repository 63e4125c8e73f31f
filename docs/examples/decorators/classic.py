from typing import Any

from fastapi import FastAPI, Response

from fastapi_apojwt import ApoJWT, RefreshContext, TokenContext

ajwt = ApoJWT(
    "change-me-to-a-random-secret-of-32-bytes-or-more",
    iss="https://auth.example.com",
    admin_permission="admin",
)
ajwt.config_refresh("change-me-to-another-random-secret-of-32-bytes")

app = FastAPI()


@app.get("/me")
@ajwt.token_required
async def me(token_subject: str, token_permissions: list[str]) -> dict[str, Any]:
    return {"sub": token_subject, "permissions": token_permissions}


@app.get("/orders/{order_id}")
@ajwt.permission_required("orders:read")
def read_order(order_id: int, token_data: dict[str, Any], verbose: bool = False) -> dict[str, Any]:
    return {"id": order_id, "team": token_data.get("team"), "verbose": verbose}


@app.get("/profile")
@ajwt.token_required
async def profile(ctx: TokenContext) -> dict[str, Any]:
    return {"sub": ctx.sub, "expires": ctx.exp.isoformat(), "admin": ctx.admin}


@app.post("/auth/refresh")
@ajwt.refresh
async def refresh(response: Response, ctx: RefreshContext, refresh_data: dict[str, Any]) -> dict[str, str]:
    access, new_refresh = ajwt.create_token(
        sub=ctx.sub, permissions=refresh_data["permissions"], refresh_data=refresh_data
    )
    ajwt.set_refresh_cookies(response, new_refresh)
    return {"access_token": access, "token_type": "bearer"}

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
app = FastAPI()


@app.get("/profile")
async def profile(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
    # ctx.data and ctx.claims are read-only: ctx.data["team"] = "x" raises TypeError.
    # They serialise as plain JSON objects and arrays.
    return {"data": ctx.data, "claims": {"sub": ctx.claims["sub"], "aud": ctx.claims["aud"]}}


@app.get("/legacy-profile")
@ajwt.token_required
def legacy_profile(token_data: dict[str, Any]) -> dict[str, Any]:
    # The classic decorators hand each request its own plain dict, as apojwt 1.x did.
    token_data.setdefault("seen", True)
    return token_data

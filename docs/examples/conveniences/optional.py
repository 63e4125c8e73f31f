from typing import Annotated, Any

from fastapi import Depends, FastAPI

from fastapi_apojwt import ApoJWT, TokenContext

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
app = FastAPI()
ajwt.init_app(app)


@app.get("/products")
async def products(ctx: Annotated[TokenContext | None, Depends(ajwt.token_optional)]) -> dict[str, Any]:
    if ctx is None:
        return {"prices": "public"}
    return {"prices": "members", "for": ctx.sub}


@app.get("/legacy-products")
@ajwt.token_optional
def legacy_products(token_subject: str | None) -> dict[str, Any]:
    # The classic decorator injects None for every value when no token was sent.
    return {"for": token_subject}

"""Access cookies on instances without an HMAC secret (asymmetric issuer, verify-only service).

The CSRF value must still be derivable: such a set-up used to raise a
ConfigurationError on every unsafe request (a 500 at request time).
"""

from typing import Annotated

from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, TokenContext
from tests.conftest import AUDIENCE, ISSUER
from tests.integration.refresh_helpers import set_cookies
from tests.keypairs import private_pem, public_pem

HTTPS = "https://testserver"


def app_for(ajwt: ApoJWT, issuer: ApoJWT) -> FastAPI:
    app = FastAPI()

    @app.post("/login")
    async def login(response: Response) -> dict[str, str]:
        issuer.set_access_cookies(response, issuer.create_token(sub="alice", permissions=["orders:write"]))
        return {"ok": "in"}

    @app.post("/orders")
    async def order(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:write"))]) -> dict[str, str]:
        return {"by": ctx.sub}

    return app


def test_asymmetric_issuer_and_verify_only_service_check_access_cookie_csrf() -> None:
    issuer = ApoJWT(
        private_pem("EdDSA"), algorithm="EdDSA", iss=ISSUER, server_audience=[AUDIENCE], token_location="cookies"
    )
    verifier = ApoJWT(
        public_key=public_pem("EdDSA"),
        algorithm="EdDSA",
        iss=ISSUER,
        server_audience=[AUDIENCE],
        token_location="cookies",
    )
    for guard_owner in (issuer, verifier):
        client = TestClient(app_for(guard_owner, issuer), base_url=HTTPS)
        cookies = set_cookies(client.post("/login"))
        csrf = cookies["csrf_access_token"].value
        assert client.post("/orders").status_code == 403  # no CSRF header: refused, not a 500
        assert client.post("/orders", headers={"X-CSRF-Token": csrf + "x"}).status_code == 403
        ok = client.post("/orders", headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"by": "alice"}

# The README's "Usage Examples" with a template (apojwt 1.7 itself had no `template` argument).
from typing import Optional

from fastapi import Body, FastAPI, Header

from fastapi_apojwt import ApoJWT  # was: from apojwt import ApoJWT

# --8<-- [start:construct]
ajwt = ApoJWT("secret", iss="issuer", template="fastapi")
# --8<-- [end:construct]

app = FastAPI()


# --8<-- [start:route]
@app.get("/some/endpoint")
@ajwt.permission_required("permission")
def some_endpoint(authorization=Header(None)):
    return {"ok": True}


# --8<-- [end:route]


# --8<-- [start:token_data]
@app.get("/...")
@ajwt.permission_required("...")
def route(
    authorization=Header(None), token_data: Optional[dict] = Body(None), token_subject: Optional[str] = Body(None)
):
    return {"token_subject": token_subject, "token_data": token_data}


# --8<-- [end:token_data]

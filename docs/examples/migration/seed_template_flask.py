# The README's "Usage Examples" with a template (apojwt 1.7 itself had no `template` argument).
from flask import Flask

from fastapi_apojwt import ApoJWT  # was: from apojwt import ApoJWT

# --8<-- [start:construct]
ajwt = ApoJWT("secret", iss="issuer", template="flask")
# --8<-- [end:construct]

app = Flask(__name__)


# --8<-- [start:route]
@app.route("/some/endpoint", methods=["GET"])
@ajwt.token_required
def some_endpoint():
    return "ok"


# --8<-- [end:route]

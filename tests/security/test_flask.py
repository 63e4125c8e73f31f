"""The same attacks through the Flask template (errors through ``abort``), with a genuine control each time.

Catalogue: as the FastAPI suites (RFC 8725 §3.1, RFC 7518 §3.6, RFC 7519 §7.2,
RFC 8725 §2.8/§3.10, RFC 6750 §3); the Flask path has its own finder and error
plumbing, so it is attacked separately.
"""

import json
from typing import Any

import pytest
from flask import Flask

from fastapi_apojwt import ApoJWT
from tests.security.attack import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET, assert_not_echoed, forge, valid_claims

ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], template="flask", admin_permission="admin")
ajwt.config_refresh(REFRESH_SECRET)
app = Flask(__name__)


@app.route("/orders")
@ajwt.permission_required("orders:read")
def orders(token_subject: str) -> dict[str, Any]:
    return {"sub": token_subject}


client = app.test_client()
GENUINE, GENUINE_REFRESH = ajwt.create_token(sub="alice", permissions=["orders:read"])

ATTACKS = {
    "rfc7518-alg-none": forge({"alg": "none"}, valid_claims(), key=None),
    "rfc7518-alg-None-signed": forge({"alg": "None"}, valid_claims(), key=SECRET),
    "rfc8725-hs512-same-secret": forge({"alg": "HS512"}, valid_claims(), key=SECRET, alg="HS512"),
    "wrong-key": forge(None, valid_claims(), key="k" * 40),
    "stripped-signature": GENUINE.rsplit(".", 1)[0] + ".",
    "expired": forge(None, valid_claims(exp=1000, iat=900, nbf=900)),
    "rfc8725-3.10-perms-string": forge(None, valid_claims(perms="orders:read")),
    "exp-out-of-range": forge(None, valid_claims(exp=10**20)),
    "rfc8725-2.8-refresh-as-access": GENUINE_REFRESH,
    "rfc7516-jwe": "a.b.c.d.e",
    "oversize": "a" * 9000 + ".b.c",
}


@pytest.mark.parametrize("case", list(ATTACKS))
def test_flask_rejects(case: str) -> None:
    """Each attack: 401 ``invalid_token`` with the RFC 6750 challenge, nothing echoed; the genuine token passes."""
    token = ATTACKS[case]
    response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.data
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert set(json.loads(response.data)) == {"detail"}
    assert_not_echoed(token, dict(response.headers), response.data)
    control = client.get("/orders", headers={"Authorization": f"Bearer {GENUINE}"})
    assert control.status_code == 200
    assert control.get_json() == {"sub": "alice"}


@pytest.mark.parametrize(
    ("permission", "status"),
    [("ORDERS:READ", 403), ("orders:read ", 403), ("orders", 403), ("admin", 200), ("orders:read", 200)],
)
def test_flask_permission_matching(permission: str, status: int) -> None:
    """Near misses are 403 ``insufficient_scope``; the admin permission passes."""
    token = ajwt.create_token(sub="alice", permissions=[permission])[0]
    response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    if status == 403:
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_flask_missing_and_garbage_headers() -> None:
    """No token: plain ``Bearer`` challenge; garbage schemes and bytes: 401, never a 500."""
    assert client.get("/orders").headers["WWW-Authenticate"] == "Bearer"
    for value in ("Basic Zm9vOmJhcg==", "Bearer", "Bearer \u00e9".encode().decode("latin-1"), "Bearer a.b"):
        assert client.get("/orders", headers={"Authorization": value}).status_code == 401
    assert client.get("/orders", headers={"Authorization": f"Bearer {GENUINE}"}).status_code == 200

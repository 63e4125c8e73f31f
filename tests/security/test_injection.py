"""Parameter injection against the classic decorators (mass assignment of injected values).

Catalogue: OWASP API Security Top 10 API3:2023 (broken object property level
authorization / mass assignment), OWASP ASVS V5.1.2; apojwt 1.x documented
``token_subject: Optional[str] = Body(None)``, which a client could fill in if
the framework let it. The injected values must come only from the verified token.
"""

from typing import Any

import pytest
from fastapi import Body, FastAPI, Header
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT
from tests.security.attack import AUDIENCE, ISSUER, SECRET

ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")
app = FastAPI()


@app.get("/plain")
@ajwt.permission_required("orders:read")
def plain(token_subject: str, token_permissions: list[str], token_data: dict[str, Any]) -> dict[str, Any]:
    return {"sub": token_subject, "perms": token_permissions, "data": token_data}


@app.post("/legacy-body")
@ajwt.permission_required("orders:read")
def legacy_body(
    authorization: str | None = Header(None),
    token_data: dict[str, Any] | None = Body(None),  # noqa: B008 - the apojwt 1.x idiom under test
    token_subject: str | None = Body(None),
) -> dict[str, Any]:
    return {"sub": token_subject, "data": token_data}


client = TestClient(app)
TOKEN = ajwt.create_token(sub="alice", permissions=["orders:read"], data={"role": "user"})
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXPECTED = {"sub": "alice", "data": {"role": "user"}}


@pytest.mark.parametrize(
    "query",
    [
        "token_subject=root",
        "token_permissions=admin",
        "token_data=%7B%22role%22%3A%22admin%22%7D",
        "_apojwt_context=x",
        "token_subject=root&token_permissions=admin&_apojwt_context=x",
    ],
)
def test_owasp_api3_query_cannot_set_injected_values(query: str) -> None:
    """OWASP API3 (mass assignment): query parameters never override values injected from the token."""
    response = client.get(f"/plain?{query}", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "perms": ["orders:read"], "data": {"role": "user"}}
    assert client.get(f"/plain?{query}").status_code == 401  # and they are no way in without a token


@pytest.mark.parametrize(
    "body",
    [
        {"token_subject": "root"},
        {"token_data": {"role": "admin"}},
        {"token_subject": "root", "token_data": {"role": "admin"}, "_apojwt_context": {"sub": "root"}},
    ],
)
def test_owasp_api3_body_cannot_set_injected_values(body: dict[str, Any]) -> None:
    """apojwt 1.x declared injected values as ``Body(None)``: a client's body never fills them."""
    response = client.post("/legacy-body", headers=AUTH, json=body)
    assert response.status_code == 200
    assert response.json() == EXPECTED
    assert client.post("/legacy-body", json=body).status_code == 401


def test_injected_parameters_absent_from_openapi() -> None:
    """The injected names are not request inputs, so the schema does not invite clients to send them."""
    schema = client.get("/openapi.json").json()
    names = [p["name"] for p in schema["paths"]["/plain"]["get"].get("parameters", [])]
    assert not {"token_subject", "token_permissions", "token_data", "_apojwt_context"} & set(names)
    body = schema["paths"]["/legacy-body"]["post"].get("requestBody")
    assert body is None or "token_subject" not in str(body)

"""One real Flask server process (werkzeug) on 127.0.0.1, protected by the Flask template."""

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.testing import auth_headers
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET
from tests.servers import ROOT, free_port, wait_for_port

pytestmark = pytest.mark.e2e

ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", template="flask")
ajwt.config_refresh(REFRESH_SECRET)

app = Flask(__name__)


@app.get("/me")
@ajwt.token_required
def me(token_subject: str, token_permissions: list[str]) -> dict[str, Any]:
    return {"sub": token_subject, "permissions": token_permissions}


@app.get("/orders")
@ajwt.permission_required("orders:read")
def orders(token_data: dict[str, Any]) -> dict[str, Any]:
    return {"orders": [], "data": token_data}


@app.post("/refresh")
@ajwt.refresh
def refresh(refresh_data: dict[str, Any]) -> dict[str, Any]:
    return {"refresh_data": refresh_data}


_SERVE = (
    "import sys; from werkzeug.serving import make_server; "
    "from tests.e2e.test_flask_server import app; "
    "make_server('127.0.0.1', int(sys.argv[1]), app, threaded=True).serve_forever()"
)


@pytest.fixture(scope="module")
def flask_url() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", _SERVE, str(port)], cwd=ROOT, env=env)
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_real_flask_server(flask_url: str) -> None:
    with httpx.Client(base_url=flask_url, timeout=10) as client:
        ok = client.get("/me", headers=auth_headers(ajwt, sub="alice", permissions=["orders:read"]))
        assert ok.status_code == 200
        assert ok.json() == {"sub": "alice", "permissions": ["orders:read"]}

        missing = client.get("/me")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/json"
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "detail" in missing.json()

        forged = client.get("/me", headers={"Authorization": "Bearer a.b.c"})
        assert forged.status_code == 401
        assert 'error="invalid_token"' in forged.headers["www-authenticate"]
        assert "a.b.c" not in forged.text

        lacking = client.get("/orders", headers=auth_headers(ajwt, permissions=["x"]))
        assert lacking.status_code == 403
        assert 'error="insufficient_scope"' in lacking.headers["www-authenticate"]

        admin = client.get("/orders", headers=auth_headers(ajwt, permissions=["admin"], data={"k": 1}))
        assert admin.json() == {"orders": [], "data": {"k": 1}}


def test_real_flask_server_refresh_cookie(flask_url: str) -> None:
    _, refresh_token = ajwt.create_token(sub="alice", refresh_data={"user_id": 1})
    csrf = ajwt.csrf_token(refresh_token)
    cookies = {ajwt.refresh_cookie_name: refresh_token, ajwt.refresh_csrf_cookie_name: csrf}
    with httpx.Client(base_url=flask_url, timeout=10, cookies=cookies) as client:
        ok = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"refresh_data": {"user_id": 1}}
        replay = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
        assert replay.status_code == 401

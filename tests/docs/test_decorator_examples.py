"""The snippets of the decorators, WebSockets, Flask and testing pages, exercised."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_apojwt.testing import auth_headers, create_test_token

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


def load(relative: str) -> ModuleType:
    path = EXAMPLES / relative
    name = "docs_page_" + relative.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


# -- decorators -----------------------------------------------------------------------------------


def test_classic_decorators_page() -> None:
    example = load("decorators/classic.py")
    ajwt, client = example.ajwt, TestClient(example.app)
    headers = auth_headers(ajwt, sub="alice", permissions=["orders:read"], data={"team": "a"})
    assert client.get("/me", headers=headers).json() == {"sub": "alice", "permissions": ["orders:read"]}
    assert client.get("/orders/3?verbose=true", headers=headers).json() == {"id": 3, "team": "a", "verbose": True}
    assert client.get("/orders/3", headers=auth_headers(ajwt)).status_code == 403
    assert client.get("/profile", headers=auth_headers(ajwt, permissions=["admin"])).json()["admin"] is True

    _, refresh = ajwt.create_token(sub="alice", refresh_data={"permissions": ["orders:read"]})
    csrf = ajwt.csrf_token(refresh)
    client.cookies.set(ajwt.refresh_cookie_name, refresh)
    client.cookies.set(ajwt.refresh_csrf_cookie_name, csrf)
    response = client.post("/auth/refresh", headers={ajwt.csrf_header_name: csrf})
    assert response.status_code == 200, response.text
    assert ajwt.decode(response.json()["access_token"]).permissions == ("orders:read",)

    schema = example.app.openapi()
    assert [p["name"] for p in schema["paths"]["/orders/{order_id}"]["get"]["parameters"]] == ["order_id", "verbose"]
    assert "parameters" not in schema["paths"]["/me"]["get"]


@pytest.mark.parametrize("name", ["decorators/dependencies_an.py", "decorators/dependencies.py"])
def test_dependency_equivalents(name: str) -> None:
    example = load(name)
    ajwt, client = example.ajwt, TestClient(example.app)
    headers = auth_headers(ajwt, sub="alice", permissions=["orders:read"], data={"team": "a"})
    assert client.get("/me", headers=headers).json() == {"sub": "alice", "permissions": ["orders:read"]}
    assert client.get("/orders/3?verbose=true", headers=headers).json() == {"id": 3, "team": "a", "verbose": True}
    assert client.get("/orders/3").status_code == 401


def test_custom_finder_and_exception_handler() -> None:
    example = load("decorators/custom_finder.py")
    client = TestClient(example.app)
    token = create_test_token(example.ajwt, sub="alice")
    assert client.get("/items/4", headers={"X-API-Token": token}).json() == {"item_id": 4, "owner": "alice"}
    refused = client.get("/items/4")
    assert refused.status_code == 401
    assert refused.json()["detail"]["path_id"] == 4


# -- WebSockets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["websockets/chat_an.py", "websockets/chat.py"])
def test_websocket_chat(name: str) -> None:
    example = load(name)
    client = TestClient(example.app)
    headers = auth_headers(example.ajwt, sub="alice", permissions=["chat:join"])
    with client.websocket_connect("/chat", headers=headers) as session:
        session.send_text("hi")
        assert session.receive_text() == "alice: hi"
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/chat") as session:
        session.receive_text()
    assert refused.value.code == 1008
    with client.websocket_connect("/notifications", headers=headers) as session:
        assert session.receive_json() == {"hello": "alice"}


@pytest.mark.parametrize("name", ["websockets/browser_an.py", "websockets/browser.py"])
def test_websocket_browser_sources(name: str) -> None:
    example = load(name)
    client = TestClient(example.app)
    token = create_test_token(example.ajwt, sub="alice")
    with client.websocket_connect("/live", subprotocols=["bearer", token]) as session:
        assert session.accepted_subprotocol == "bearer"
        assert session.receive_json() == {"sub": "alice"}
    with client.websocket_connect(f"/live?token={token}") as session:
        assert session.accepted_subprotocol is None
        assert session.receive_json() == {"sub": "alice"}


# -- Flask ------------------------------------------------------------------------------------------


def test_flask_page() -> None:
    example = load("flask/app.py")
    ajwt, client = example.ajwt, example.app.test_client()
    headers = auth_headers(ajwt, sub="alice", permissions=["orders:read", "reports:read"])
    assert client.get("/me", headers=headers).json == {"sub": "alice", "permissions": ["orders:read", "reports:read"]}
    assert client.get("/orders/2", headers=headers).json == {"id": 2, "reader": "alice"}
    denied = client.get("/orders/2", headers=auth_headers(ajwt))
    assert denied.status_code == 403
    assert "insufficient_scope" in denied.headers["WWW-Authenticate"]
    assert client.get("/report", headers=headers).json == {"for": "alice"}

    _, refresh = ajwt.create_token(sub="alice", refresh_data={"user": "alice"})
    csrf = ajwt.csrf_token(refresh)
    client.set_cookie(ajwt.refresh_cookie_name, refresh)
    client.set_cookie(ajwt.refresh_csrf_cookie_name, csrf)
    response = client.post("/auth/refresh", headers={ajwt.csrf_header_name: csrf})
    assert response.status_code == 200, response.get_data(as_text=True)
    body: Any = response.json
    assert ajwt.decode(body["access_token"]).sub == "alice"


# -- testing helpers ------------------------------------------------------------------------------


def test_testing_page_suite_passes() -> None:
    suite = load("testing/test_main.py")
    tests = [getattr(suite, name) for name in dir(suite) if name.startswith("test_")]
    assert len(tests) == 4
    for test in tests:
        test()


def test_testing_page_fixture_recipe_passes_under_pytest() -> None:
    recipe = Path(__file__).resolve().parents[2] / "docs" / "examples" / "testing"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fixtures.py"],
        cwd=recipe,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout

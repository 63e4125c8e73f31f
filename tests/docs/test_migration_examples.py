"""The migration page's new-style programs behave like the apojwt 1.x programs beside them."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "migration"


def load(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docs_migration_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def bearer(ajwt: Any, **kwargs: Any) -> dict[str, str]:
    access, _ = ajwt.create_token(**kwargs)
    return {"Authorization": f"Bearer {access}"}


@pytest.mark.parametrize("name", ["new_fastapi_an", "new_fastapi"])
def test_new_fastapi_program(name: str) -> None:
    example = load(name)
    ajwt, client = example.ajwt, TestClient(example.app)
    headers = bearer(ajwt, sub="user_id_1", permissions=["permission"], data={"team": "a"})
    assert client.get("/some/endpoint", headers=headers).json() == {
        "token_subject": "user_id_1",
        "token_data": {"team": "a"},
    }
    assert client.get("/some/endpoint").status_code == 401
    assert client.get("/permission/endpoint", headers=headers).json() == {"ok": True, "sub": "user_id_1"}
    assert client.get("/permission/endpoint", headers=bearer(ajwt, sub="x")).status_code == 403

    _, refresh = ajwt.create_token(sub="user_id_1", refresh_data={"user_id": "user_id_1"})
    csrf = ajwt.csrf_token(refresh)
    client.cookies.set("refresh_token", refresh)
    client.cookies.set(ajwt.refresh_csrf_cookie_name, csrf)
    response = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
    assert response.status_code == 200, response.text
    assert ajwt.decode(response.json()["access_token"]).permissions == ("permission",)
    assert "refresh_token" in response.headers["set-cookie"]

    operation = example.app.openapi()["paths"]["/some/endpoint"]["get"]
    assert "parameters" not in operation
    assert "requestBody" not in operation
    assert operation["security"]


def test_new_flask_program() -> None:
    example = load("new_flask")
    ajwt, client = example.ajwt, example.app.test_client()
    headers = bearer(ajwt, sub="user_id_1", permissions=["permission"], data={"team": "a"})
    assert client.get("/some/endpoint", headers=headers).json == {
        "token_subject": "user_id_1",
        "token_data": {"team": "a"},
    }
    missing = client.get("/some/endpoint")
    assert missing.status_code == 401
    assert missing.json is not None
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/some/endpoint", headers=bearer(ajwt, sub="x")).status_code == 403

    _, refresh = ajwt.create_token(sub="user_id_1", refresh_data={"user_id": "user_id_1"})
    csrf = ajwt.csrf_token(refresh)
    client.set_cookie("refresh_token", refresh)
    client.set_cookie(ajwt.refresh_csrf_cookie_name, csrf)
    response = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None
    assert ajwt.decode(response.json["access_token"]).sub == "user_id_1"

"""The "Coming from other libraries" page's snippets (docs/examples/conveniences/) do what it says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from tests.docs.test_examples_import import EXAMPLES, load_example

HERE = EXAMPLES / "conveniences"


def _load(name: str) -> ModuleType:
    return load_example(HERE / f"{name}.py")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_optional() -> None:
    module = _load("optional")
    client = TestClient(module.app)
    assert client.get("/products").json() == {"prices": "public"}
    token = module.ajwt.create_token(sub="alice")
    assert client.get("/products", headers=_bearer(token)).json() == {"prices": "members", "for": "alice"}
    assert client.get("/products", headers=_bearer("not.a.token")).status_code == 401
    assert client.get("/legacy-products").json() == {"for": None}
    assert client.get("/legacy-products", headers=_bearer(token)).json() == {"for": "alice"}
    assert client.get("/legacy-products", headers=_bearer(token + "x")).status_code == 401
    security = module.app.openapi()["paths"]["/products"]["get"]["security"]
    assert security == [{"BearerAuth": []}, {}]


def test_current_user() -> None:
    module = _load("current_user")
    client = TestClient(module.app)
    token = module.ajwt.create_token(sub="alice")
    assert client.get("/me", headers=_bearer(token)).json() == {"username": "alice", "email": "alice@example.com"}
    assert client.get("/legacy-me", headers=_bearer(token)).json() == {"email": "alice@example.com"}
    ghost = client.get("/me", headers=_bearer(module.ajwt.create_token(sub="ghost")))
    assert ghost.status_code == 401
    assert "invalid_token" in ghost.headers["www-authenticate"]
    assert "ghost" not in ghost.text
    assert client.get("/me").status_code == 401
    module.app.dependency_overrides[module.ajwt.current_user] = lambda: module.User(username="t", email="t@x")
    try:
        assert client.get("/me").json() == {"username": "t", "email": "t@x"}
    finally:
        module.app.dependency_overrides.clear()


def test_current_user_type_checks_under_strict_mypy(tmp_path: Path) -> None:
    """A user's own ``User`` annotation on ``Depends(ajwt.current_user)`` passes ``mypy --strict``."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(HERE / "current_user.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_claims() -> None:
    module = _load("claims")
    client = TestClient(module.app)
    token = client.post("/login", params={"username": "alice"}).json()["access_token"]
    assert client.get("/tenant", headers=_bearer(token)).json() == {"tenant": "acme", "tier": "pro"}


def test_locations() -> None:
    module = _load("locations")
    client = TestClient(module.app, base_url="https://testserver")
    login = client.post("/login", params={"username": "alice"})
    token = login.json()["access_token"]
    csrf = client.cookies["csrf_access_token"]
    # The browser: the cookie, with the CSRF header on an unsafe method.
    assert client.post("/orders").status_code == 403
    assert client.post("/orders", headers={"X-CSRF-Token": csrf}).json() == {"for": "alice"}
    # An API client: the header, no CSRF (and a bad header token is never passed over for the cookie).
    api = TestClient(module.app, base_url="https://testserver")
    assert api.post("/orders", headers=_bearer(token)).json() == {"for": "alice"}
    assert client.post("/orders", headers={**_bearer("x.y.z"), "X-CSRF-Token": csrf}).status_code == 401
    schema = module.app.openapi()
    assert schema["paths"]["/orders"]["post"]["security"] == [{"BearerAuth": []}, {"BearerAuthCookie": []}]
    assert schema["components"]["securitySchemes"]["BearerAuthCookie"]["in"] == "cookie"


def test_scopes() -> None:
    module = _load("scopes")
    client = TestClient(module.app)

    def call(method: str, path: str, *perms: str) -> int:
        token = module.ajwt.create_token(sub="u", permissions=list(perms))
        return client.request(method, path, headers=_bearer(token)).status_code

    assert call("POST", "/orders", "orders:read") == 403
    assert call("POST", "/orders", "orders:write") == 200
    assert call("POST", "/orders", "admin") == 200
    assert call("GET", "/orders/export", "orders:read") == 403
    assert call("GET", "/orders/export", "orders:export") == 403
    assert call("GET", "/orders/export", "orders:read", "orders:export") == 200
    paths = module.app.openapi()["paths"]
    assert paths["/orders"]["post"]["security"] == [{"BearerAuth": ["orders:write"]}]
    assert set(paths["/orders/export"]["get"]["security"][0]["BearerAuth"]) == {"orders:read", "orders:export"}


def test_immutable() -> None:
    module = _load("immutable")
    client = TestClient(module.app)
    token = module.ajwt.create_token(sub="alice", data={"team": "a", "tags": ["x", {"k": [1]}]})
    body = client.get("/profile", headers=_bearer(token)).json()
    assert body == {"data": {"team": "a", "tags": ["x", {"k": [1]}]}, "claims": {"sub": "alice", "aud": []}}
    for _ in range(2):
        legacy = client.get("/legacy-profile", headers=_bearer(token)).json()
        assert legacy == {"team": "a", "tags": ["x", {"k": [1]}], "seen": True}
    ctx = module.ajwt.decode(token)
    with pytest.raises(TypeError):
        ctx.data["team"] = "b"
    with pytest.raises(TypeError):
        ctx.data["tags"][1]["k"].append(2)
    assert json.loads(json.dumps(ctx.claims))["data"] == {"team": "a", "tags": ["x", {"k": [1]}]}


def test_typed_decorator() -> None:
    module = _load("typed_decorator")
    client = TestClient(module.app)
    token = module.ajwt.create_token(sub="alice", data=module.UserData(name="Alice", team="shipping"))
    assert client.get("/team", headers=_bearer(token)).json() == {"team": "shipping"}

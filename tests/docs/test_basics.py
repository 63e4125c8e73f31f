"""The tutorial's basic snippets (docs/examples/basics/) do what their pages say."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT
from tests.docs.test_examples_import import EXAMPLES, load_example

DOCS = EXAMPLES.parent
BASICS = EXAMPLES / "basics"


def _both(stem: str) -> list[ModuleType]:
    """The Annotated and the plain ``= Depends()`` variant of a snippet."""
    return [load_example(BASICS / f"{stem}_an.py"), load_example(BASICS / f"{stem}.py")]


def _variants(stem: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("module", _both(stem), ids=["annotated", "plain"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@_variants("first_steps")
def test_first_steps(module: ModuleType) -> None:
    client = TestClient(module.app)
    login = client.post("/login", params={"username": "alice"})
    assert login.status_code == 200
    assert login.json()["token_type"] == "bearer"
    token = login.json()["access_token"]

    me = client.get("/me", headers=_bearer(token))
    assert me.status_code == 200
    assert me.json() == {"sub": "alice", "permissions": ["orders:read"]}

    anonymous = client.get("/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    # The transcript on the page shows this exact body.
    assert anonymous.text in (DOCS / "tutorial" / "first-steps.md").read_text()

    audience = module.ajwt.decode(token).aud
    assert audience == ("https://api.example.com",)


@_variants("permissions")
def test_permissions(module: ModuleType) -> None:
    client = TestClient(module.app)

    def call(method: str, path: str, *perms: str) -> int:
        token = module.ajwt.create_token(sub="u", permissions=list(perms))
        return client.request(method, path, headers=_bearer(token)).status_code

    assert call("GET", "/orders", "orders:read") == 200
    assert call("GET", "/orders") == 403
    assert call("GET", "/orders", "orders:readwrite", "Orders:read", "orders") == 403

    # All of several permissions.
    assert call("DELETE", "/orders/7", "orders:read", "orders:delete") == 200
    assert call("DELETE", "/orders/7", "orders:delete") == 403

    # Any of several.
    assert call("GET", "/reports", "auditor") == 200
    assert call("GET", "/reports", "reports:read") == 200
    assert call("GET", "/reports", "orders:read") == 403
    token = module.ajwt.create_token(sub="u", permissions=["auditor"])
    assert client.get("/reports", headers=_bearer(token)).json() == {"full": False}

    # The admin permission passes everything; a router's dependency protects all its routes.
    assert call("GET", "/admin/stats", "orders:read") == 403
    for method, path in [("GET", "/orders"), ("DELETE", "/orders/1"), ("GET", "/reports"), ("GET", "/admin/stats")]:
        assert call(method, path, "admin") == 200
    assert client.get("/admin/stats").status_code == 401

    denied = client.get("/orders", headers=_bearer(module.ajwt.create_token(sub="u")))
    assert denied.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    assert 'scope="orders:read"' in denied.headers["www-authenticate"]

    # The same guard object for the same permissions (what makes dependency_overrides work).
    assert module.ajwt.permission("orders:read") is module.ajwt.permission("orders:read")
    assert module.ajwt.permission_required("orders:read") is module.ajwt.permission("orders:read")


@_variants("wildcards")
def test_wildcards(module: ModuleType) -> None:
    client = TestClient(module.app)
    assert client.get("/orders/3", headers=_bearer(module.manager_token)).status_code == 200
    for granted in (["orders"], ["ord*"], ["*"], ["orders:re*"], ["order:*"]):
        token = module.ajwt.create_token(sub="u", permissions=granted)
        assert client.get("/orders/3", headers=_bearer(token)).status_code == 403, granted


@_variants("typed_data")
def test_typed_data(module: ModuleType) -> None:
    client = TestClient(module.app)
    token = client.post("/login", params={"username": "alice"}).json()["access_token"]
    greeting = client.get("/greeting", headers=_bearer(token))
    assert greeting.status_code == 200
    assert greeting.json() == {"message": "Hello Alice from shipping"}

    ctx = module.ajwt.decode(token)
    assert isinstance(ctx.data, module.UserData)
    assert ctx.data.locale == "en"

    # A token whose data does not fit the model never reaches the handler.
    stale = module.ajwt.create_token(sub="bob", data={"full_name": "Bob"})
    rejected = client.get("/greeting", headers=_bearer(stale))
    assert rejected.status_code == 401
    assert 'error="invalid_token"' in rejected.headers["www-authenticate"]


def test_custom_error_handler() -> None:
    module = load_example(BASICS / "errors_handler.py")
    client = TestClient(module.app)

    missing = client.get("/orders")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["type"] == "MissingTokenError"
    # The page shows this exact body.
    assert json.dumps(missing.json()) in (DOCS / "tutorial" / "errors.md").read_text()

    forbidden = client.get("/orders", headers=_bearer(module.ajwt.create_token(sub="u")))
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["type"] == "InsufficientPermissionError"
    assert "insufficient_scope" in forbidden.headers["www-authenticate"]

    allowed = client.get("/orders", headers=_bearer(module.ajwt.create_token(sub="u", permissions=["orders:read"])))
    assert allowed.json() == ["coffee"]

    malformed = client.get("/orders", headers=_bearer("not-a-jwt"))
    assert malformed.status_code == 401
    # The transcript on the errors page shows this message.
    assert malformed.json()["error"]["message"] in (DOCS / "tutorial" / "errors.md").read_text()


def test_decode_outside_a_request() -> None:
    module = load_example(BASICS / "errors_decode.py")
    token = module.ajwt.create_token(sub="alice")
    assert module.who_is(token).startswith("alice, until ")

    past = ApoJWT(
        "change-me-to-a-random-secret-of-32-bytes-or-more",
        iss="https://auth.example.com",
        exp_period=60,
        clock=lambda: time.time() - 3600,
    )
    assert module.who_is(past.create_token(sub="alice")) == "expired: log in again"
    assert module.who_is("not-a-jwt").startswith("rejected (401): ")

    other_issuer = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://evil.example.com")
    assert module.who_is(other_issuer.create_token(sub="alice")).startswith("rejected (401): ")


@_variants("openapi")
def test_openapi_schema(module: ModuleType) -> None:
    schema = module.app.openapi()
    assert schema["components"]["securitySchemes"] == {
        "BearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schema["components"]["securitySchemes"]["BearerAuth"].get("description"),
        }
    }
    orders = schema["paths"]["/orders"]["get"]
    assert orders["security"] == [{"BearerAuth": ["orders:read"]}]
    assert orders["x-permissions"] == {"all_of": ["orders:read"]}
    assert {"401", "403"} <= set(orders["responses"])
    assert "WWW-Authenticate" in orders["responses"]["401"]["headers"]
    assert "security" not in schema["paths"]["/health"]["get"]

    client = TestClient(module.app)
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/orders").status_code == 401


def test_offline_docs_pages_load_nothing_from_outside() -> None:
    module = load_example(BASICS / "offline_docs.py")
    client = TestClient(module.app)
    swagger = client.get("/docs")
    assert swagger.status_code == 200
    assert "/static/swagger-ui-bundle.js" in swagger.text
    assert "/static/swagger-ui.css" in swagger.text
    assert '"validatorUrl": null' in swagger.text
    redoc = client.get("/redoc")
    assert redoc.status_code == 200
    assert "/static/redoc.standalone.js" in redoc.text
    for page in (swagger.text, redoc.text):
        assert "https://" not in page
        assert "http://" not in page
    assert client.get("/static/README.txt").status_code == 200
    assert "/docs" not in module.app.openapi()["paths"]


def test_offline_docs_instructions_match_the_snippet() -> None:
    page = (DOCS / "tutorial" / "openapi.md").read_text()
    assert "npm pack swagger-ui-dist@5 redoc@2" in page
    assert "swagger-ui-dist@5" in (BASICS / "static" / "README.txt").read_text()


def test_every_snippet_is_used_by_a_page() -> None:
    pages = "\n".join(p.read_text() for p in DOCS.rglob("*.md"))
    unused = [
        str(p.relative_to(DOCS.parent))
        for p in sorted(EXAMPLES.rglob("*.py"))
        if p.name != "__init__.py" and str(p.relative_to(DOCS.parent)) not in pages
    ]
    assert unused == []


def test_first_steps_highlights_point_at_the_guard() -> None:
    """The highlighted lines of the first-steps page are the ApoJWT call and the protected handler."""
    lines = (BASICS / "first_steps_an.py").read_text().splitlines()
    assert lines[6].startswith("ajwt = ApoJWT(")
    assert "Depends(ajwt.token_required)" in lines[23]
    plain = (BASICS / "first_steps.py").read_text().splitlines()
    assert plain[4].startswith("ajwt = ApoJWT(")
    assert "Depends(ajwt.token_required)" in plain[21]


def test_docs_pages_exist_for_every_nav_entry() -> None:
    root = Path(__file__).resolve().parents[2]
    nav = (root / "mkdocs.yml").read_text()
    for page in sorted((root / "docs").rglob("*.md")):
        relative = page.relative_to(root / "docs").as_posix()
        if relative.startswith("examples/"):
            continue
        assert relative in nav, f"docs/{relative} is not in the mkdocs.yml nav"


def test_error_tree_on_the_errors_page_matches_the_module() -> None:
    import fastapi_apojwt.errors

    def tree(text: str) -> list[str]:
        lines = [line.strip() for line in text.splitlines()]
        start = next(i for i, line in enumerate(lines) if line.startswith("ApoJWTError ("))
        end = next(i for i, line in enumerate(lines) if line.startswith("└──") and i > start)
        return lines[start : end + 1]

    assert fastapi_apojwt.errors.__doc__ is not None
    assert tree((DOCS / "tutorial" / "errors.md").read_text()) == tree(fastapi_apojwt.errors.__doc__)


@_variants("openapi_password")
def test_openapi_password_flow(module: ModuleType) -> None:
    schema = module.app.openapi()
    flow = schema["components"]["securitySchemes"]["OAuth2Password"]
    assert flow["type"] == "oauth2"
    assert flow["flows"]["password"]["tokenUrl"] == "/token"
    assert {"OAuth2Password": ["orders:read"]} in schema["paths"]["/orders"]["get"]["security"]
    assert {"BearerAuth": ["orders:read"]} in schema["paths"]["/orders"]["get"]["security"]
    assert "security" not in schema["paths"]["/token"]["post"]

    # What Swagger UI's dialog sends: a password-grant form to the token URL.
    client = TestClient(module.app)
    form = {"grant_type": "password", "username": "alice", "password": "alice-password", "scope": ""}
    issued = client.post("/token", data=form)
    assert issued.status_code == 200
    token = issued.json()["access_token"]
    assert client.get("/orders", headers=_bearer(token)).json() == ["orders of alice"]
    assert client.post("/token", data={**form, "password": "wrong"}).status_code == 401
    assert client.post("/token", data={**form, "username": "mallory"}).status_code == 401

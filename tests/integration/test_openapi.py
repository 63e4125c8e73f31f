"""OpenAPI: one bearer scheme, on exactly the protected operations, with 401/403 and permissions."""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Security
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, TokenContext
from fastapi_apojwt.openapi import ERROR_SCHEMA_NAME
from tests.conftest import AUDIENCE, ISSUER, SECRET

OTHER_SECRET = "another-secret-that-is-at-least-32-bytes!!"


def build(ajwt: ApoJWT, *, init: bool = True) -> FastAPI:
    app = FastAPI()
    if init:
        ajwt.init_app(app)

    @app.get("/open")
    async def open_route() -> str:
        return "ok"

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        """Who am I."""
        return ctx.sub

    @app.get("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> str:
        return ctx.sub

    @app.post("/orders", dependencies=[Depends(ajwt.permission("orders:write", "orders:read"))])
    async def create() -> str:
        return "made"

    @app.delete("/orders")
    async def delete(ctx: TokenContext = Depends(ajwt.permission("orders:delete", "admin", any_of=True))) -> str:  # noqa: B008
        return ctx.sub

    @app.get("/legacy")
    @ajwt.permission_required("legacy:read")
    def legacy(token_subject: str) -> str:
        return token_subject

    router = APIRouter(prefix="/team", dependencies=[Depends(ajwt.token_required)])

    @router.get("/list")
    async def team() -> str:
        return "team"

    @router.put("/edit")
    async def edit(ctx: Annotated[TokenContext, Depends(ajwt.permission("team:write"))]) -> str:
        return ctx.sub

    app.include_router(router)

    @app.get("/hidden", include_in_schema=False)
    async def hidden(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    return app


@pytest.fixture(scope="module")
def ajwt() -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="root")


@pytest.fixture(scope="module")
def schema(ajwt: ApoJWT) -> dict[str, Any]:
    response = TestClient(build(ajwt)).get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def op(schema: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    operation: dict[str, Any] = schema["paths"][path][method]
    return operation


PROTECTED = [
    ("/me", "get"),
    ("/orders", "get"),
    ("/orders", "post"),
    ("/orders", "delete"),
    ("/legacy", "get"),
    ("/team/list", "get"),
    ("/team/edit", "put"),
]


def test_one_bearer_scheme(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"] == {
        "BearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from the login endpoint.",
        }
    }


def test_security_on_exactly_the_protected_operations(schema: dict[str, Any]) -> None:
    protected = {
        (path, method) for path, item in schema["paths"].items() for method, o in item.items() if "security" in o
    }
    assert protected == set(PROTECTED)
    assert "/hidden" not in schema["paths"]
    open_op = op(schema, "/open")
    assert "security" not in open_op
    assert set(open_op["responses"]) == {"200"}
    assert "x-permissions" not in open_op


@pytest.mark.parametrize(("path", "method"), PROTECTED)
def test_every_protected_operation_documents_401(schema: dict[str, Any], path: str, method: str) -> None:
    response = op(schema, path, method)["responses"]["401"]
    assert response["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    assert "WWW-Authenticate" in response["headers"]
    assert response["headers"]["WWW-Authenticate"]["schema"] == {"type": "string"}


def test_error_schema_registered_once(schema: dict[str, Any]) -> None:
    assert schema["components"]["schemas"][ERROR_SCHEMA_NAME] == {
        "title": ERROR_SCHEMA_NAME,
        "type": "object",
        "properties": {"detail": {"title": "Detail", "type": "string"}},
        "required": ["detail"],
        "description": "An authentication or authorization failure; never contains the token.",
    }


@pytest.mark.parametrize(
    ("path", "method", "scopes", "extension"),
    [
        ("/me", "get", [], None),
        ("/team/list", "get", [], None),
        ("/orders", "get", ["orders:read"], {"all_of": ["orders:read"], "admin": "root"}),
        (
            "/orders",
            "post",
            ["orders:write", "orders:read"],
            {"all_of": ["orders:write", "orders:read"], "admin": "root"},
        ),
        ("/orders", "delete", ["orders:delete", "admin"], {"any_of": ["orders:delete", "admin"], "admin": "root"}),
        ("/legacy", "get", ["legacy:read"], {"all_of": ["legacy:read"], "admin": "root"}),
        ("/team/edit", "put", ["team:write"], {"all_of": ["team:write"], "admin": "root"}),
    ],
)
def test_permissions_are_documented(
    schema: dict[str, Any], path: str, method: str, scopes: list[str], extension: dict[str, Any] | None
) -> None:
    operation = op(schema, path, method)
    assert operation["security"] == [{"BearerAuth": scopes}]
    assert operation.get("x-permissions") == extension
    assert ("403" in operation["responses"]) is bool(scopes)
    if scopes:
        assert "WWW-Authenticate" in operation["responses"]["403"]["headers"]
        for name in scopes:
            assert f"`{name}`" in operation["description"]
        assert "`root` permission passes every check" in operation["description"]
    assert "**Authorization:**" in operation["description"]


def test_description_is_appended_to_the_docstring(schema: dict[str, Any]) -> None:
    assert op(schema, "/me")["description"] == "Who am I.\n\n**Authorization:** a valid access token."


def test_decorated_handler_shows_no_injected_inputs(schema: dict[str, Any]) -> None:
    operation = op(schema, "/legacy")
    assert "parameters" not in operation or not operation["parameters"]
    assert "requestBody" not in operation


def test_without_init_app_the_security_requirement_is_still_there(ajwt: ApoJWT) -> None:
    schema = build(ajwt, init=False).openapi()
    assert op(schema, "/orders")["security"] == [{"BearerAuth": []}]
    assert "401" not in op(schema, "/orders")["responses"]
    assert "security" not in op(schema, "/open")


def test_init_app_twice_is_harmless(ajwt: ApoJWT, schema: dict[str, Any]) -> None:
    app = build(ajwt)
    ajwt.init_app(app)
    ajwt.init_app(app)
    twice = app.openapi()
    assert twice == schema
    assert app.openapi() is twice  # still cached
    assert twice == TestClient(app).get("/openapi.json").json()


def test_routes_added_after_init_app_are_documented(ajwt: ApoJWT) -> None:
    app = FastAPI()
    ajwt.init_app(app)

    @app.get("/late")
    async def late(ctx: Annotated[TokenContext, Depends(ajwt.permission("late:read"))]) -> str:
        return ctx.sub

    schema = app.openapi()
    assert op(schema, "/late")["security"] == [{"BearerAuth": ["late:read"]}]
    assert "403" in op(schema, "/late")["responses"]


def test_user_declared_responses_are_kept(ajwt: ApoJWT) -> None:
    app = FastAPI()
    ajwt.init_app(app)

    @app.get("/custom", responses={401: {"description": "Log in first."}})
    async def custom(ctx: Annotated[TokenContext, Depends(ajwt.permission("c"))]) -> str:
        return ctx.sub

    responses = op(app.openapi(), "/custom")["responses"]
    assert responses["401"]["description"] == "Log in first."
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "403" in responses


def test_several_guards_on_one_route_merge(ajwt: ApoJWT) -> None:
    app = FastAPI()
    ajwt.init_app(app)
    router = APIRouter(dependencies=[Depends(ajwt.permission("base"))])

    @router.get("/stacked", dependencies=[Depends(ajwt.permission("x", "y", any_of=True))])
    async def stacked(
        ctx: Annotated[TokenContext, Depends(ajwt.permission("z"))],
        again: Annotated[TokenContext, Security(ajwt.token_required)],
    ) -> str:
        return ctx.sub

    app.include_router(router)
    operation = op(app.openapi(), "/stacked")
    assert operation["security"] == [{"BearerAuth": ["base", "z", "x", "y"]}]
    assert operation["x-permissions"] == {"all_of": ["base", "z", {"any_of": ["x", "y"]}], "admin": "root"}


def test_fresh_guard_is_marked(ajwt: ApoJWT) -> None:
    app = FastAPI()
    ajwt.init_app(app)

    @app.post("/password")
    async def password(ctx: Annotated[TokenContext, Depends(ajwt.fresh_token_required)]) -> str:
        return ctx.sub

    @app.post("/payout")
    async def payout(ctx: Annotated[TokenContext, Depends(ajwt.permission("pay", fresh=True))]) -> str:
        return ctx.sub

    schema = app.openapi()
    assert op(schema, "/password", "post")["x-permissions"] == {"fresh": True}
    assert "403" not in op(schema, "/password", "post")["responses"]
    assert op(schema, "/payout", "post")["x-permissions"] == {"all_of": ["pay"], "fresh": True, "admin": "root"}
    assert "fresh" in op(schema, "/payout", "post")["description"]


def test_each_instance_documents_its_own_routes(ajwt: ApoJWT) -> None:
    other = ApoJWT(OTHER_SECRET, iss="other", scheme_name="PartnerAuth")
    app = FastAPI()
    ajwt.init_app(app)

    @app.get("/ours")
    async def ours(ctx: Annotated[TokenContext, Depends(ajwt.permission("ours"))]) -> str:
        return ctx.sub

    @app.get("/theirs")
    async def theirs(ctx: Annotated[TokenContext, Depends(other.permission("theirs"))]) -> str:
        return ctx.sub

    schema = app.openapi()
    assert set(schema["components"]["securitySchemes"]) == {"BearerAuth", "PartnerAuth"}
    assert op(schema, "/ours")["security"] == [{"BearerAuth": ["ours"]}]
    # Not documented until its own instance is initialised.
    assert op(schema, "/theirs")["security"] == [{"PartnerAuth": []}]
    assert "401" not in op(schema, "/theirs")["responses"]

    other.init_app(app)
    schema = app.openapi()
    assert op(schema, "/theirs")["security"] == [{"PartnerAuth": ["theirs"]}]
    assert "x-permissions" in op(schema, "/theirs")
    assert op(schema, "/ours")["security"] == [{"BearerAuth": ["ours"]}]
    assert op(schema, "/ours")["description"].count("**Authorization:**") == 1


def test_wildcards_are_explained() -> None:
    wild = ApoJWT(SECRET, wildcards=True)
    app = FastAPI()
    wild.init_app(app)

    @app.get("/w")
    async def w(ctx: Annotated[TokenContext, Depends(wild.permission("orders:read"))]) -> str:
        return ctx.sub

    assert "`prefix:*`" in op(app.openapi(), "/w")["description"]
    assert "admin" not in op(app.openapi(), "/w")["x-permissions"]


def test_swagger_ui_is_served(ajwt: ApoJWT) -> None:
    response = TestClient(build(ajwt)).get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text


def test_schema_is_valid_openapi_3_1(schema: dict[str, Any]) -> None:
    from fastapi.openapi.models import OpenAPI

    assert schema["openapi"].startswith("3.1")
    OpenAPI.model_validate(schema)


def test_refresh_operations_are_documented_as_such() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ajwt.config_refresh(OTHER_SECRET)
    app = FastAPI()
    ajwt.init_app(app)

    @app.post("/refresh")
    async def refresh(ctx: Annotated[Any, Depends(ajwt.refresh)]) -> str:
        return str(ctx.sub)

    operation = op(app.openapi(), "/refresh", "post")
    assert operation["security"] == [{ajwt.refresh_scheme_name: []}]
    assert "refresh token" in operation["responses"]["401"]["description"]
    assert "refresh token" in operation["description"]
    assert "x-permissions" not in operation


def test_token_url_offers_an_oauth2_password_login(ajwt: ApoJWT) -> None:
    from fastapi_apojwt.openapi import document_app

    app = build(ajwt, init=False)
    ajwt.init_app(app, token_url="/auth/token")
    document_app(ajwt, app)  # keeps the token_url
    schema = app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    password = schemes["OAuth2Password"]
    assert password["type"] == "oauth2"
    assert password["flows"]["password"]["tokenUrl"] == "/auth/token"
    assert set(password["flows"]["password"]["scopes"]) == {
        "orders:read",
        "orders:write",
        "orders:delete",
        "admin",
        "legacy:read",
        "team:write",
    }
    # The bearer requirement comes first; the password login is an alternative.
    assert op(schema, "/orders")["security"] == [
        {"BearerAuth": ["orders:read"]},
        {"OAuth2Password": ["orders:read"]},
    ]
    assert op(schema, "/me")["security"] == [{"BearerAuth": []}, {"OAuth2Password": []}]
    assert "security" not in op(schema, "/open")
    from fastapi.openapi.models import OpenAPI

    OpenAPI.model_validate(schema)


def test_one_requirement_per_scheme_even_when_fastapi_lists_it_per_guard(ajwt: ApoJWT) -> None:
    """FastAPI before 0.124 lists the scheme once per guard; the bare duplicates would weaken the requirement."""
    from fastapi_apojwt.openapi import document_schema

    app = build(ajwt, init=False)
    schema = app.openapi()
    shared: list[str] = []
    op(schema, "/team/edit", "put")["security"] = [{"BearerAuth": shared}, {"BearerAuth": shared}]
    op(schema, "/orders", "post")["security"] = [{"BearerAuth": []}, {"BearerAuth": ["x"]}, {"Other": []}]
    document_schema(ajwt, app, schema)
    assert op(schema, "/team/edit", "put")["security"] == [{"BearerAuth": ["team:write"]}]
    assert op(schema, "/orders", "post")["security"] == [
        {"BearerAuth": ["x", "orders:write", "orders:read"]},
        {"Other": []},
    ]

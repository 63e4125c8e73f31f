"""The Flask template: the same guards protect Flask views (Flask's test client)."""

from typing import Any, NoReturn

import pytest
from flask import Flask, abort, request

from fastapi_apojwt import ApoJWT, ConfigurationError, RefreshContext, TokenContext
from fastapi_apojwt.testing import auth_headers, authenticate, unauthenticate
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


def make_ajwt(**kwargs: Any) -> ApoJWT:
    kwargs.setdefault("template", "flask")
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", **kwargs)
    ajwt.config_refresh(REFRESH_SECRET)
    return ajwt


def make_app(ajwt: ApoJWT) -> Flask:
    app = Flask(__name__)

    @app.get("/me")
    @ajwt.token_required
    def me(token_subject: str, token_data: dict[str, Any], token_permissions: list[str]) -> dict[str, Any]:
        token_data["mutated"] = True
        return {"sub": token_subject, "perms": token_permissions}

    @app.get("/orders/<int:order_id>")
    @ajwt.permission_required("orders:read")
    def order(order_id: int, ctx: TokenContext) -> dict[str, Any]:
        return {"id": order_id, "sub": ctx.sub}

    @app.get("/any")
    @ajwt.permission("a", "b", any_of=True)
    def any_of() -> dict[str, Any]:
        return {"ok": True}

    @app.post("/refresh")
    @ajwt.refresh
    def refresh(refresh_data: dict[str, Any], ctx: RefreshContext) -> dict[str, Any]:
        return {"data": refresh_data, "sub": ctx.sub}

    @app.get("/async")
    @ajwt.token_required
    async def async_view(token_subject: str) -> dict[str, Any]:
        return {"sub": token_subject}

    return app


@pytest.fixture
def ajwt() -> ApoJWT:
    return make_ajwt()


def test_views_receive_injected_values(ajwt: ApoJWT) -> None:
    client = make_app(ajwt).test_client()
    headers = auth_headers(ajwt, sub="alice", permissions=["orders:read"], data={"team": "a"})
    assert client.get("/me", headers=headers).json == {"sub": "alice", "perms": ["orders:read"]}
    assert client.get("/orders/7", headers=headers).json == {"id": 7, "sub": "alice"}
    assert ajwt.decode(headers["Authorization"][7:]).claims["data"] == {"team": "a"}


def test_async_views(ajwt: ApoJWT) -> None:
    client = make_app(ajwt).test_client()
    assert client.get("/async", headers=auth_headers(ajwt, sub="bob")).json == {"sub": "bob"}
    missing = client.get("/async")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"


def test_errors_are_json_with_rfc6750_challenges(ajwt: ApoJWT) -> None:
    client = make_app(ajwt).test_client()
    missing = client.get("/me")
    assert missing.status_code == 401
    assert missing.mimetype == "application/json"
    assert missing.json is not None
    assert "detail" in missing.json
    assert missing.headers["WWW-Authenticate"] == "Bearer"

    bad = client.get("/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    assert "abc.def.ghi" not in bad.get_data(as_text=True)

    other = ApoJWT("another-secret-that-is-at-least-32-bytes!!", iss=ISSUER, server_audience=[AUDIENCE])
    forged = client.get("/me", headers=auth_headers(other))
    assert forged.status_code == 401

    lacking = client.get("/orders/1", headers=auth_headers(ajwt, permissions=["x"]))
    assert lacking.status_code == 403
    assert 'error="insufficient_scope"' in lacking.headers["WWW-Authenticate"]
    assert lacking.json is not None
    assert lacking.json["detail"]

    assert client.get("/any", headers=auth_headers(ajwt, permissions=["b"])).status_code == 200
    assert client.get("/any", headers=auth_headers(ajwt, permissions=["c"])).status_code == 403
    assert client.get("/orders/1", headers=auth_headers(ajwt, permissions=["admin"])).status_code == 200


@pytest.mark.parametrize(
    "value",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "a" * 20000, "Bearer \u00e9\u00e9.x.y", "bearer a.b.c"],
)
def test_hostile_headers_never_500(ajwt: ApoJWT, value: str) -> None:
    client = make_app(ajwt).test_client()
    response = client.get("/me", headers={"Authorization": value})
    assert response.status_code in (400, 401)


def test_refresh_from_the_cookie(ajwt: ApoJWT) -> None:
    client = make_app(ajwt).test_client()
    assert client.post("/refresh").status_code == 401
    _, refresh = ajwt.create_token(sub="alice", refresh_data={"user_id": 7})
    client.set_cookie(ajwt.refresh_cookie_name, refresh)
    # CSRF is on by default for the cookie
    assert client.post("/refresh").status_code in (401, 403)
    csrf = ajwt.csrf_token(refresh)
    client.set_cookie(ajwt.refresh_csrf_cookie_name, csrf)
    ok = client.post("/refresh", headers={ajwt.csrf_header_name: csrf})
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.json == {"data": {"user_id": 7}, "sub": "alice"}
    # rotation: the same refresh token cannot be used twice
    assert client.post("/refresh", headers={ajwt.csrf_header_name: csrf}).status_code == 401


def test_an_access_token_is_not_a_refresh_token(ajwt: ApoJWT) -> None:
    client = make_app(ajwt).test_client()
    access, _ = ajwt.create_token(sub="alice")
    client.set_cookie(ajwt.refresh_cookie_name, access)
    assert client.post("/refresh").status_code in (401, 403)


def test_testing_helpers_with_the_flask_client(ajwt: ApoJWT) -> None:
    client = make_app(ajwt).test_client()
    authenticate(client, ajwt, sub="carol", permissions=["orders:read"])
    assert client.get("/orders/2").json == {"id": 2, "sub": "carol"}
    unauthenticate(client)
    assert client.get("/orders/2").status_code == 401


def test_seed_exception_handler_with_abort() -> None:
    def exception_handler(code: int, msg: str) -> NoReturn:
        abort(code, msg)

    ajwt = make_ajwt(exception_handler=exception_handler)
    client = make_app(ajwt).test_client()
    response = client.get("/orders/3")
    assert response.status_code == 401
    assert "Not authenticated" in response.get_data(as_text=True)
    assert client.get("/orders/3", headers=auth_headers(ajwt, permissions=["x"])).status_code == 403


def test_exception_handler_that_returns_still_fails_closed() -> None:
    calls: list[tuple[int, dict[str, Any]]] = []

    def forgetful(code: int, msg: str, *args: Any, **kwargs: Any) -> None:
        calls.append((code, kwargs))

    ajwt = make_ajwt(exception_handler=forgetful)
    client = make_app(ajwt).test_client()
    response = client.get("/orders/3")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert calls == [(401, {"order_id": 3})]


def test_custom_token_finder_reads_the_flask_request() -> None:
    ajwt = make_ajwt(template=None, token_finder=lambda: request.headers["X-Token"])
    client = make_app_for_default_template(ajwt).test_client()
    token = auth_headers(ajwt)["Authorization"][7:]
    assert client.get("/things/9", headers={"X-Token": token}).json == {"id": 9, "sub": "test-user"}
    assert client.get("/things/9").status_code == 401


def make_app_for_default_template(ajwt: ApoJWT) -> Flask:
    app = Flask(__name__)

    @app.route("/things/<int:thing_id>", methods=["GET"])
    @ajwt.token_required
    def things(thing_id: int, token_subject: str) -> dict[str, Any]:
        return {"id": thing_id, "sub": token_subject}

    return app


def test_default_template_decorators_also_protect_flask_views() -> None:
    """apojwt 1.x users who never set a template: the FastAPI-template wrapper detects Flask."""
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    client = make_app_for_default_template(ajwt).test_client()
    assert client.get("/things/1", headers=auth_headers(ajwt, sub="dan")).json == {"id": 1, "sub": "dan"}
    missing = client.get("/things/1")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"


def test_guard_above_the_route_decorator_fails_loudly(ajwt: ApoJWT) -> None:
    app = Flask(__name__)
    with pytest.raises(ConfigurationError, match="below the route decorator"):

        @ajwt.token_required
        @app.route("/wrong")
        def wrong() -> str:
            return "unprotected"


def test_flask_with_a_redis_store(redis: Any) -> None:
    """Store I/O from sync views runs on one background loop; flask.request stays visible to finders."""
    from fastapi_apojwt.stores.redis import RedisStore

    store = RedisStore.from_url(redis.url)
    ajwt = ApoJWT(
        SECRET,
        iss=ISSUER,
        server_audience=[AUDIENCE],
        template="flask",
        store=store,
        token_finder=lambda: request.headers["X-Token"],
    )
    app = Flask(__name__)

    @app.get("/me")
    @ajwt.token_required
    def me(token_subject: str) -> dict[str, Any]:
        return {"sub": token_subject}

    client = app.test_client()
    token = auth_headers(ajwt, sub="alice")["Authorization"][7:]
    for _ in range(3):
        assert client.get("/me", headers={"X-Token": token}).json == {"sub": "alice"}
    from fastapi_apojwt._decorate import run_sync

    run_sync(lambda: ajwt.revoke_token(token))
    assert client.get("/me", headers={"X-Token": token}).status_code == 401
    fresh = auth_headers(ajwt, sub="bob")["Authorization"][7:]
    redis.stop()
    down = client.get("/me", headers={"X-Token": fresh})
    assert down.status_code == 503
    assert down.json is not None
    run_sync(store.close)

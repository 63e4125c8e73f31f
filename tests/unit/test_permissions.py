"""Permission semantics: all-of, any-of, admin, exact matching, opt-in wildcards."""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, ConfigurationError, TokenContext
from fastapi_apojwt.permissions import PermissionPolicy
from tests.conftest import AUDIENCE, ISSUER, SECRET


def make(**options: Any) -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", **options)


def status(ajwt: ApoJWT, held: list[str], *required: str, any_of: bool = False) -> int:
    """The HTTP status of a request holding ``held`` to a route requiring ``required``."""
    app = FastAPI()

    @app.get("/r")
    async def route(ctx: Annotated[TokenContext, Depends(ajwt.permission(*required, any_of=any_of))]) -> str:
        return ctx.sub

    token = ajwt.create_token(sub="u", permissions=held)
    return TestClient(app).get("/r", headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture(scope="module")
def ajwt() -> ApoJWT:
    return make()


@pytest.fixture(scope="module")
def wild() -> ApoJWT:
    return make(wildcards=True)


# -- all-of, any-of, admin --------------------------------------------------------------------


def test_all_listed_permissions_are_required_by_default(ajwt: ApoJWT) -> None:
    assert status(ajwt, ["a", "b"], "a", "b") == 200
    assert status(ajwt, ["a", "b", "c"], "a", "b") == 200
    assert status(ajwt, ["a"], "a", "b") == 403
    assert status(ajwt, ["b"], "a", "b") == 403
    assert status(ajwt, [], "a") == 403


def test_any_of_needs_one(ajwt: ApoJWT) -> None:
    assert status(ajwt, ["a"], "a", "b", any_of=True) == 200
    assert status(ajwt, ["b"], "a", "b", any_of=True) == 200
    assert status(ajwt, ["c"], "a", "b", any_of=True) == 403
    assert status(ajwt, [], "a", "b", any_of=True) == 403


def test_admin_permission_passes_everything(ajwt: ApoJWT) -> None:
    assert status(ajwt, ["admin"], "a", "b") == 200
    assert status(ajwt, ["admin"], "a", "b", any_of=True) == 200
    assert status(ajwt, ["admin"], "anything:at:all") == 200
    assert status(ajwt, ["x", "admin"], "a") == 200


def test_no_admin_permission_configured_means_no_bypass() -> None:
    plain = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    assert status(plain, ["admin"], "a") == 403
    assert status(plain, ["admin"], "admin") == 200


def test_a_list_argument_is_accepted(ajwt: ApoJWT) -> None:
    assert ajwt.permission(["a", "b"]) is ajwt.permission("a", "b")  # type: ignore[arg-type]
    assert ajwt.permission("a", "b") is ajwt.permission("b", "a")


# -- exact matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "held",
    [
        ["orders"],  # prefix
        ["orders:rea"],  # prefix
        ["orders:read:own"],  # longer
        ["Orders:Read"],  # case
        ["ORDERS:READ"],
        ["orders:read "],  # whitespace
        [" orders:read"],
        ["orders:*"],  # wildcards are off by default
        ["*"],
        ["orders-read"],
        ["xorders:read"],
        ["orders:readx"],
        ["adm"],
        ["Admin"],
        ["admin "],
    ],
)
def test_matching_is_exact(ajwt: ApoJWT, held: list[str]) -> None:
    assert status(ajwt, held, "orders:read") == 403


def test_exact_match_passes(ajwt: ApoJWT) -> None:
    assert status(ajwt, ["orders:read"], "orders:read") == 200


# -- wildcards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "required", "granted"),
    [
        ("orders:*", "orders:read", True),
        ("orders:*", "orders:read:own", True),
        ("orders:read:*", "orders:read:own", True),
        ("orders:*", "orders", False),
        ("orders:*", "ordersx:read", False),
        ("orders:*", "xorders:read", False),
        ("orders:*", "invoices:read", False),
        ("orders:read:*", "orders:read", False),
        ("orders:read:*", "orders:write", False),
        ("*", "orders:read", False),
        ("*", "orders", False),
        ("*", "*", True),  # only by exact match of the literal name
        ("orders*", "orders:read", False),
        ("orders:*:own", "orders:read:own", False),
        ("ORDERS:*", "orders:read", False),
        ("orders:read", "orders:read", True),
    ],
)
def test_wildcards(wild: ApoJWT, held: str, required: str, granted: bool) -> None:
    assert wild.policy.grants({held}, required) is granted
    assert status(wild, [held], required) == (200 if granted else 403)


def test_wildcards_with_any_of_and_admin(wild: ApoJWT) -> None:
    assert status(wild, ["invoices:*"], "orders:read", "invoices:read", any_of=True) == 200
    assert status(wild, ["invoices:*"], "orders:read", "invoices:read") == 403
    assert status(wild, ["invoices:*", "orders:*"], "orders:read", "invoices:read") == 200
    assert status(wild, ["admin"], "orders:read") == 200


def test_wildcards_are_opt_in() -> None:
    policy = PermissionPolicy(admin=None)
    assert not policy.grants({"orders:*"}, "orders:read")
    assert PermissionPolicy(admin=None, wildcards=True).grants({"orders:*"}, "orders:read")


# -- ctx.has_permission -----------------------------------------------------------------------


def test_has_permission_follows_the_same_rules(ajwt: ApoJWT, wild: ApoJWT) -> None:
    ctx = ajwt.decode(ajwt.create_token(sub="u", permissions=["orders:read", "orders:*"]))
    assert ctx.has_permission("orders:read")
    assert not ctx.has_permission("orders:write")
    assert not ctx.has_permission("orders")
    assert not ctx.has_permission("ORDERS:READ")
    wctx = wild.decode(wild.create_token(sub="u", permissions=["orders:*"]))
    assert wctx.has_permission("orders:write")
    assert wctx.has_permission("orders:read:own")
    assert not wctx.has_permission("orders")
    assert not wctx.has_permission("ordersx:read")
    admin = ajwt.decode(ajwt.create_token(sub="root", permissions=["admin"]))
    assert admin.admin
    assert admin.has_permission("anything")
    assert not ctx.admin


# -- names are checked when the guard is declared ---------------------------------------------


@pytest.mark.parametrize("name", ["", "orders read", 'say"hi', "back\\slash", "tab\t", "é", 5, None])
def test_invalid_permission_names_fail_at_declaration(ajwt: ApoJWT, name: Any) -> None:
    with pytest.raises(ConfigurationError, match="permission name"):
        ajwt.permission(name)


@pytest.mark.parametrize("name", ["", "has space", 'q"'])
def test_invalid_admin_permission_fails_at_construction(name: str) -> None:
    with pytest.raises(ConfigurationError, match="permission name"):
        ApoJWT(SECRET, admin_permission=name)


def test_permission_with_no_names_is_token_required(ajwt: ApoJWT) -> None:
    assert ajwt.permission() is ajwt.token_required

"""Permission-name near misses: a genuine token whose permission *almost* matches gets 403.

Catalogue: OWASP ASVS V4.1/V4.2 (access control, deny by default); OWASP
"Broken access control" (case and Unicode normalisation bypasses, e.g.
CVE-2019-19844-style confusable matching); RFC 6750 §3.1 ``insufficient_scope``.
"""

import pytest

from fastapi_apojwt import ApoJWT
from tests.security.attack import AUDIENCE, ISSUER, SECRET, Target, make_target

NEAR_MISSES = {
    "uppercase": "ORDERS:READ",
    "capitalised": "Orders:read",
    "leading-space": " orders:read",
    "trailing-space": "orders:read ",
    "trailing-newline": "orders:read\n",
    "trailing-nul": "orders:read\u0000",
    "prefix": "orders:rea",
    "suffix": "orders:reads",
    "parent": "orders",
    "parent-colon": "orders:",
    "wildcard-off": "orders:*",
    "star": "*",
    "cyrillic-a": "orders:re\u0430d",
    "fullwidth-colon": "orders\uff1aread",
    "zero-width-space": "orders:\u200bread",
    "dot-separator": "orders.read",
    "combining-mark": "orders:re\u0301ad",
    "regex-dot": "orders.rea.",
    "sql-like": "orders:%",
    "empty": "",
}

ADMIN_NEAR_MISSES = {
    "Admin": "Admin",
    "ADMIN": "ADMIN",
    "admin-space": "admin ",
    "administrator": "administrator",
    "cyrillic-a": "\u0430dmin",
    "admin-nul": "admin\u0000",
    "adm": "adm",
    "root": "root",
    "star": "*",
}


@pytest.fixture(scope="module")
def target() -> Target:
    return make_target()


@pytest.mark.parametrize("case", list(NEAR_MISSES))
def test_owasp_permission_near_miss_is_403(target: Target, case: str) -> None:
    """OWASP broken access control: permissions match exactly (no case folding, trimming, prefix or Unicode folding)."""
    token = target.ajwt.create_token(sub="mallory", permissions=[NEAR_MISSES[case]])
    target.assert_rejected(token, status=403, error="insufficient_scope")
    target.assert_rejected(token, path="/legacy", status=403, error="insufficient_scope")


@pytest.mark.parametrize("case", list(ADMIN_NEAR_MISSES))
def test_owasp_admin_permission_near_miss_is_403(target: Target, case: str) -> None:
    """The admin permission is matched exactly too: look-alikes pass neither the admin route nor others."""
    token = target.ajwt.create_token(sub="mallory", permissions=[ADMIN_NEAR_MISSES[case]])
    target.assert_rejected(token, path="/admin", status=403, error="insufficient_scope")
    target.assert_rejected(token, path="/orders", status=403, error="insufficient_scope")


def test_many_permissions_without_the_one_needed(target: Target) -> None:
    """A token with hundreds of other permissions still gets 403 (no truncation or sampling)."""
    perms = [f"orders:read{i}" for i in range(600)]
    small = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", max_token_bytes=16000)
    big_target = make_target(small)
    big_target.assert_rejected(
        small.create_token(sub="mallory", permissions=perms), status=403, error="insufficient_scope"
    )


@pytest.mark.parametrize(
    "granted",
    [
        pytest.param("order*", id="partial-segment-star"),
        pytest.param("orders:re*", id="prefix-star"),
        pytest.param("*", id="lone-star"),
        pytest.param("*:read", id="leading-star"),
        pytest.param("orders:read:*", id="child-star"),
        pytest.param("ORDERS:*", id="uppercase-star"),
    ],
)
def test_wildcard_mode_only_whole_segments(granted: str) -> None:
    """With ``wildcards=True`` only ``parent:*`` grants children; partial, lone and misplaced stars grant nothing."""
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", wildcards=True)
    target = make_target(ajwt)
    target.assert_rejected(
        ajwt.create_token(sub="mallory", permissions=[granted]), status=403, error="insufficient_scope"
    )
    assert target.get("/orders", ajwt.create_token(sub="alice", permissions=["orders:*"])).status_code == 200

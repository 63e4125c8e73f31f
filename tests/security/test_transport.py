"""Transport attacks: ``Authorization`` header variants, duplicates, raw bytes, oversize, other token locations.

Catalogue: RFC 6750 §2.1 (``Authorization: Bearer``), §2.2/§2.3 (form body and
query string, not accepted here), §3 and §3.1 (``WWW-Authenticate`` challenge
and error codes); RFC 7235 §2.1 (auth-scheme is case-insensitive); RFC 9110
§5.5 (field values, control characters); OWASP JWT cheat sheet "token
sidejacking" and "information disclosure" (nothing echoed); request smuggling
style duplicates.
"""

import pytest

from tests.security.attack import Target, assert_not_echoed, assert_refusal, make_target, raw_asgi


@pytest.fixture(scope="module")
def target() -> Target:
    return make_target()


# -- accepted spellings (documented leniency) ------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_rfc7235_2_1_scheme_is_case_insensitive(target: Target, scheme: str) -> None:
    """RFC 7235 §2.1: the auth-scheme is case-insensitive; every casing of Bearer works."""
    response = target.get("/orders", headers={"Authorization": f"{scheme} {target.genuine}"})
    assert response.status_code == 200


def test_rfc6750_2_1_extra_spaces_after_scheme_tolerated(target: Target) -> None:
    """RFC 6750 §2.1 (``1*SP``): several spaces between scheme and token are tolerated."""
    response = target.get("/orders", headers={"Authorization": f"Bearer   {target.genuine}"})
    assert response.status_code == 200


# -- refused spellings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=", id="basic"),
        pytest.param("Digest username=alice", id="digest"),
        pytest.param("Token {t}", id="token-scheme"),
        pytest.param("JWT {t}", id="jwt-scheme"),
        pytest.param("{t}", id="no-scheme"),
        pytest.param("Bearer\t{t}", id="tab-separator"),
        pytest.param("Bearer:{t}", id="colon-separator"),
        pytest.param("Bearer{t}", id="no-separator"),
        pytest.param("Bearer-{t}", id="dash-separator"),
        pytest.param("", id="empty-header"),
        pytest.param("Bearers {t}", id="scheme-suffix"),
    ],
)
def test_rfc6750_3_1_other_scheme_gets_plain_challenge(target: Target, value: str) -> None:
    """RFC 6750 §3.1: a request without a Bearer credential gets ``WWW-Authenticate: Bearer`` and no error code."""
    target.assert_rejected(headers={"Authorization": value.format(t=target.genuine)}, error=None)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer ", id="bearer-space"),
        pytest.param("Bearer    ", id="bearer-spaces"),
        pytest.param("Bearer {t} extra", id="two-credentials"),
        pytest.param("Bearer {t},Bearer {t}", id="comma-list"),
        pytest.param("Bearer {t} ", id="trailing-space"),
        pytest.param("Bearer {t}\t", id="trailing-tab"),
        pytest.param("Bearer Bearer {t}", id="double-scheme"),
        pytest.param('Bearer "{t}"', id="quoted"),
        pytest.param("Bearer {t};", id="semicolon"),
        pytest.param("Bearer null", id="null"),
        pytest.param("Bearer undefined", id="undefined"),
        pytest.param("Bearer None", id="None"),
    ],
)
def test_rfc6750_2_1_malformed_bearer_credentials(target: Target, value: str) -> None:
    """RFC 6750 §2.1: ``Bearer`` followed by anything but one token is ``invalid_token``."""
    target.assert_rejected(headers={"Authorization": value.format(t=target.genuine)})


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("query", id="rfc6750-2.3-query"),
        pytest.param("cookie", id="cookie"),
        pytest.param("x-header", id="x-access-token-header"),
    ],
)
def test_rfc6750_2_3_token_elsewhere_not_accepted(target: Target, where: str) -> None:
    """RFC 6750 §2.3 / §5.3: a header-configured service ignores tokens in the query, cookies or other headers."""
    token = target.genuine
    if where == "query":
        response = target.client.get(f"/orders?access_token={token}")
    elif where == "cookie":
        target.client.cookies.set("access_token", token)
        try:
            response = target.client.get("/orders")
        finally:
            target.client.cookies.clear()
    else:
        response = target.client.get("/orders", headers={"X-Access-Token": token})
    assert_refusal(response.status_code, response.headers, response.content, status=401, error=None)
    target.assert_genuine_works()


# -- duplicates and raw bytes (raw ASGI: no client would send these) ---------------------------------


def _auth(value: bytes) -> tuple[bytes, bytes]:
    return (b"authorization", value)


def _raw_rejected(
    target: Target, headers: list[tuple[bytes, bytes]], *, status: int = 401, error: str | None = "invalid_token"
) -> None:
    code, response_headers, body = raw_asgi(target.app, headers)
    assert_refusal(code, response_headers, body, status=status, error=error)
    for _, value in headers:
        assert_not_echoed(value.decode("latin-1"), response_headers, body)
    ok_code, _, ok_body = raw_asgi(target.app, [_auth(b"Bearer " + target.genuine.encode())])
    assert ok_code == 200, ok_body


@pytest.mark.parametrize("order", ["genuine-first", "forged-first", "both-genuine"])
def test_duplicate_authorization_headers_are_invalid_request(target: Target, order: str) -> None:
    """RFC 9110 §5.3 / RFC 6750 §3.1: several Authorization headers are ``invalid_request`` (400), never a pick."""
    genuine = _auth(b"Bearer " + target.genuine.encode())
    other = _auth(b"Bearer " + target.genuine_admin.encode()[:-2] + b"xx")
    headers = {"genuine-first": [genuine, other], "forged-first": [other, genuine], "both-genuine": [genuine, genuine]}
    _raw_rejected(target, headers[order], status=400, error="invalid_request")


@pytest.mark.parametrize(
    "suffix",
    [
        pytest.param(b"\x00", id="nul"),
        pytest.param(b"\r\n", id="crlf"),
        pytest.param(b"\r\nX-Injected: 1", id="header-injection"),
        pytest.param(b"\x7f", id="del"),
        pytest.param(b"\x1b[31m", id="ansi-escape"),
        pytest.param(b"\xff", id="latin1-ff"),
        pytest.param("\u00e9".encode(), id="utf8-e-acute"),
        pytest.param("\u202e".encode(), id="utf8-rtl-override"),
        pytest.param(b"\xc0\xae", id="overlong-utf8"),
    ],
)
def test_rfc9110_5_5_control_and_non_ascii_bytes(target: Target, suffix: bytes) -> None:
    """RFC 9110 §5.5: control characters and non-ASCII bytes after a genuine token make it ``invalid_token``."""
    _raw_rejected(target, [_auth(b"Bearer " + target.genuine.encode() + suffix)])


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"Bearer \x00", id="nul-only"),
        pytest.param(b"\xff\xfe Bearer", id="garbage-scheme"),
        pytest.param(b"Bearer \xe2\x80\x8b", id="zero-width-space"),
    ],
)
def test_rfc9110_5_5_binary_authorization_values(target: Target, value: bytes) -> None:
    """Binary garbage in the Authorization header is a 401 (plain or ``invalid_token``), never a 500."""
    code, headers, _body = raw_asgi(target.app, [_auth(value)])
    assert code == 401
    assert headers["www-authenticate"].startswith("Bearer")
    target.assert_genuine_works()


def test_non_ascii_inside_token_middle(target: Target) -> None:
    """A UTF-8 character spliced into the middle of a genuine token is ``invalid_token``."""
    token = target.genuine.encode()
    _raw_rejected(target, [_auth(b"Bearer " + token[:30] + "\u00e9".encode() + token[30:])])


# -- oversize --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8193, 16000, 100_000, 1_000_000])
def test_oversize_token_rejected_before_parsing(target: Target, size: int) -> None:
    """DoS hardening: tokens above ``max_token_bytes`` (8 KiB) and huge headers are refused cheaply, as 401."""
    header, payload, signature = target.genuine.split(".")
    padded = header + "." + payload + "A" * (size - len(target.genuine)) + "." + signature
    _raw_rejected(target, [_auth(b"Bearer " + padded.encode())])


def test_oversize_genuine_token_is_rejected_but_normal_ones_pass() -> None:
    """``max_token_bytes`` applies to genuine tokens too (a token stuffed with data cannot exhaust the parser)."""
    from fastapi_apojwt import ApoJWT

    from .attack import AUDIENCE, ISSUER, SECRET

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin", max_token_bytes=1024)
    small = make_target(ajwt)
    big = ajwt.create_token(sub="alice", permissions=["orders:read"], data={"blob": "x" * 2000})
    small.assert_rejected(big)


# -- RFC 6750 challenges and no echo on every kind of failure --------------------------------------


def test_rfc6750_3_no_token_challenge(target: Target) -> None:
    """RFC 6750 §3.1: a request with no credentials gets exactly ``WWW-Authenticate: Bearer``."""
    target.assert_rejected(error=None)


def test_rfc6750_3_1_insufficient_scope_names_the_scope(target: Target) -> None:
    """RFC 6750 §3.1: a valid token lacking the permission is 403 ``insufficient_scope`` with the scope."""
    response = target.assert_rejected(target.genuine, path="/admin", status=403, error="insufficient_scope")
    assert 'scope="admin"' in response.headers["www-authenticate"]


def test_rfc6750_5_1_error_description_has_no_token_material(target: Target) -> None:
    """RFC 6750 §5.1 / OWASP information disclosure: the challenge and body never carry the token."""
    header, payload, _ = target.genuine.split(".")
    response = target.assert_rejected(f"{header}.{payload}.{'A' * 43}")
    assert "error_description" in response.headers["www-authenticate"]
    assert payload not in response.headers["www-authenticate"]


def test_decorated_route_rejects_like_dependency(target: Target) -> None:
    """The classic decorator form refuses the same way (status, challenge, no echo) as the dependency form."""
    header, payload, _ = target.genuine.split(".")
    target.assert_rejected(f"{header}.{payload}.{'A' * 43}", path="/legacy")
    target.assert_rejected(path="/legacy", error=None)
    response = target.get("/legacy", target.genuine)
    assert response.status_code == 200

"""fastapi_apojwt.oauth2 on its own: the RFC 6749 §5.1 token response and the §5.2 error."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

import fastapi_apojwt.oauth2 as oauth2
from fastapi_apojwt.oauth2 import OAuth2Error, oauth2_error_handler, token_response

RFC_CODES = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
]
# RFC 6749 Appendix A: NQSCHAR = %x20-21 / %x23-5B / %x5D-7E
NQSCHAR = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\')


def body(response: JSONResponse) -> dict[str, Any]:
    parsed = json.loads(bytes(response.body))
    assert isinstance(parsed, dict)
    return parsed


def request(headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/token", "headers": raw, "query_string": b""})


def render(exc: Exception, headers: dict[str, str] | None = None) -> JSONResponse:
    return asyncio.run(oauth2_error_handler(request(headers), exc))


def test_exports() -> None:
    assert sorted(oauth2.__all__) == ["OAuth2Error", "oauth2_error_handler", "token_response"]
    assert oauth2.ERROR_CODES == frozenset(RFC_CODES)


# -- token_response ----------------------------------------------------------------------


def test_token_response_minimal() -> None:
    response = token_response("a.b.c", expires_in=900)
    assert isinstance(response, JSONResponse)
    assert response.status_code == 200
    assert body(response) == {"access_token": "a.b.c", "token_type": "bearer", "expires_in": 900}
    assert list(body(response)) == ["access_token", "token_type", "expires_in"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"


def test_token_response_full() -> None:
    response = token_response("a.b.c", expires_in=0, refresh_token="r.e.f", scope="orders:read admin")
    assert body(response) == {
        "access_token": "a.b.c",
        "token_type": "bearer",
        "expires_in": 0,
        "refresh_token": "r.e.f",
        "scope": "orders:read admin",
    }


def test_token_response_headers_are_not_shared() -> None:
    first = token_response("a", expires_in=1)
    first.headers["cache-control"] = "public"
    assert token_response("a", expires_in=1).headers["cache-control"] == "no-store"


def test_cookies_can_be_set_on_the_response() -> None:
    response = token_response("a", expires_in=1)
    response.set_cookie("refresh_token", "x", httponly=True)
    assert "refresh_token=x" in response.headers["set-cookie"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("orders:read", "orders:read"),
        ("orders:read orders:write", "orders:read orders:write"),
        (["orders:read", "orders:write"], "orders:read orders:write"),
        (("b", "a"), "b a"),  # a sequence keeps its order
        (["a", "b", "a"], "a b"),  # duplicates dropped, first one kept
        ({"b", "a", "c"}, "a b c"),  # a set is sorted
        (frozenset({"z", "y"}), "y z"),
        ({"x": 1, "w": 2}, "x w"),  # any iterable of str: a dict's keys
        (iter(["one", "two"]), "one two"),  # a one-shot iterator
        ("!#[]~", "!#[]~"),  # the edges of NQCHAR
    ],
)
def test_scope_joining(scope: Any, expected: str) -> None:
    assert body(token_response("a", expires_in=1, scope=scope))["scope"] == expected


def test_no_scope_means_no_key() -> None:
    assert "scope" not in body(token_response("a", expires_in=1, scope=None))
    assert "refresh_token" not in body(token_response("a", expires_in=1, refresh_token=None))


@pytest.mark.parametrize("scope", [b"orders:read", bytearray(b"x"), memoryview(b"x"), 42, 1.5, object()])
def test_scope_of_the_wrong_type(scope: Any) -> None:
    with pytest.raises(TypeError, match="scope must be a str or an iterable of str"):
        token_response("a", expires_in=1, scope=scope)


@pytest.mark.parametrize("scope", [["a", 1], [b"a"], [None]])
def test_scope_items_of_the_wrong_type(scope: Any) -> None:
    with pytest.raises(TypeError, match="every scope must be a str"):
        token_response("a", expires_in=1, scope=scope)


@pytest.mark.parametrize("scope", ["", [], (), set(), iter([])])
def test_empty_scope_is_refused(scope: Any) -> None:
    with pytest.raises(ValueError, match="at least one scope token"):
        token_response("a", expires_in=1, scope=scope)


@pytest.mark.parametrize(
    "scope",
    [
        "a  b",  # two spaces
        " a",
        "a ",
        "a\tb",
        'say"hi',
        "back\\slash",
        "caf\u00e9",
        "new\nline",
        ["a b"],  # a list item with a space in it
        ["a", ""],
        ["\x7f"],
    ],
)
def test_invalid_scope_tokens_are_refused(scope: Any) -> None:
    with pytest.raises(ValueError, match=r"RFC 6749 §3\.3"):
        token_response("a", expires_in=1, scope=scope)


@pytest.mark.parametrize("expires_in", [900.0, 1.5, "900", None, True, False])
def test_expires_in_must_be_an_int(expires_in: Any) -> None:
    with pytest.raises(TypeError, match="expires_in must be an int"):
        token_response("a", expires_in=expires_in)


def test_expires_in_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        token_response("a", expires_in=-1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *(("access_token", value) for value in (b"a.b.c", None, 1, ["a"])),
        *(("refresh_token", value) for value in (b"a.b.c", 1, ["a"])),  # None leaves the refresh token out
    ],
)
def test_tokens_must_be_str(name: str, value: Any) -> None:
    args: dict[str, Any] = {"access_token": "a", name: value}
    with pytest.raises(TypeError, match=f"{name} must be a str"):
        token_response(args.pop("access_token"), expires_in=1, **args)


@pytest.mark.parametrize("name", ["access_token", "refresh_token"])
@pytest.mark.parametrize("value", ["", "tok\nen", "tok\u00e9n", "\x00", "a\x7f"])
def test_tokens_must_be_visible_ascii(name: str, value: str) -> None:
    args: dict[str, Any] = {"access_token": "a", name: value}
    with pytest.raises(ValueError, match=f"{name} must be a non-empty string of printable ASCII"):
        token_response(args.pop("access_token"), expires_in=1, **args)


def test_tokens_may_hold_any_visible_ascii() -> None:
    vschar = "".join(chr(c) for c in range(0x20, 0x7F))
    assert body(token_response(vschar, expires_in=1, refresh_token=vschar))["refresh_token"] == vschar


# -- OAuth2Error ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", RFC_CODES)
def test_every_rfc_code(code: str) -> None:
    exc = OAuth2Error(code)
    assert exc.error == code
    assert exc.description is None
    assert exc.uri is None
    assert isinstance(exc, HTTPException)
    assert exc.detail == code
    assert exc.headers is not None
    assert exc.headers["Cache-Control"] == "no-store"
    assert exc.headers["Pragma"] == "no-cache"
    if code == "invalid_client":
        assert exc.status_code == 401
        assert exc.headers["WWW-Authenticate"] == 'Basic realm="oauth2"'
    else:
        assert exc.status_code == 400
        assert "WWW-Authenticate" not in exc.headers


@pytest.mark.parametrize(
    "code",
    ["invalid_token", "insufficient_scope", "access_denied", "server_error", "INVALID_GRANT", "", "invalid_grant "],
)
def test_other_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match=r"not an RFC 6749 §5\.2 error code"):
        OAuth2Error(code)


@pytest.mark.parametrize("code", [None, 400, b"invalid_grant"])
def test_code_must_be_str(code: Any) -> None:
    with pytest.raises(TypeError, match="error must be a str"):
        OAuth2Error(code)


def test_description_and_uri() -> None:
    exc = OAuth2Error("invalid_grant", "Incorrect username or password.", uri="https://example.com/errors#grant")
    assert exc.description == "Incorrect username or password."
    assert exc.uri == "https://example.com/errors#grant"
    assert exc.detail == "Incorrect username or password."
    assert str(exc) == "400 invalid_grant: Incorrect username or password."
    assert repr(exc) == (
        "OAuth2Error('invalid_grant', 'Incorrect username or password.', "
        "uri='https://example.com/errors#grant', status_code=400)"
    )
    assert str(OAuth2Error("invalid_scope")) == "400 invalid_scope"


def test_description_allows_every_nqschar() -> None:
    assert OAuth2Error("invalid_request", NQSCHAR).description == NQSCHAR


@pytest.mark.parametrize(
    "description", ["", 'a "quoted" word', "back\\slash", "caf\u00e9", "line\nbreak", "\t", "\x7f"]
)
def test_description_outside_the_charset_is_refused(description: str) -> None:
    with pytest.raises(ValueError, match="description must be non-empty printable ASCII"):
        OAuth2Error("invalid_request", description)


@pytest.mark.parametrize("description", [b"bytes", 1, ["a"]])
def test_description_must_be_str(description: Any) -> None:
    with pytest.raises(TypeError, match="description must be a str or None"):
        OAuth2Error("invalid_request", description)


def test_uri_allows_every_char_of_its_set() -> None:
    chars = NQSCHAR.replace(" ", "")
    assert OAuth2Error("invalid_request", uri=chars).uri == chars


@pytest.mark.parametrize(
    "uri", ["", "https://e.com/a b", 'https://e.com/"', "https://e.com/\\", "https://e.com/\u00e9"]
)
def test_uri_outside_the_charset_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="uri must be a non-empty URI"):
        OAuth2Error("invalid_request", uri=uri)


@pytest.mark.parametrize("uri", [b"https://e.com", 1])
def test_uri_must_be_str(uri: Any) -> None:
    with pytest.raises(TypeError, match="uri must be a str or None"):
        OAuth2Error("invalid_request", uri=uri)


def test_status_code_override() -> None:
    quiet = OAuth2Error("invalid_client", status_code=400)
    assert quiet.status_code == 400
    assert quiet.headers is not None
    assert "WWW-Authenticate" not in quiet.headers
    loud = OAuth2Error("invalid_grant", status_code=401)
    assert loud.status_code == 401
    assert loud.headers is not None
    assert loud.headers["WWW-Authenticate"] == 'Basic realm="oauth2"'
    assert OAuth2Error("invalid_request", status_code=429).status_code == 429


@pytest.mark.parametrize("status_code", [200, 302, 399, 500, 503, 0, -400])
def test_status_code_must_be_4xx(status_code: int) -> None:
    with pytest.raises(ValueError, match="status_code must be a 4xx"):
        OAuth2Error("invalid_request", status_code=status_code)


@pytest.mark.parametrize("status_code", [True, 400.0, "400"])
def test_status_code_must_be_int(status_code: Any) -> None:
    with pytest.raises(TypeError, match="status_code must be an int or None"):
        OAuth2Error("invalid_request", status_code=status_code)


# -- oauth2_error_handler ------------------------------------------------------------------


@pytest.mark.parametrize("code", RFC_CODES)
def test_handler_renders_every_code(code: str) -> None:
    response = render(OAuth2Error(code))
    assert body(response) == {"error": code}
    assert response.status_code == (401 if code == "invalid_client" else 400)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"
    if code == "invalid_client":
        assert response.headers["www-authenticate"] == 'Basic realm="oauth2"'
    else:
        assert "www-authenticate" not in response.headers


def test_handler_renders_description_and_uri() -> None:
    response = render(OAuth2Error("invalid_grant", "Wrong password.", uri="https://e.com/e"))
    assert body(response) == {
        "error": "invalid_grant",
        "error_description": "Wrong password.",
        "error_uri": "https://e.com/e",
    }
    assert list(body(response)) == ["error", "error_description", "error_uri"]
    assert body(render(OAuth2Error("invalid_grant", uri="https://e.com/e"))) == {
        "error": "invalid_grant",
        "error_uri": "https://e.com/e",
    }


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Basic realm="oauth2"'),
        ("Basic Y2xpZW50OnNlY3JldA==", 'Basic realm="oauth2"'),
        ("basic Y2xpZW50OnNlY3JldA==", 'Basic realm="oauth2"'),
        ("Bearer abc", 'Bearer realm="oauth2"'),
        ("DPoP abc", 'DPoP realm="oauth2"'),
        ("", 'Basic realm="oauth2"'),
        ('Bad"scheme x', 'Basic realm="oauth2"'),  # not an RFC 9110 token: not echoed
        ("A" * 33 + " x", 'Basic realm="oauth2"'),  # too long to be a scheme name
    ],
)
def test_invalid_client_challenge_matches_the_clients_scheme(authorization: str | None, challenge: str) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = render(OAuth2Error("invalid_client", "Unknown client."), headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge


def test_handler_does_not_mutate_the_exception() -> None:
    exc = OAuth2Error("invalid_client")
    render(exc, {"Authorization": "Bearer x"})
    assert exc.headers is not None
    assert exc.headers["WWW-Authenticate"] == 'Basic realm="oauth2"'


def test_handler_refuses_other_exceptions() -> None:
    with pytest.raises(TypeError, match="handles OAuth2Error only"):
        render(ValueError("nope"))


def test_handler_is_a_coroutine_function() -> None:
    # Starlette awaits a coroutine handler directly, without a thread-pool hop.
    assert inspect.iscoroutinefunction(oauth2_error_handler)

"""The double-submit CSRF check of cookie-held refresh tokens: on by default, bound to the token, optional."""

import pytest
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.refresh import csrf_value
from tests.integration.refresh_helpers import make_ajwt, make_app

HTTPS = "https://testserver"


@pytest.fixture
def ajwt() -> ApoJWT:
    return make_ajwt()


def tokens(ajwt: ApoJWT, sub: str = "alice") -> tuple[str, str]:
    _, refresh = ajwt.create_token(sub=sub, refresh_data={"user": sub})
    return refresh, ajwt.csrf_token(refresh)


def post(client: TestClient, *, cookie: str, header: str | list[str] | None) -> tuple[int, str]:
    headers: list[tuple[str, str]] = [("Cookie", cookie)]
    if isinstance(header, str):
        headers.append(("X-CSRF-Token", header))
    elif header is not None:
        headers.extend(("X-CSRF-Token", value) for value in header)
    response = client.post("/auth/refresh", headers=headers)
    return response.status_code, response.json()["detail"] if response.status_code != 200 else ""


def test_csrf_value_is_bound_to_the_token(ajwt: ApoJWT) -> None:
    refresh, csrf = tokens(ajwt)
    _, other_csrf = tokens(ajwt)
    assert csrf != other_csrf
    assert csrf == ajwt.csrf_token(refresh)  # deterministic: every instance with the secret agrees
    assert len(csrf) >= 43
    assert csrf not in refresh


def test_header_missing_is_403_with_a_clear_message(ajwt: ApoJWT) -> None:
    refresh, csrf = tokens(ajwt)
    status, detail = post(
        TestClient(make_app(ajwt), base_url=HTTPS),
        cookie=f"refresh_token={refresh}; csrf_refresh_token={csrf}",
        header=None,
    )
    assert status == 403
    assert detail == (
        "CSRF check failed: send the value of the csrf_refresh_token cookie in the X-CSRF-Token header "
        "with this refresh request."
    )


@pytest.mark.parametrize(
    "case",
    ["wrong header", "no csrf cookie", "cookie and header agree but unbound", "other token's pair", "two headers"],
)
def test_bad_double_submit_is_403_and_does_not_use_the_token(ajwt: ApoJWT, case: str) -> None:
    refresh, csrf = tokens(ajwt)
    _, other_csrf = tokens(ajwt)
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    planted = "attacker-chosen-value"
    cookie, header = {
        "wrong header": (
            f"refresh_token={refresh}; csrf_refresh_token={csrf}",
            csrf[:-1] + ("B" if csrf.endswith("A") else "A"),
        ),
        "no csrf cookie": (f"refresh_token={refresh}", csrf),
        # an attacker who can plant cookies (a sibling subdomain) picks both halves: still refused
        "cookie and header agree but unbound": (f"refresh_token={refresh}; csrf_refresh_token={planted}", planted),
        "other token's pair": (f"refresh_token={refresh}; csrf_refresh_token={other_csrf}", other_csrf),
        "two headers": (f"refresh_token={refresh}; csrf_refresh_token={csrf}", [csrf, csrf]),
    }[case]
    status, detail = post(client, cookie=cookie, header=header)
    assert status == 403
    assert detail.startswith("CSRF check failed")
    assert refresh not in detail
    # the refused attempt did not use the token up
    assert post(client, cookie=f"refresh_token={refresh}; csrf_refresh_token={csrf}", header=csrf)[0] == 200


def test_non_ascii_csrf_header_is_403_not_500(ajwt: ApoJWT) -> None:
    refresh, csrf = tokens(ajwt)
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    response = client.post(
        "/auth/refresh",
        headers=[
            (b"cookie", f"refresh_token={refresh}; csrf_refresh_token={csrf}".encode()),
            (b"x-csrf-token", "é\xff".encode("latin-1")),
        ],
    )
    assert response.status_code == 403


def test_csrf_off() -> None:
    ajwt = make_ajwt(csrf=False)
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    login = client.post("/auth/login")
    assert "csrf_refresh_token" not in login.cookies
    assert [c for c in login.headers.get_list("set-cookie") if c.startswith("csrf_")] == []
    response = client.post("/auth/refresh")
    assert response.status_code == 200
    logout = client.post("/auth/logout")
    assert logout.status_code == 200


def test_logout_needs_csrf_too(ajwt: ApoJWT) -> None:
    refresh, csrf = tokens(ajwt)
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    forged = client.post("/auth/logout", headers={"Cookie": f"refresh_token={refresh}; csrf_refresh_token={csrf}"})
    assert forged.status_code == 403
    # the forged logout did nothing: the session still refreshes
    assert post(client, cookie=f"refresh_token={refresh}; csrf_refresh_token={csrf}", header=csrf)[0] == 200


def test_csrf_key_differs_per_purpose_and_secret(ajwt: ApoJWT) -> None:
    refresh, csrf = tokens(ajwt)
    assert csrf_value(ajwt.cookies.access_key, refresh) != csrf


@pytest.mark.parametrize(
    "raw_headers",
    [
        [(b"cookie", b"refresh_token=%%%; csrf_refresh_token=\x7f"), (b"x-csrf-token", b"\x7f")],
        [(b"cookie", b"refresh_token=" + b"a" * 20000)],
        [(b"cookie", b"refresh_token=a.b.c; csrf_refresh_token=x"), (b"x-csrf-token", b"x")],
        [(b"cookie", "refresh_token=é.ü.ß".encode())],
        [(b"cookie", b'refresh_token="quoted"; refresh_token=twice')],
        [(b"cookie", b";;;=;==;refresh_token")],
        [(b"cookie", b"refresh_token=\x00\xff"), (b"x-csrf-token", b"")],
    ],
)
def test_garbage_never_500(ajwt: ApoJWT, raw_headers: list[tuple[bytes, bytes]]) -> None:
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    for path in ("/auth/refresh", "/auth/logout"):
        response = client.post(path, headers=raw_headers)
        # 400: a token cookie sent twice is an invalid_request (cookie tossing)
        assert response.status_code in (400, 401, 403), response.text

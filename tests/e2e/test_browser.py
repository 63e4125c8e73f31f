"""The example app in a real browser: Debian's Chromium, headless, against uvicorn on 127.0.0.1.

Covers the demo page (login, permissions, silent refresh through the HTTP-only
cookie and the CSRF header, logout) and the offline Swagger UI and ReDoc. Any
request that would leave 127.0.0.1 is aborted and fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, Route, expect, sync_playwright

from tests.conftest import REFRESH_SECRET, SECRET
from tests.servers import CHROMIUM, UvicornServer, require_chromium, uvicorn_server

pytestmark = pytest.mark.e2e
# Without Chromium the whole module skips, one summary line saying why (under CI=true: an error).
require_chromium()

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
ACCESS_LIFETIME = 2  # seconds: the demo page must refresh the token during the test
LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile that refuses (and records) every request leaving 127.0.0.1."""
    context = browser.new_context()
    escaped: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
            escaped.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    yield context
    context.close()
    assert escaped == [], f"requests left 127.0.0.1: {escaped}"


@pytest.fixture(scope="module")
def short_lived_server() -> Iterator[UvicornServer]:
    """The example app with access tokens that expire after two seconds."""
    with uvicorn_server(
        "example_app.main:app",
        APOJWT_SECRET=SECRET,
        APOJWT_REFRESH_SECRET=REFRESH_SECRET,
        APOJWT_ACCESS_LIFETIME=str(ACCESS_LIFETIME),
    ) as server:
        yield server


def _log_entries(page: Page, method: str, path: str, status: int) -> int:
    return page.locator(f"#log li[data-method='{method}'][data-path='{path}'][data-status='{status}']").count()


def _expect_log(page: Page, method: str, path: str, status: int, count: int = 1) -> None:
    entries = page.locator(f"#log li[data-method='{method}'][data-path='{path}'][data-status='{status}']")
    expect(entries).to_have_count(count)


def test_demo_page_login_refresh_logout(context: BrowserContext, short_lived_server: UvicornServer) -> None:
    page = context.new_page()
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    page.goto(short_lived_server.url + "/")
    expect(page.locator("#login-view")).to_be_visible()

    # Log in as alice: who she is and what she may do.
    page.click("button.user[data-user='alice']")
    expect(page.locator("#who")).to_have_text("alice")
    expect(page.locator("#permissions .chip")).to_have_text(["orders:read"])
    expect(page.locator("#admin-badge")).to_be_hidden()

    # The refresh token is in an HTTP-only cookie; the CSRF value is readable by the page.
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["refresh_token"]["httpOnly"] is True
    assert cookies["csrf_refresh_token"]["httpOnly"] is False
    assert "refresh_token=" not in page.evaluate("document.cookie").replace("csrf_refresh_token=", "")

    # Protected calls: orders:read is enough for /orders, not for /admin.
    page.click("button.call[data-method='GET'][data-path='/orders']")
    _expect_log(page, "GET", "/orders", 200)
    page.click("button.call[data-method='GET'][data-path='/admin']")
    _expect_log(page, "GET", "/admin", 403)
    first_token = page.evaluate("() => JSON.parse(document.getElementById('claims').textContent).jti")

    # The access token expires; the page gets a new one with the refresh cookie + CSRF header.
    with page.expect_response(
        lambda r: r.url.endswith("/auth/refresh") and r.request.method == "POST", timeout=15_000
    ) as refreshed:
        pass
    response = refreshed.value
    assert response.status == 200
    csrf = {c["name"]: c["value"] for c in context.cookies()}.get("csrf_refresh_token")
    assert csrf
    assert response.request.headers.get("x-csrf-token")
    expect(page.locator("#refresh-count")).not_to_have_text("0")
    expect(page.locator("#token-state")).to_have_text("valid")
    assert page.evaluate("() => JSON.parse(document.getElementById('claims').textContent).jti") != first_token

    # A call after the refresh succeeds with the new token.
    page.click("button.call[data-method='GET'][data-path='/orders']")
    _expect_log(page, "GET", "/orders", 200, count=2)
    order_calls = [r for r in sent if r.url.endswith("/orders") and r.method == "GET"]
    assert len({r.headers["authorization"] for r in order_calls}) >= 2

    # The access token never touches web storage.
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0

    # Log out: the refresh family is revoked and the cookies are gone; a reload stays logged out.
    with page.expect_response(lambda r: r.url.endswith("/auth/logout")) as logged_out:
        page.click("#logout-button")
    assert logged_out.value.ok
    expect(page.locator("#login-view")).to_be_visible()
    assert "refresh_token" not in {c["name"] for c in context.cookies()}
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#session-view")).to_be_hidden()


def test_demo_page_admin_and_bad_password(context: BrowserContext, example_server: UvicornServer) -> None:
    page = context.new_page()
    page.goto(example_server.url + "/")
    page.fill("#username", "alice")
    page.fill("#password", "wrong")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_be_visible()
    _expect_log(page, "POST", "/auth/login", 401)

    page.click("button.user[data-user='root']")
    expect(page.locator("#who")).to_have_text("root")
    expect(page.locator("#admin-badge")).to_be_visible()
    page.click("button.call[data-method='GET'][data-path='/admin']")
    _expect_log(page, "GET", "/admin", 200)
    page.click("button.call[data-method='POST'][data-path='/orders']")
    _expect_log(page, "POST", "/orders", 201)


def _execute(page: Page, operation: str) -> str:
    """Run "Try it out" on a Swagger UI operation and return the status it shows."""
    block = page.locator(f"#{operation}")
    if not block.locator(".opblock-body").is_visible():
        block.locator(".opblock-summary").first.click()
    try_out = block.locator("button.try-out__btn")
    if try_out.inner_text().strip() == "Try it out":
        try_out.click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text(re.compile(r"^\s*\d{3}"))
    text = status.inner_text().strip()[:3]
    block.locator("button.btn-clear").click()
    return text


def test_swagger_ui_offline_authorize_and_call(context: BrowserContext, example_server: UvicornServer) -> None:
    token = httpx.post(
        example_server.url + "/auth/login", json={"username": "alice", "password": "alice-password"}
    ).json()["access_token"]
    page = context.new_page()
    page.goto(example_server.url + "/docs")
    operation = "operations-orders-list_orders_orders_get"
    expect(page.locator(f"#{operation}")).to_be_visible()

    # Without authorizing, the protected route answers 401.
    assert _execute(page, operation) == "401"

    # Authorize with a bearer token, then the same call answers 200.
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux")
    bearer = dialog.locator(".auth-container").filter(has_text="BearerAuth")
    bearer.locator("input").fill(token)
    bearer.locator("button.authorize").click()
    expect(bearer.get_by_text("Authorized", exact=True)).to_be_visible()
    dialog.locator("button.btn-done").first.click()
    assert _execute(page, operation) == "200"

    # The admin route answers 403 to alice.
    assert _execute(page, "operations-admin-admin_admin_get") == "403"


def test_redoc_offline(context: BrowserContext, example_server: UvicornServer) -> None:
    page = context.new_page()
    page.goto(example_server.url + "/redoc")
    expect(page.locator("h1").first).to_contain_text("fastapi-apojwt example")
    expect(page.get_by_text("/orders").first).to_be_attached()


def test_swagger_ui_password_login(context: BrowserContext, example_server: UvicornServer) -> None:
    """The Authorize dialog logs in with a username and password through /auth/token."""
    page = context.new_page()
    page.goto(example_server.url + "/docs")
    operation = "operations-orders-list_orders_orders_get"
    expect(page.locator(f"#{operation}")).to_be_visible()

    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux")
    password_flow = dialog.locator(".auth-container").filter(has_text="OAuth2Password")
    password_flow.locator("#oauth_username").fill("bob")
    password_flow.locator("#oauth_password").fill("bob-password")
    with page.expect_response(lambda r: r.url.endswith("/auth/token")) as login:
        password_flow.locator("button.authorize").click()
    assert login.value.status == 200
    expect(password_flow.get_by_text("Authorized", exact=True)).to_be_visible()
    dialog.locator("button.btn-done").first.click()

    assert _execute(page, operation) == "200"
    assert _execute(page, "operations-admin-admin_admin_get") == "403"


def test_swagger_authorize_logs_in_with_a_password(context: BrowserContext, example_server: UvicornServer) -> None:
    """Swagger UI's "Authorize" dialog logs in through /auth/token, then calls carry the bearer token."""
    page = context.new_page()
    page.goto(example_server.url + "/docs")
    operation = page.locator("#operations-orders-list_orders_orders_get")
    expect(operation).to_be_visible()
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux")
    login_box = dialog.locator(".auth-container").filter(has_text="OAuth2Password")
    login_box.locator("input#oauth_username").fill("alice")
    login_box.locator("input#oauth_password").fill("alice-password")
    login_box.locator("button.authorize").click()
    expect(login_box.locator("button.authorize")).to_have_text(re.compile("Logout"))
    dialog.locator("button.close-modal").first.click()
    operation.locator(".opblock-summary").first.click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text(re.compile(r"^\s*200"))

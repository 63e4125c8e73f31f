"""Helpers for your own test suite: real tokens in one call, no login round trip.

The tokens are minted by your own ``ApoJWT`` instance, so they go through the
very checks production requests go through (signature, issuer, audience,
expiry, permissions); nothing is mocked.

Example:
    ```python
    from fastapi.testclient import TestClient
    from fastapi_apojwt.testing import authenticate

    client = TestClient(app)
    authenticate(client, ajwt, sub="alice", permissions=["orders:read"])
    assert client.get("/orders").status_code == 200
    ```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .context import TokenContext

if TYPE_CHECKING:
    from .core import ApoJWT

__all__ = [
    "auth_headers",
    "authenticate",
    "create_test_context",
    "create_test_token",
    "create_test_tokens",
    "unauthenticate",
]


def create_test_tokens(
    ajwt: ApoJWT,
    sub: str = "test-user",
    permissions: Iterable[str] = (),
    data: Mapping[str, Any] | BaseModel | None = None,
    refresh_data: Mapping[str, Any] | None = None,
    *,
    fresh: bool = True,
) -> tuple[str, str | None]:
    """Mint ``(access, refresh)``; ``refresh`` is ``None`` unless refresh tokens are configured.

    Example:
        ```python
        access, refresh = create_test_tokens(ajwt, sub="alice", permissions=["orders:read"])
        ```
    """
    minted = ajwt.create_token(
        sub=sub, permissions=list(permissions), data=data, refresh_data=refresh_data, fresh=fresh
    )
    if isinstance(minted, tuple):
        return str(minted[0]), str(minted[1])
    return str(minted), None


def create_test_token(
    ajwt: ApoJWT,
    sub: str = "test-user",
    permissions: Iterable[str] = (),
    data: Mapping[str, Any] | BaseModel | None = None,
    *,
    fresh: bool = True,
) -> str:
    """Mint an access token with the given subject, permissions and data, in one call.

    Always returns the access token alone, even when refresh tokens are configured.

    Example:
        ```python
        token = create_test_token(ajwt, sub="alice", permissions=["orders:read"])
        ```
    """
    return create_test_tokens(ajwt, sub, permissions, data, fresh=fresh)[0]


def auth_headers(
    ajwt: ApoJWT,
    sub: str = "test-user",
    permissions: Iterable[str] = (),
    data: Mapping[str, Any] | BaseModel | None = None,
    *,
    fresh: bool = True,
) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}`` for a freshly minted access token.

    Example:
        ```python
        client.get("/orders", headers=auth_headers(ajwt, permissions=["orders:read"]))
        ```
    """
    return {"Authorization": "Bearer " + create_test_token(ajwt, sub, permissions, data, fresh=fresh)}


def create_test_context(
    ajwt: ApoJWT,
    sub: str = "test-user",
    permissions: Iterable[str] = (),
    data: Mapping[str, Any] | BaseModel | None = None,
    *,
    fresh: bool = True,
) -> TokenContext[Any]:
    """A real ``TokenContext`` (of a freshly minted, verified token), for ``app.dependency_overrides``.

    Example:
        ```python
        ctx = create_test_context(ajwt, sub="alice", permissions=["orders:read"])
        app.dependency_overrides[ajwt.permission("orders:read")] = lambda: ctx
        ```
    """
    return ajwt.decode(create_test_token(ajwt, sub, permissions, data, fresh=fresh))


def _uses_cookies(ajwt: ApoJWT) -> bool:
    """Whether the instance reads access tokens from cookies only (no bearer header)."""
    location: Any = ajwt.token_location
    locations = (location,) if isinstance(location, str) else tuple(location)
    return "headers" not in locations


def _set_header(client: Any, value: str | None, name: str = "Authorization") -> None:
    headers = getattr(client, "headers", None)
    if headers is not None and hasattr(headers, "__setitem__"):
        # Starlette's TestClient, httpx.Client / AsyncClient
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
        return
    environ = getattr(client, "environ_base", None)
    if isinstance(environ, dict):
        # Flask's test client
        key = "HTTP_" + name.upper().replace("-", "_")
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
        return
    raise TypeError(f"authenticate() supports Starlette, httpx and Flask test clients, not {type(client).__name__}.")


def _set_cookie(client: Any, name: str, value: str | None) -> None:
    jar = getattr(client, "cookies", None)
    if jar is not None and hasattr(jar, "set"):  # Starlette's TestClient, httpx clients
        if value is None:
            jar.delete(name)
        else:
            jar.set(name, value)
        return
    if hasattr(client, "set_cookie"):  # Flask's test client
        if value is None:
            client.delete_cookie(name)
        else:
            client.set_cookie(name, value)
        return
    raise TypeError(f"authenticate() supports Starlette, httpx and Flask test clients, not {type(client).__name__}.")


def authenticate(
    client: Any,
    ajwt: ApoJWT,
    sub: str = "test-user",
    permissions: Iterable[str] = (),
    data: Mapping[str, Any] | BaseModel | None = None,
    *,
    fresh: bool = True,
) -> str:
    """Make every later request of ``client`` carry a fresh access token; returns the token.

    Works with Starlette's/FastAPI's ``TestClient``, ``httpx.Client``/``AsyncClient``
    and Flask's test client. With ``ApoJWT(token_location="cookies")`` the token is
    put in the access cookie, with its CSRF cookie and ``X-CSRF-Token`` header, so
    unsafe methods pass the double submit too. Call :func:`unauthenticate` (or
    ``authenticate`` again as someone else) to change identity.

    Example:
        ```python
        client = TestClient(app)
        authenticate(client, ajwt, sub="bob", permissions=["orders:read", "orders:write"])
        client.post("/orders", json={"item": "tea"})
        ```
    """
    token = create_test_token(ajwt, sub, permissions, data, fresh=fresh)
    if _uses_cookies(ajwt):
        settings = ajwt.cookies.access
        _set_cookie(client, settings.cookie_name, token)
        if settings.csrf:
            csrf = ajwt.csrf_token(token)
            _set_cookie(client, settings.csrf_cookie_name, csrf)
            _set_header(client, csrf, settings.csrf_header_name)
        return token
    _set_header(client, "Bearer " + token)
    return token


def unauthenticate(client: Any, ajwt: ApoJWT | None = None) -> None:
    """Remove what :func:`authenticate` set on ``client`` (pass ``ajwt`` for a cookie-based instance)."""
    _set_header(client, None)
    if ajwt is not None and _uses_cookies(ajwt):
        settings = ajwt.cookies.access
        _set_cookie(client, settings.cookie_name, None)
        _set_cookie(client, settings.csrf_cookie_name, None)
        _set_header(client, None, settings.csrf_header_name)

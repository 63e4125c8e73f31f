"""OAuth2 token endpoints: the RFC 6749 §5.1 success response and the §5.2 error response.

A login route that OAuth2 clients (Swagger UI's "Authorize" dialog, authlib,
``requests-oauthlib``, mobile SDKs...) talk to must answer in the shape RFC 6749
defines, or the clients misread it: a ``{"detail": ...}`` error body with a 401
is stored by some clients as if it were a token. This module gives the two
halves of that shape:

- [`token_response`][fastapi_apojwt.oauth2.token_response] builds the §5.1
  success response (``token_type: "bearer"``, ``Cache-Control: no-store``);
- raising [`OAuth2Error`][fastapi_apojwt.oauth2.OAuth2Error] from the route gives
  the §5.2 error response, once
  [`oauth2_error_handler`][fastapi_apojwt.oauth2.oauth2_error_handler] is
  registered for it.

Example:
    ```python
    from fastapi_apojwt.oauth2 import OAuth2Error, oauth2_error_handler, token_response

    app = FastAPI()
    app.add_exception_handler(OAuth2Error, oauth2_error_handler)

    @app.post("/token")
    async def token(  # optional fields: a missing one is an OAuth2 error, not FastAPI's 422
        grant_type: Annotated[str | None, Form()] = None,
        username: Annotated[str | None, Form()] = None,
        password: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        if grant_type != "password":
            raise OAuth2Error("unsupported_grant_type", "Only the password grant is supported.")
        if username is None or password is None or not check_password(username, password):
            raise OAuth2Error("invalid_grant", "Incorrect username or password.")
        access = ajwt.create_token(sub=username)
        return token_response(access, expires_in=int(ajwt.exp_period))
    ```
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from typing import Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["OAuth2Error", "oauth2_error_handler", "token_response"]

#: The error codes of RFC 6749 §5.2, the only ones a token endpoint may answer with here.
ERROR_CODES: Final[frozenset[str]] = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)

#: The realm of the ``WWW-Authenticate`` challenge sent with ``invalid_client``.
CLIENT_REALM: Final = "oauth2"

# RFC 6749 §5.1 and §5.2: responses carrying tokens or credentials errors must not be cached.
_NO_STORE: Final[dict[str, str]] = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# RFC 6749 Appendix A: error-description and error-uri characters, VSCHAR (tokens), NQCHAR (scope-token).
_DESCRIPTION: Final = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
_URI: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_VSCHAR: Final = re.compile(r"[\x20-\x7e]+")
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# RFC 9110 §5.6.2 token: what an authentication scheme name is made of.
_AUTH_SCHEME: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")


def _describe(value: object) -> str:
    return type(value).__name__


def _check_token(name: str, value: object) -> str:
    """An access or refresh token: a non-empty string of visible ASCII (RFC 6749 A.12, A.17)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {_describe(value)}.")
    if not _VSCHAR.fullmatch(value):
        raise ValueError(f"{name} must be a non-empty string of printable ASCII characters (RFC 6749 A.12).")
    return value


def _scope_string(scope: str | Iterable[str]) -> str:
    """The ``scope`` value of a token response: scope tokens joined by single spaces (RFC 6749 §3.3)."""
    if isinstance(scope, str):
        tokens = scope.split(" ")
    elif isinstance(scope, (bytes, bytearray, memoryview)) or not isinstance(scope, Iterable):
        raise TypeError(f"scope must be a str or an iterable of str, got {_describe(scope)}.")
    else:
        items = list(scope)
        for item in items:
            if not isinstance(item, str):
                raise TypeError(f"every scope must be a str, got {_describe(item)}.")
        # A set has no order of its own: sort it, so the response does not change from run to run.
        tokens = sorted(items) if isinstance(scope, Set) else list(dict.fromkeys(items))
    if not tokens or tokens == [""]:
        raise ValueError("scope must hold at least one scope token; pass scope=None to leave it out.")
    for token in tokens:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise ValueError(
                f"Invalid scope token {token!r}: scope tokens are non-empty and made of printable ASCII "
                "without spaces, double quotes or backslashes (RFC 6749 §3.3); separate them by single spaces."
            )
    return " ".join(tokens)


def token_response(
    access_token: str,
    *,
    expires_in: int,
    refresh_token: str | None = None,
    scope: str | Iterable[str] | None = None,
) -> JSONResponse:
    """The successful response of a token endpoint (RFC 6749 §5.1).

    The body is ``{"access_token", "token_type": "bearer", "expires_in"}``, with
    ``refresh_token`` and ``scope`` when given; the headers
    ``Cache-Control: no-store`` and ``Pragma: no-cache`` keep it out of caches.
    Cookies can still be set on the returned response.

    Args:
        access_token: The access token issued.
        expires_in: Its lifetime in seconds (a non-negative ``int``), e.g.
            ``int(ajwt.exp_period)``.
        refresh_token: A refresh token to hand to the client in the body, if any.
            Leave it out when the refresh token travels in an HTTP-only cookie.
        scope: The scope granted, as a space-separated string or an iterable of
            scope tokens (joined by spaces; a set is sorted, duplicates are
            dropped). RFC 6749 requires it when it differs from what the client
            asked for.

    Returns:
        A ``JSONResponse`` with status 200.

    Raises:
        TypeError: An argument has the wrong type (``expires_in`` a float or a
            bool, a scope that is not a string...).
        ValueError: A value the RFC does not allow: an empty token, a negative
            ``expires_in``, a scope token with a space, a quote or a non-ASCII
            character, an empty scope.

    Example:
        ```python
        access, refresh = ajwt.create_token(sub="alice", permissions=["orders:read"])
        response = token_response(access, expires_in=int(ajwt.exp_period), scope=["orders:read"])
        ajwt.set_refresh_cookies(response, refresh)
        return response
        ```
    """
    body: dict[str, str | int] = {
        "access_token": _check_token("access_token", access_token),
        "token_type": "bearer",
    }
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise TypeError(f"expires_in must be an int (seconds), e.g. int(ajwt.exp_period); got {_describe(expires_in)}.")
    if expires_in < 0:
        raise ValueError(f"expires_in must not be negative, got {expires_in}.")
    body["expires_in"] = expires_in
    if refresh_token is not None:
        body["refresh_token"] = _check_token("refresh_token", refresh_token)
    if scope is not None:
        body["scope"] = _scope_string(scope)
    return JSONResponse(body, headers=dict(_NO_STORE))


class OAuth2Error(HTTPException):
    """An error of a token endpoint, answered as RFC 6749 §5.2 says.

    Raise it from the route; with
    [`oauth2_error_handler`][fastapi_apojwt.oauth2.oauth2_error_handler]
    registered, the client gets ``{"error", "error_description", "error_uri"}``
    (the last two when given) with ``Cache-Control: no-store``.

    The status is 400, except for ``invalid_client``: 401 with a
    ``WWW-Authenticate`` challenge. RFC 6749 lets a server answer
    ``invalid_client`` with 401 and requires the challenge to match the scheme
    the client authenticated with; the handler answers with the scheme of the
    request's ``Authorization`` header, and ``Basic`` (the client
    authentication every token endpoint supports, RFC 6749 §2.3.1) when it
    sent none: ``WWW-Authenticate: Basic realm="oauth2"``. Pass
    ``status_code=400`` to answer a client that authenticated in the request
    body without the challenge (a browser shows a login dialog for a ``Basic``
    challenge).

    The class derives from Starlette's ``HTTPException``: in an app where the
    handler is not registered, FastAPI still answers with the right status and
    headers, as ``{"detail": description}``.

    Args:
        error: One of the RFC 6749 §5.2 codes: ``invalid_request``,
            ``invalid_client``, ``invalid_grant``, ``unauthorized_client``,
            ``unsupported_grant_type``, ``invalid_scope``.
        description: A human-readable explanation for the client developer:
            printable ASCII without double quotes or backslashes (RFC 6749 §5.2).
        uri: A URI of a page explaining the error: printable ASCII without
            spaces, double quotes or backslashes.
        status_code: The HTTP status, a 4xx; by default 400, or 401 for
            ``invalid_client``. Any 401 carries the challenge.

    Attributes:
        error: The error code.
        description: The description, or ``None``.
        uri: The error URI, or ``None``.
        status_code: The HTTP status.
        headers: The response headers (``Cache-Control``, ``Pragma`` and, on a
            401, ``WWW-Authenticate``).

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: An unknown error code, a character the RFC does not allow
            in ``description`` or ``uri``, a status that is not a 4xx.

    Example:
        ```python
        if grant_type != "password":
            raise OAuth2Error("unsupported_grant_type", "Only the password grant is supported.")
        if user is None:
            raise OAuth2Error("invalid_grant", "Incorrect username or password.")
        ```
    """

    def __init__(
        self,
        error: str,
        description: str | None = None,
        *,
        uri: str | None = None,
        status_code: int | None = None,
    ) -> None:
        if not isinstance(error, str):
            raise TypeError(f"error must be a str, got {_describe(error)}.")
        if error not in ERROR_CODES:
            raise ValueError(
                f"{error!r} is not an RFC 6749 §5.2 error code; use one of {', '.join(sorted(ERROR_CODES))}."
            )
        if description is not None:
            if not isinstance(description, str):
                raise TypeError(f"description must be a str or None, got {_describe(description)}.")
            if not _DESCRIPTION.fullmatch(description):
                raise ValueError(
                    "description must be non-empty printable ASCII without double quotes or backslashes "
                    "(RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E)."
                )
        if uri is not None:
            if not isinstance(uri, str):
                raise TypeError(f"uri must be a str or None, got {_describe(uri)}.")
            if not _URI.fullmatch(uri):
                raise ValueError(
                    "uri must be a non-empty URI of printable ASCII without spaces, double quotes or backslashes "
                    "(RFC 6749 §5.2: %x21 / %x23-5B / %x5D-7E)."
                )
        if status_code is None:
            status_code = 401 if error == "invalid_client" else 400
        elif isinstance(status_code, bool) or not isinstance(status_code, int):
            raise TypeError(f"status_code must be an int or None, got {_describe(status_code)}.")
        elif not 400 <= status_code <= 499:
            raise ValueError(f"status_code must be a 4xx client error status, got {status_code}.")
        self.error = error
        self.description = description
        self.uri = uri
        super().__init__(
            status_code=status_code, detail=description or error, headers=_error_headers(status_code, None)
        )

    def __str__(self) -> str:
        return (
            f"{self.status_code} {self.error}: {self.description}"
            if self.description
            else f"{self.status_code} {self.error}"
        )

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.error!r}, {self.description!r}, uri={self.uri!r}, status_code={self.status_code})"


def _error_headers(status_code: int, request: Request | None) -> dict[str, str]:
    headers = dict(_NO_STORE)
    if status_code == 401:  # RFC 9110 §15.5.2: a 401 always carries a challenge
        headers["WWW-Authenticate"] = f'{_client_scheme(request)} realm="{CLIENT_REALM}"'
    return headers


def _client_scheme(request: Request | None) -> str:
    """The authentication scheme the client used in ``Authorization``, or ``Basic`` when it used none."""
    if request is not None:
        scheme = request.headers.get("authorization", "").strip().split(" ", 1)[0]
        if _AUTH_SCHEME.fullmatch(scheme):
            return "Basic" if scheme.lower() == "basic" else scheme
    return "Basic"


async def oauth2_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Render an [`OAuth2Error`][fastapi_apojwt.oauth2.OAuth2Error] as RFC 6749 §5.2 says.

    The body is ``{"error": ..., "error_description": ..., "error_uri": ...}``
    (the last two only when the error has them), with ``Cache-Control: no-store``,
    ``Pragma: no-cache`` and, on a 401, the ``WWW-Authenticate`` challenge in the
    scheme the client authenticated with (``Basic`` when it sent no
    ``Authorization`` header).

    Args:
        request: The request that failed.
        exc: The ``OAuth2Error`` raised by the route.

    Returns:
        The error response.

    Raises:
        TypeError: The handler was registered for something other than ``OAuth2Error``.

    Example:
        ```python
        app = FastAPI()
        app.add_exception_handler(OAuth2Error, oauth2_error_handler)
        ```
    """
    if not isinstance(exc, OAuth2Error):
        raise TypeError(f"oauth2_error_handler handles OAuth2Error only, got {_describe(exc)}.")
    body = {"error": exc.error}
    if exc.description is not None:
        body["error_description"] = exc.description
    if exc.uri is not None:
        body["error_uri"] = exc.uri
    return JSONResponse(body, status_code=exc.status_code, headers=_error_headers(exc.status_code, request))

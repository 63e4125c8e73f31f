"""The exception tree of fastapi-apojwt.

Every error knows the HTTP status it maps to and, for authentication
failures, the RFC 6750 ``WWW-Authenticate`` challenge that goes with it::

    ApoJWTError (Exception)
    ├── ConfigurationError            500  raised at start-up, never per request
    ├── SigningUnavailableError       500  create_token() on a verify-only instance
    ├── MissingTokenError             401  Bearer (no error code, RFC 6750 §3.1)
    ├── InvalidRequestError           400  error="invalid_request"
    ├── InvalidTokenError             401  error="invalid_token"
    │   ├── MalformedTokenError
    │   ├── TokenTooLargeError
    │   ├── InvalidAlgorithmError
    │   ├── InvalidSignatureError
    │   ├── ExpiredTokenError
    │   ├── ImmatureTokenError
    │   ├── InvalidIssuerError
    │   ├── InvalidAudienceError
    │   ├── InvalidClaimError
    │   ├── WrongTokenTypeError
    │   ├── RevokedTokenError
    │   ├── TokenReuseError
    │   ├── FreshTokenRequiredError
    │   └── UnknownKeyError
    ├── CSRFError                     403  the double-submit check failed
    ├── InsufficientPermissionError   403  error="insufficient_scope"
    └── ServiceUnavailableError       503  a store or key source is unreachable

How an error becomes an HTTP response: this module imports no web framework
(the token layer below the guards raises these errors too). Each error carries
its ``status_code``, its fixed ``detail`` and, for authentication failures, the
``headers`` of its RFC 6750 challenge, as plain data. Where an error leaves the
package towards FastAPI (a guard, or an ``ApoJWT`` method called in a route),
``fastapi_apojwt._http`` raises it as a subclass of both its own class and
Starlette's ``HTTPException``, so FastAPI renders ``{"detail": "..."}`` with its
headers and no set-up, while ``except InvalidTokenError`` and
``app.exception_handler(ApoJWTError)`` still match. The Flask template reads the
same three attributes. Messages are fixed strings: they never contain the token
or anything read from it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ApoJWTError",
    "CSRFError",
    "ConfigurationError",
    "ExpiredTokenError",
    "FreshTokenRequiredError",
    "ImmatureTokenError",
    "InsufficientPermissionError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "MalformedTokenError",
    "MissingTokenError",
    "RevokedTokenError",
    "ServiceUnavailableError",
    "SigningUnavailableError",
    "TokenReuseError",
    "TokenTooLargeError",
    "UnknownKeyError",
    "WrongTokenTypeError",
]


class ApoJWTError(Exception):
    """Base class of every error raised by fastapi-apojwt.

    Attributes:
        status_code: The HTTP status this error maps to.
        detail: A fixed, human-readable message, safe to show to clients.
        error: The RFC 6750 error code (``invalid_token``...), or ``None``.

    Example:
        ```python
        try:
            ctx = ajwt.decode(token)
        except ApoJWTError as exc:
            print(exc.status_code, exc.detail)
        ```
    """

    status_code_default: int = 500
    status_code: int
    headers: dict[str, str] | None
    error: str | None = None
    message: str = "Authentication failed."

    def __init__(self, detail: str | None = None, *, scope: Iterable[str] = ()) -> None:
        """Build the error; ``detail`` replaces the class's default message."""
        self.scope = tuple(scope)
        self.detail = detail or self.message
        self.status_code = self.status_code_default
        self.headers = self._challenge()
        super().__init__(self.detail)

    def _challenge(self) -> dict[str, str] | None:
        return None

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, detail={self.detail!r})"


class ConfigurationError(ApoJWTError, ValueError):
    """The ApoJWT configuration is unusable; raised at construction time.

    Its ``str()`` is the message alone: it is read in a start-up traceback, not sent to a client.
    """

    message = "fastapi-apojwt is misconfigured."

    def __str__(self) -> str:
        return str(self.detail)


class SigningUnavailableError(ApoJWTError):
    """This ApoJWT instance holds no private key, so it cannot mint tokens."""

    message = "This ApoJWT instance can only verify tokens: it holds no signing key."


class _BearerError(ApoJWTError):
    """An error answered with a ``WWW-Authenticate: Bearer`` challenge."""

    def _challenge(self) -> dict[str, str] | None:
        if self.error is None:
            return {"WWW-Authenticate": "Bearer"}
        parts = [f'error="{self.error}"', f'error_description="{_quote_safe(self.detail)}"']
        if self.scope:
            parts.append(f'scope="{" ".join(self.scope)}"')
        return {"WWW-Authenticate": "Bearer " + ", ".join(parts)}


def _quote_safe(text: object) -> str:
    """Keep a message valid inside an RFC 6750 quoted string."""
    return "".join(ch for ch in str(text) if 0x20 <= ord(ch) < 0x7F and ch not in '"\\')


class MissingTokenError(_BearerError):
    """The request carried no token at all (RFC 6750 §3.1: no error code)."""

    status_code_default = 401
    message = "Not authenticated: send an access token as 'Authorization: Bearer <token>'."


class InvalidRequestError(_BearerError):
    """The request itself is malformed, e.g. several Authorization headers."""

    status_code_default = 400
    error = "invalid_request"
    message = "The request is malformed."


class InvalidTokenError(_BearerError):
    """The token was presented but cannot be accepted."""

    status_code_default = 401
    error = "invalid_token"
    message = "The token is invalid."


class MalformedTokenError(InvalidTokenError):
    """The token is not a well-formed compact JWS."""

    message = "The token is malformed: expected a signed JWT (header.payload.signature)."


class TokenTooLargeError(InvalidTokenError):
    """The token exceeds the configured maximum size."""

    message = "The token is too large."


class InvalidAlgorithmError(InvalidTokenError):
    """The token's ``alg`` is not the one this server accepts."""

    message = "The token is signed with an algorithm this server does not accept."


class InvalidSignatureError(InvalidTokenError):
    """The signature does not verify with any configured key."""

    message = "The token signature is invalid."


class ExpiredTokenError(InvalidTokenError):
    """The token's ``exp`` is in the past."""

    message = "The token has expired."


class ImmatureTokenError(InvalidTokenError):
    """The token's ``nbf`` or ``iat`` is in the future."""

    message = "The token is not valid yet."


class InvalidIssuerError(InvalidTokenError):
    """The token's ``iss`` is not the configured issuer."""

    message = "The token was issued by an unexpected issuer."


class InvalidAudienceError(InvalidTokenError):
    """The token's ``aud`` does not name this server."""

    message = "The token is not intended for this audience."


class InvalidClaimError(InvalidTokenError):
    """A claim is missing or has the wrong JSON type."""

    message = "The token has a missing or invalid claim."


class WrongTokenTypeError(InvalidTokenError):
    """An access token was sent where a refresh token is expected, or the reverse."""

    message = "Wrong token type for this endpoint."


class RevokedTokenError(InvalidTokenError):
    """The token, its family or its subject has been revoked."""

    message = "The token has been revoked."


class TokenReuseError(InvalidTokenError):
    """A refresh token was used twice; its whole family is now revoked."""

    message = "The refresh token was already used; its session has been revoked."


class FreshTokenRequiredError(InvalidTokenError):
    """The route needs a fresh token (one minted at login, not by a refresh)."""

    message = "This action needs a fresh token: log in again."


class UnknownKeyError(InvalidTokenError):
    """The token names a key (``kid``) this server does not know."""

    message = "The token was signed with an unknown key."


class CSRFError(ApoJWTError):
    """The CSRF double-submit check failed."""

    status_code_default = 403
    message = "CSRF check failed: send the csrf_refresh_token cookie value in X-CSRF-Token."


class InsufficientPermissionError(_BearerError):
    """The token is valid but lacks a required permission."""

    status_code_default = 403
    error = "insufficient_scope"
    message = "The token does not have the permission required for this action."


class ServiceUnavailableError(ApoJWTError):
    """A token store or key source is unreachable; the request fails closed."""

    status_code_default = 503
    message = "Authentication is temporarily unavailable; try again shortly."

    def _challenge(self) -> dict[str, str] | None:
        return {"Retry-After": "1"}

"""JWT authentication and permission checks for FastAPI, dependency-injection first.

Example:
    ```python
    from typing import Annotated
    from fastapi import Depends, FastAPI
    from fastapi_apojwt import ApoJWT, TokenContext

    ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="auth.example.com")
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]):
        return {"sub": ctx.sub, "permissions": ctx.permissions}
    ```
"""

from .context import RefreshContext, TokenContext
from .cookies import CookieSettings
from .core import ApoJWT
from .errors import (
    ApoJWTError,
    ConfigurationError,
    CSRFError,
    ExpiredTokenError,
    FreshTokenRequiredError,
    ImmatureTokenError,
    InsufficientPermissionError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidRequestError,
    InvalidSignatureError,
    InvalidTokenError,
    MalformedTokenError,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    SigningUnavailableError,
    TokenReuseError,
    TokenTooLargeError,
    UnknownKeyError,
    WrongTokenTypeError,
)
from .events import AuthEvent
from .guards import AccessGuard, Guard, RefreshGuard
from .jwks import JWKSOptions, RemoteJWKS
from .keys import WeakSecretWarning
from .refresh import ImplicitRefreshMiddleware
from .session_index import SessionInfo
from .stores import MemoryStore, TokenStore

__version__ = "0.1.0"

__all__ = [
    "AccessGuard",
    "ApoJWT",
    "ApoJWTError",
    "AuthEvent",
    "CSRFError",
    "ConfigurationError",
    "CookieSettings",
    "ExpiredTokenError",
    "FreshTokenRequiredError",
    "Guard",
    "ImmatureTokenError",
    "ImplicitRefreshMiddleware",
    "InsufficientPermissionError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "JWKSOptions",
    "MalformedTokenError",
    "MemoryStore",
    "MissingTokenError",
    "RefreshContext",
    "RefreshGuard",
    "RemoteJWKS",
    "RevokedTokenError",
    "ServiceUnavailableError",
    "SessionInfo",
    "SigningUnavailableError",
    "TokenContext",
    "TokenReuseError",
    "TokenStore",
    "TokenTooLargeError",
    "UnknownKeyError",
    "WeakSecretWarning",
    "WrongTokenTypeError",
    "__version__",
]

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
from .guards import AccessGuard, Guard, RefreshGuard
from .keys import WeakSecretWarning
from .jwks import JWKSOptions, RemoteJWKS
from .stores import MemoryStore, TokenStore

__version__ = "0.1.0"

__all__ = [
    "AccessGuard",
    "ApoJWT",
    "ApoJWTError",
    "CSRFError",
    "ConfigurationError",
    "ExpiredTokenError",
    "FreshTokenRequiredError",
    "Guard",
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
    "MemoryStore",
    "MissingTokenError",
    "RefreshContext",
    "JWKSOptions",
    "RefreshGuard",
    "RevokedTokenError",
    "ServiceUnavailableError",
    "SigningUnavailableError",
    "TokenContext",
    "RemoteJWKS",
    "TokenReuseError",
    "TokenStore",
    "TokenTooLargeError",
    "UnknownKeyError",
    "WeakSecretWarning",
    "WrongTokenTypeError",
    "__version__",
]

"""The applications compared: one FastAPI app per variant, each with the same single route ``/r``.

Every guarded handler returns the same constant body as the bare one, so the
difference in cost between a variant and ``bare`` is the cost of its authentication.
"""

# No `from __future__ import annotations`: FastAPI must see the local dependencies in the annotations.

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fastapi_apojwt import ApoJWT, TokenContext

SECRET = "benchmark-secret-that-is-at-least-32-bytes-long!"
ISSUER = "https://auth.bench"
AUDIENCE = "https://api.bench"
BODY = {"ok": True}


@dataclass
class Variant:
    """One contender: its ASGI app and a way to mint a token it accepts."""

    name: str
    label: str
    app: FastAPI
    mint: Callable[[], str | None]


def _pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def bare(*, sync: bool = False) -> FastAPI:
    app = FastAPI()
    if sync:

        @app.get("/r")
        def sync_route() -> dict[str, bool]:
            return BODY

    else:

        @app.get("/r")
        async def route() -> dict[str, bool]:
            return BODY

    return app


def handrolled(*, sync: bool, secret: str = SECRET) -> FastAPI:
    """The dependency from FastAPI's docs: ``HTTPBearer`` + ``jwt.decode``."""
    security = HTTPBearer()
    failure = HTTPException(
        status_code=401, detail="Could not validate credentials", headers={"WWW-Authenticate": "Bearer"}
    )

    def decode(token: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        except jwt.InvalidTokenError:
            raise failure from None
        return payload

    if sync:

        def current_user(credentials: Annotated[HTTPAuthorizationCredentials, Depends(security)]) -> dict[str, Any]:
            return decode(credentials.credentials)

    else:

        async def current_user(  # type: ignore[misc]
            credentials: Annotated[HTTPAuthorizationCredentials, Depends(security)],
        ) -> dict[str, Any]:
            return decode(credentials.credentials)

    app = FastAPI()

    @app.get("/r")
    async def route(user: Annotated[dict[str, Any], Depends(current_user)]) -> dict[str, bool]:
        return BODY

    return app


def authx_variant() -> Variant | None:
    try:
        from authx import AuthX, AuthXConfig
    except ImportError:  # pragma: no cover - authx is a dev extra
        return None
    auth = AuthX(config=AuthXConfig(JWT_SECRET_KEY=SECRET, JWT_TOKEN_LOCATION=["headers"], JWT_ALGORITHM="HS256"))
    app = FastAPI()
    auth.handle_errors(app)
    required = auth.access_token_required  # a property that builds a new closure: build it once

    @app.get("/r")
    async def route(payload: Annotated[Any, Depends(required)]) -> dict[str, bool]:
        return BODY

    return Variant("authx", "AuthX", app, lambda: auth.create_access_token(uid="alice"))


def apojwt_instance(algorithm: str = "HS256", **options: Any) -> ApoJWT:
    if algorithm == "HS256":
        secret: str = SECRET
    elif algorithm == "RS256":
        secret = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif algorithm == "ES256":
        secret = _pem(ec.generate_private_key(ec.SECP256R1()))
    else:
        secret = _pem(ed25519.Ed25519PrivateKey.generate())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ApoJWT(secret, iss=ISSUER, server_audience=[AUDIENCE], algorithm=algorithm, **options)


def apojwt_dependency(ajwt: ApoJWT, *, permission: str | None = None) -> FastAPI:
    guard = ajwt.permission(permission) if permission else ajwt.token_required
    app = FastAPI()

    @app.get("/r")
    async def route(ctx: Annotated[TokenContext, Depends(guard)]) -> dict[str, bool]:
        return BODY

    return app


def apojwt_decorator(ajwt: ApoJWT, *, sync: bool = False) -> FastAPI:
    app = FastAPI()
    if sync:

        @app.get("/r")
        @ajwt.permission_required("orders:read")
        def route(token_data: dict[str, Any], token_subject: str) -> dict[str, bool]:
            return BODY

    else:

        @app.get("/r")  # type: ignore[no-redef]
        @ajwt.permission_required("orders:read")
        async def route(token_data: dict[str, Any], token_subject: str) -> dict[str, bool]:
            return BODY

    return app


def apojwt_mint(ajwt: ApoJWT) -> Callable[[], str]:
    return lambda: str(ajwt.create_token(sub="alice", permissions=["orders:read"], data={"team": "bench", "n": 1}))


def pyjwt_mint() -> Callable[[], str]:
    """Tokens for the hand-rolled variants, the same claims as ours."""
    import secrets
    import time

    def mint() -> str:
        now = int(time.time())
        claims = {
            "sub": "alice",
            "perms": ["orders:read"],
            "data": {"team": "bench", "n": 1},
            "exp": now + 900,
            "nbf": now,
            "iat": now,
            "iss": ISSUER,
            "aud": [AUDIENCE],
            "jti": secrets.token_urlsafe(16),
            "type": "access",
            "fresh": True,
        }
        return jwt.encode(claims, SECRET, algorithm="HS256")

    return mint


def request_variants(*, asymmetric: bool = True) -> list[Variant]:
    """Every variant of the in-process request benchmark, bare first."""
    hs = apojwt_instance()
    nocache = apojwt_instance(cache_size=0) if _supports_cache_size() else None
    variants = [
        Variant("bare", "bare route (no auth)", bare(), lambda: None),
        Variant("hand_async", "hand-rolled PyJWT, async def", handrolled(sync=False), pyjwt_mint()),
        Variant("hand_sync", "hand-rolled PyJWT, def", handrolled(sync=True), pyjwt_mint()),
    ]
    ax = authx_variant()
    if ax is not None:
        variants.append(ax)
    variants += [
        Variant("apo_dep", "apojwt dependency (HS256)", apojwt_dependency(hs), apojwt_mint(hs)),
        Variant(
            "apo_perm", "apojwt permission dependency", apojwt_dependency(hs, permission="orders:read"), apojwt_mint(hs)
        ),
        Variant("apo_deco", "apojwt decorator, async handler", apojwt_decorator(hs), apojwt_mint(hs)),
        Variant("apo_deco_sync", "apojwt decorator, def handler", apojwt_decorator(hs, sync=True), apojwt_mint(hs)),
        Variant("bare_sync", "bare route, def handler (no auth)", bare(sync=True), lambda: None),
    ]
    if nocache is not None:
        variants.append(
            Variant("apo_nocache", "apojwt dependency, cache off", apojwt_dependency(nocache), apojwt_mint(nocache))
        )
    if asymmetric:
        for alg in ("RS256", "ES256", "EdDSA"):
            inst = apojwt_instance(alg)
            variants.append(
                Variant(f"apo_{alg.lower()}", f"apojwt dependency ({alg})", apojwt_dependency(inst), apojwt_mint(inst))
            )
    return variants


def _supports_cache_size() -> bool:
    import inspect

    return "cache_size" in inspect.signature(ApoJWT.__init__).parameters

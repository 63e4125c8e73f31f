"""Stand-in identity providers on 127.0.0.1: Keycloak, Auth0 and Entra ID, as their tokens really look.

Each provider signs RS256 tokens with a local RSA key, publishes the key as
that provider publishes it (Entra ID: no ``alg``, a ``kid`` equal to ``x5t``,
an ``x5c`` certificate) and serves its OpenID configuration and JWK set from a
real HTTP server (``http.server`` in a thread) on a free loopback port. The
claims and headers follow what each provider sends (the shapes are documented
next to each ``*_access_token`` function); tests change one claim at a time
with ``**overrides`` (``None`` deletes a claim).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.keypairs import private_key

TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
ENTRA_CLIENT = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
ENTRA_API = "api://orders-api"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    """A self-signed certificate for ``key`` (DER), as Entra ID publishes in ``x5c``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@dataclass
class Provider:
    """One identity provider: its key, issuer, discovery document and JWK set, served on loopback."""

    kind: str  # "keycloak" | "auth0" | "entra"
    index: int = 7
    port: int = 0
    discovery_issuer: str | None = None
    """What the discovery document says ``issuer`` is (``None``: the real issuer; set it for a mismatch)."""
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def key(self) -> rsa.RSAPrivateKey:
        key = private_key("RS256", self.index)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return {
            "keycloak": f"{self.base}/realms/shop",
            "auth0": f"{self.base}/",  # Auth0's issuer ends with a slash
            "entra": f"{self.base}/{TENANT}/v2.0",
        }[self.kind]

    @property
    def jwks_path(self) -> str:
        return {
            "keycloak": "/realms/shop/protocol/openid-connect/certs",
            "auth0": "/.well-known/jwks.json",
            "entra": f"/{TENANT}/discovery/v2.0/keys",
        }[self.kind]

    @property
    def discovery_path(self) -> str:
        return self.issuer[len(self.base) :].rstrip("/") + "/.well-known/openid-configuration"

    @property
    def x5t(self) -> str:
        return _b64(hashlib.sha1(_certificate_cache(self)).digest())  # noqa: S324 - x5t is SHA-1 by definition

    @property
    def kid(self) -> str:
        if self.kind == "entra":
            return self.x5t  # Entra ID's kid is the certificate thumbprint
        if self.kind == "auth0":
            return "mD4pDY-5i0bMvF1oq2t9Y"
        return "x7hZlHWS3bqWGpz4dxR-VXJJWG5yC6Kvop3pC1CkUwQ"

    def jwks(self) -> dict[str, Any]:
        """The JWK set, as this provider publishes it."""
        numbers = self.key.public_key().public_numbers()
        n = _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
        e = _b64(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))
        x5c = [base64.b64encode(_certificate_cache(self)).decode()]
        if self.kind == "entra":  # no "alg": the relying party must know it is RS256
            key = {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.x5t, "n": n, "e": e, "x5c": x5c,
                   "cloud_instance_name": "microsoftonline.com", "issuer": self.issuer}  # fmt: skip
        elif self.kind == "auth0":
            key = {"kty": "RSA", "use": "sig", "n": n, "e": e, "kid": self.kid, "x5t": self.x5t, "x5c": x5c,
                   "alg": "RS256"}  # fmt: skip
        else:
            key = {"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": n, "e": e, "x5c": x5c,
                   "x5t": self.x5t, "x5t#S256": _b64(hashlib.sha256(_certificate_cache(self)).digest())}  # fmt: skip
        return {"keys": [key]}

    def discovery(self) -> dict[str, Any]:
        """The OpenID configuration (the members a verifier reads, and a few around them)."""
        issuer = self.discovery_issuer if self.discovery_issuer is not None else self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": self.base + self.jwks_path,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    # -- tokens -------------------------------------------------------------------------------

    def sign(self, claims: Mapping[str, Any], *, typ: str | None = "JWT", **header: Any) -> str:
        """Sign ``claims`` (``None`` values dropped) with this provider's key and ``kid``."""
        headers: dict[str, Any] = {"kid": self.kid, **header}
        if self.kind == "entra":
            headers["x5t"] = self.x5t
        if typ is not None:
            headers["typ"] = typ
        body = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(body, self.key, algorithm="RS256", headers=headers)

    # -- the HTTP server ----------------------------------------------------------------------

    def start(self) -> Provider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests.append(self.path)
                if self.path == provider.discovery_path:
                    body = json.dumps(provider.discovery()).encode()
                elif self.path == provider.jwks_path:
                    body = json.dumps(provider.jwks()).encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


_CERTIFICATES: dict[int, bytes] = {}


def _certificate_cache(provider: Provider) -> bytes:
    if provider.index not in _CERTIFICATES:
        _CERTIFICATES[provider.index] = _certificate(provider.key)
    return _CERTIFICATES[provider.index]


@contextmanager
def serving(kind: str, **options: Any) -> Iterator[Provider]:
    """A provider serving its discovery document and keys on 127.0.0.1 for the duration of the block."""
    provider = Provider(kind, **options).start()
    try:
        yield provider
    finally:
        provider.stop()


def _times(lifetime: int = 300) -> dict[str, int]:
    now = int(time.time())
    return {"iat": now, "exp": now + lifetime}


def keycloak_access_token(provider: Provider, **overrides: Any) -> str:
    """A Keycloak (24+) access token: ``typ: Bearer`` claim, realm and client roles, ``scope``, ``azp``.

    Header ``{"alg": "RS256", "typ": "JWT", "kid": ...}``; ``aud`` lists the API (an audience
    mapper) and ``account``.
    """
    claims: dict[str, Any] = {
        **_times(),
        "auth_time": int(time.time()) - 5,
        "jti": str(uuid.uuid4()),
        "iss": provider.issuer,
        "aud": ["orders-api", "account"],
        "sub": "f1b2c3d4-1111-4a5b-8c9d-0e1f2a3b4c5d",
        "typ": "Bearer",
        "azp": "shop-frontend",
        "sid": str(uuid.uuid4()),
        "acr": "1",
        "allowed-origins": ["https://shop.example.com"],
        "realm_access": {"roles": ["default-roles-shop", "offline_access", "uma_authorization", "orders:read"]},
        "resource_access": {
            "orders-api": {"roles": ["orders:write"]},
            "account": {"roles": ["manage-account", "view-profile"]},
        },
        "scope": "openid profile email",
        "email_verified": True,
        "name": "Alice Liddell",
        "preferred_username": "alice",
        "given_name": "Alice",
        "family_name": "Liddell",
        "email": "alice@example.com",
    }
    claims.update(overrides)
    return provider.sign(claims)


def keycloak_refresh_token(provider: Provider, **overrides: Any) -> str:
    """A Keycloak refresh token's claims (``typ: Refresh``, ``aud`` the issuer), signed here with the RSA key.

    (Keycloak signs its refresh tokens with a realm HMAC key, HS512: a verifier holding
    only the public keys refuses them for their algorithm alone. Signed with the RSA key,
    the token shows that the ``typ`` claim refuses it too.)
    """
    claims: dict[str, Any] = {
        **_times(1800),
        "jti": str(uuid.uuid4()),
        "iss": provider.issuer,
        "aud": ["orders-api", provider.issuer],
        "sub": "f1b2c3d4-1111-4a5b-8c9d-0e1f2a3b4c5d",
        "typ": "Refresh",
        "azp": "shop-frontend",
        "sid": str(uuid.uuid4()),
        "scope": "openid profile email",
    }
    claims.update(overrides)
    return provider.sign(claims)


def keycloak_id_token(provider: Provider, **overrides: Any) -> str:
    """A Keycloak ID token: ``typ: ID``, ``aud`` the client, ``nonce``, ``at_hash``."""
    claims: dict[str, Any] = {
        **_times(),
        "auth_time": int(time.time()) - 5,
        "jti": str(uuid.uuid4()),
        "iss": provider.issuer,
        "aud": "orders-api",
        "sub": "f1b2c3d4-1111-4a5b-8c9d-0e1f2a3b4c5d",
        "typ": "ID",
        "azp": "orders-api",
        "nonce": "n-0S6_WzA2Mj",
        "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        "sid": str(uuid.uuid4()),
        "email_verified": True,
        "preferred_username": "alice",
    }
    claims.update(overrides)
    return provider.sign(claims)


AUTH0_API = "https://orders.example.com"


def auth0_access_token(provider: Provider, *, rfc9068: bool = True, **overrides: Any) -> str:
    """An Auth0 access token for an API with RBAC's "Add Permissions in the Access Token" on.

    ``rfc9068``: the API's "RFC 9068" token profile (header ``typ: at+jwt``, ``client_id``,
    ``jti``); otherwise the "Auth0" profile (``typ: JWT``, ``azp``). ``aud`` lists the API and
    the userinfo URL (a login with the ``openid`` scope); ``sub`` is ``auth0|...``.
    """
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": "auth0|64f1c2d3e4b5a6978899aabb",
        "aud": [AUTH0_API, provider.issuer + "userinfo"],
        **_times(86400),
        "scope": "openid profile email orders:read",
        "permissions": ["orders:read", "orders:write"],
    }
    if rfc9068:
        claims.update({"client_id": "Xb1oYr3zL0q5CwN8tPz4", "jti": uuid.uuid4().hex})
    else:
        claims["azp"] = "Xb1oYr3zL0q5CwN8tPz4"
    claims.update(overrides)
    return provider.sign(claims, typ="at+jwt" if rfc9068 else "JWT")


def auth0_machine_token(provider: Provider, **overrides: Any) -> str:
    """An Auth0 client-credentials token: ``sub`` is ``<client_id>@clients``, ``gty``, no userinfo audience."""
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": "Xb1oYr3zL0q5CwN8tPz4@clients",
        "aud": AUTH0_API,
        **_times(86400),
        "scope": "orders:read",
        "gty": "client-credentials",
        "azp": "Xb1oYr3zL0q5CwN8tPz4",
        "permissions": ["orders:read"],
    }
    claims.update(overrides)
    return provider.sign(claims)


def entra_access_token(provider: Provider, **overrides: Any) -> str:
    """An Entra ID v2.0 access token for a user (delegated ``scp``) holding an app role (``roles``).

    Header ``{"typ": "JWT", "alg": "RS256", "kid": ..., "x5t": ...}`` (kid = x5t).
    """
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": ENTRA_API,
        "iss": provider.issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3899,
        "aio": "AWQAm/8TAAAA",
        "azp": ENTRA_CLIENT,
        "azpacr": "0",
        "name": "Alice Liddell",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "preferred_username": "alice@contoso.onmicrosoft.com",
        "rh": "0.AXEAV2...",
        "roles": ["Orders.Admin"],
        "scp": "Orders.Read Orders.Write",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": TENANT,
        "uti": "AbCdEf123456",
        "ver": "2.0",
    }
    claims.update(overrides)
    return provider.sign(claims)


def entra_app_token(provider: Provider, **overrides: Any) -> str:
    """An Entra ID v2.0 app-only (client credentials) token: ``roles``, no ``scp``, ``idtyp: app``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": ENTRA_API,
        "iss": provider.issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3599,
        "aio": "E2RgYJg...",
        "azp": ENTRA_CLIENT,
        "azpacr": "1",
        "idtyp": "app",
        "oid": "3b1b7a6e-6a3e-4f3f-8f9b-2a0e7d8c9b10",
        "rh": "0.AXEAV2...",
        "roles": ["Orders.Read.All"],
        "sub": "3b1b7a6e-6a3e-4f3f-8f9b-2a0e7d8c9b10",
        "tid": TENANT,
        "uti": "XyZ987",
        "ver": "2.0",
    }
    claims.update(overrides)
    return provider.sign(claims)

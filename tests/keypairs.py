"""Key pairs for every supported algorithm, generated once per test session."""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from fastapi_apojwt.keys import PrivateKey

ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "EdDSA-448"]
"""Every asymmetric algorithm; ``EdDSA-448`` is EdDSA with an Ed448 key."""

_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def alg_of(name: str) -> str:
    """The JWS algorithm of a name from :data:`ASYMMETRIC`."""
    return "EdDSA" if name.startswith("EdDSA") else name


def private_key(name: str, index: int = 0) -> PrivateKey:
    """The ``index``-th private key for ``name`` (RS*/PS* share RSA keys)."""
    return _private_key(name, index)


@functools.cache
def _private_key(name: str, index: int) -> PrivateKey:
    if name[:2] in ("RS", "PS"):
        return _rsa(index)
    if name in _CURVES:
        return ec.generate_private_key(_CURVES[name]())
    if name == "EdDSA-448":
        return ed448.Ed448PrivateKey.generate()
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def _rsa(index: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(name: str, index: int = 0) -> str:
    return (
        private_key(name, index)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


def public_pem(name: str, index: int = 0) -> str:
    return (
        private_key(name, index)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

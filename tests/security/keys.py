"""Key pairs for the attack suite, generated once per test session."""

from __future__ import annotations

import functools
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

__all__ = ["ec_private", "ed_private", "pem_private", "pem_public", "public_jwk_json", "rsa_private"]


@functools.cache
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_private() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@functools.cache
def ed_private() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def pem_private(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_public(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_jwk_json(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> str:
    """The public JWK of ``key`` as JSON text (what a JWKS endpoint publishes)."""
    return str(get_default_algorithms()[alg].to_jwk(key.public_key()))


def public_jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> dict[str, object]:
    value: dict[str, object] = json.loads(public_jwk_json(key, alg))
    return value

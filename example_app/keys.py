"""Issuer keys of the example service: HS256 by default, or a key pair for a fleet.

``APOJWT_ALGORITHM`` picks the algorithm (``HS256`` by default, or ``RS256``,
``ES256``, ``EdDSA``...). With an asymmetric algorithm the private key is read
from the PEM file named by ``APOJWT_PRIVATE_KEY_FILE`` (make one with
``apojwt keygen ed25519 --out issuer.pem``), or generated at start when unset
(tokens then stop verifying when the process restarts). Keys retired from
signing, whose tokens must keep verifying, are PEM files listed in
``APOJWT_PREVIOUS_KEY_FILES`` (separated by ``os.pathsep``).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from fastapi_apojwt.keys import HMAC_ALGORITHMS, PrivateKey

from .settings import Settings


def is_hmac(settings: Settings) -> bool:
    return settings.algorithm in HMAC_ALGORITHMS


def _generate(algorithm: str) -> PrivateKey:
    if algorithm.startswith(("RS", "PS")):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm.startswith("ES"):
        curve = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}[algorithm]
        return ec.generate_private_key(curve())
    return ed25519.Ed25519PrivateKey.generate()


def signing_key(settings: Settings) -> str:
    """The HMAC secret, or the PEM private key the issuer signs with."""
    if is_hmac(settings):
        return settings.secret
    if settings.private_key_file:
        return Path(settings.private_key_file).read_text(encoding="utf-8")
    key = _generate(settings.algorithm)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem.decode()


def previous_keys(settings: Settings) -> list[str]:
    """PEM keys retired from signing whose tokens still verify (rotation)."""
    return [Path(path).read_text(encoding="utf-8") for path in settings.previous_key_files]


def env_float(name: str, default: float) -> float:
    """A number of seconds from the environment."""
    return float(os.environ.get(name) or default)

"""The algorithm allow-list and which key type fits which algorithm.

One table decides it for every way a key arrives (a PEM key, a key object, a
JWK with or without ``alg``): RSA keys fit RS*/PS*, EC keys the one ES* of
their curve (P-256: ES256, P-384: ES384, P-521: ES512, exactly), OKP keys
(Ed25519, Ed448) EdDSA. ``none`` is never among the algorithms.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import Algorithm, get_default_algorithms

from .errors import ConfigurationError

__all__ = [
    "ALGORITHM_OBJECTS",
    "ASYMMETRIC_ALGORITHMS",
    "EC_ALGORITHM_BY_CURVE",
    "EC_CURVES",
    "HMAC_ALGORITHMS",
    "PRIVATE_JWK_MEMBERS",
    "PRIVATE_TYPES",
    "PUBLIC_TYPES",
    "SUPPORTED_ALGORITHMS",
    "PrivateKey",
    "PublicKey",
    "algorithms_for_jwk",
    "check_algorithm",
    "check_fits",
    "jwk_kind",
    "jwk_thumbprint",
    "no_usable_key",
]

HMAC_ALGORITHMS: Mapping[str, int] = {"HS256": 32, "HS384": 48, "HS512": 64}
"""HMAC algorithms and the minimum secret length in bytes (RFC 7518 §3.2)."""

RSA_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset({*RSA_ALGORITHMS, "ES256", "ES384", "ES512", "EdDSA"})
"""Asymmetric algorithms: verify with a public key, sign with the private one."""

SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(HMAC_ALGORITHMS) | ASYMMETRIC_ALGORITHMS
"""Every algorithm ApoJWT accepts in configuration. ``none`` is never among them."""

EC_CURVES: Final[Mapping[str, type[ec.EllipticCurve]]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
EC_ALGORITHM_BY_CURVE: Final[Mapping[str, str]] = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_OKP_SIGNING_CURVES: Final = frozenset({"Ed25519", "Ed448"})
PRIVATE_JWK_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""JWK members that carry private or symmetric key material: a key holding one is never used."""

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
"""A private key object ApoJWT can sign with."""
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
"""A public key object ApoJWT can verify with."""

PRIVATE_TYPES: Final = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)
PUBLIC_TYPES: Final = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)

ALGORITHM_OBJECTS: Final[Mapping[str, Algorithm]] = {
    name: algo for name, algo in get_default_algorithms().items() if name in SUPPORTED_ALGORITHMS
}


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if it is supported, else raise ``ConfigurationError``."""
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ConfigurationError(
            f"Unsupported algorithm {algorithm!r}. Choose one of: "
            + ", ".join(sorted(SUPPORTED_ALGORITHMS))
            + " ('none' is never allowed)."
        )
    return algorithm


def check_fits(algorithm: str, key: PrivateKey | PublicKey) -> None:
    """Refuse a key that does not belong to the algorithm's family."""
    ok: bool
    if algorithm.startswith(("RS", "PS")):
        ok = isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey))
        if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) and key.key_size < 2048:
            raise ConfigurationError(
                f"The RSA key is {key.key_size} bits; {algorithm} needs at least 2048 bits. "
                "Generate a new key with `apojwt keygen rsa`."
            )
    elif algorithm.startswith("ES"):
        ok = isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(
            key.curve, EC_CURVES[algorithm]
        )
    elif algorithm == "EdDSA":
        ok = isinstance(
            key,
            (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, ed448.Ed448PrivateKey, ed448.Ed448PublicKey),
        )
    else:
        ok = False
    if not ok:
        raise ConfigurationError(
            f"The key given does not fit algorithm {algorithm!r} "
            f"(got {type(key).__name__}). Pass a key of the algorithm's family, "
            "or set algorithm= to match the key."
        )


def jwk_kind(jwk: Mapping[str, Any]) -> str | None:
    """The type of a signing JWK in this package's words (``"RSA"``, ``"EC P-256"``, ``"OKP Ed25519"``).

    ``None`` for anything else: the answer never repeats what the document says verbatim.
    """
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        return "RSA"
    if kty == "EC" and crv in EC_ALGORITHM_BY_CURVE:
        return f"EC {crv}"
    if kty == "OKP" and crv in _OKP_SIGNING_CURVES:
        return f"OKP {crv}"
    return None


def algorithms_for_jwk(jwk: Mapping[str, Any]) -> tuple[str, ...]:
    """The algorithms a JWK's type fits, whatever its ``alg`` says (``()`` for no signing key type)."""
    kind = jwk_kind(jwk)
    if kind == "RSA":
        return RSA_ALGORITHMS
    if kind is not None and kind.startswith("EC "):
        return (EC_ALGORITHM_BY_CURVE[kind[3:]],)
    if kind is not None:
        return ("EdDSA",)
    return ()


def jwk_thumbprint(public_jwk: Mapping[str, Any]) -> str:
    """Compute the RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded.

    Example:
        ```python
        kid = jwk_thumbprint({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
        ```
    """
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
        "oct": ("k", "kty"),
    }[str(public_jwk["kty"])]
    canonical = json.dumps({k: public_jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def no_usable_key(entries: Iterable[Any], algorithm: str | None) -> str:
    """Why the ``keys`` of a JWK set gave no usable key, and the ``algorithm=`` that would use them.

    Said in this package's words only (key types, counts, algorithm names): nothing of the
    document is repeated, so the sentence may go to logs and to a 503 body.

    Example:
        ```python
        no_usable_key([rsa_jwk_without_alg], None)
        # 'the key set holds no usable key that declares its algorithm: it holds 1 RSA key; ...'
        ```
    """
    kinds: dict[str, int] = {}
    fitting: list[str] = []
    for jwk in entries:
        if not isinstance(jwk, Mapping) or PRIVATE_JWK_MEMBERS & jwk.keys() or jwk.get("use", "sig") != "sig":
            continue
        kind = jwk_kind(jwk)
        if kind is None:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        options = algorithms_for_jwk(jwk)
        declared = jwk.get("alg")
        fitting.extend(alg for alg in ((declared,) if declared in options else options) if alg not in fitting)
    wanted = f"for {algorithm}" if algorithm else "that declares its algorithm"
    reason = f"the key set holds no usable key {wanted}"
    if not kinds:
        return reason + ": it has no public signing key"
    held = ", ".join(f"{count} {kind} key{'s' if count > 1 else ''}" for kind, count in kinds.items())
    others = [alg for alg in fitting if alg != algorithm]
    if not others:
        return f"{reason}: it holds {held}, none of them valid for it"
    advice = f'pass algorithm="{others[0]}"'
    if len(others) > 1:
        advice += " (or " + ", ".join(others[1:]) + ", whichever the issuer signs with)"
    return f"{reason}: it holds {held}; {advice} to use them"

"""Key material, the algorithm allow-list, ``kid`` and JWK documents.

Keys are loaded and prepared once, when ``ApoJWT`` is built; the request path
only looks them up by ``kid``. The ``kid`` of an asymmetric key is its RFC 7638
JWK thumbprint unless you name it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from jwt.algorithms import Algorithm, get_default_algorithms

from .errors import ConfigurationError

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "KeyMaterial",
    "KeySet",
    "SigningKey",
    "VerificationKey",
    "WeakSecretWarning",
    "jwk_thumbprint",
]

HMAC_ALGORITHMS: Mapping[str, int] = {"HS256": 32, "HS384": 48, "HS512": 64}
"""HMAC algorithms and the minimum secret length in bytes (RFC 7518 §3.2)."""

ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Asymmetric algorithms: verify with a public key, sign with the private one."""

SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(HMAC_ALGORITHMS) | ASYMMETRIC_ALGORITHMS
"""Every algorithm ApoJWT accepts in configuration. ``none`` is never among them."""

_EC_CURVES = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
KeyMaterial = str | bytes | PrivateKey | PublicKey
"""What may be passed as a key: an HMAC secret, a PEM string/bytes, or a key object."""

_ALGORITHM_OBJECTS: dict[str, Algorithm] = {
    name: algo for name, algo in get_default_algorithms().items() if name in SUPPORTED_ALGORITHMS
}


class WeakSecretWarning(UserWarning):
    """An HMAC secret is shorter than the hash output (RFC 7518 §3.2)."""


@dataclass(frozen=True)
class VerificationKey:
    """A key that verifies signatures, prepared once."""

    algorithm: str
    key: Any = field(repr=False)
    kid: str | None = None
    algorithm_object: Algorithm = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        """Attach PyJWT's algorithm object for this key's algorithm."""
        if self.algorithm_object is None:
            object.__setattr__(self, "algorithm_object", _ALGORITHM_OBJECTS[self.algorithm])

    @property
    def is_hmac(self) -> bool:
        """Whether this is a shared HMAC secret."""
        return self.algorithm in HMAC_ALGORITHMS

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK of this key, with ``kid``, ``alg`` and ``use``."""
        if self.is_hmac:
            raise ConfigurationError("An HMAC secret has no public JWK: it must never be published.")
        jwk: dict[str, Any] = json.loads(self.algorithm_object.to_jwk(self.key))
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return jwk


@dataclass(frozen=True)
class SigningKey:
    """A key that signs tokens, with the ``kid`` it writes into their header."""

    algorithm: str
    key: Any = field(repr=False)
    kid: str | None = None


def jwk_thumbprint(public_jwk: Mapping[str, Any]) -> str:
    """Compute the RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded.

    Example:
        ```python
        kid = jwk_thumbprint({"kty": "OKP", "crv": "Ed25519", "x": "..."})
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
    import base64

    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _looks_like_pem(value: str | bytes) -> bool:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return "-----BEGIN" in text or text.lstrip().startswith(("ssh-", "{"))


def _check_fits(algorithm: str, key: PrivateKey | PublicKey) -> None:
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
            key.curve, _EC_CURVES[algorithm]
        )
    else:  # EdDSA
        ok = isinstance(
            key,
            (
                ed25519.Ed25519PrivateKey,
                ed25519.Ed25519PublicKey,
                ed448.Ed448PrivateKey,
                ed448.Ed448PublicKey,
            ),
        )
    if not ok:
        raise ConfigurationError(
            f"The key given does not fit algorithm {algorithm!r} "
            f"(got {type(key).__name__}). Pass a key of the algorithm's family, "
            "or set algorithm= to match the key."
        )


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if it is supported, else raise ``ConfigurationError``."""
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ConfigurationError(
            f"Unsupported algorithm {algorithm!r}. Choose one of: "
            + ", ".join(sorted(SUPPORTED_ALGORITHMS))
            + " ('none' is never allowed)."
        )
    return algorithm


def _load_asymmetric(material: KeyMaterial) -> PrivateKey | PublicKey:
    if isinstance(material, (str, bytes)):
        data = material.encode() if isinstance(material, str) else material
        try:
            if b"PRIVATE KEY" in data:
                return load_pem_private_key(data, password=None)  # type: ignore[return-value]
            return load_pem_public_key(data)  # type: ignore[return-value]
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "Could not load the PEM key: " + str(exc).split("\n")[0] + ". "
                "Pass an unencrypted PKCS#8 or traditional PEM key (see `apojwt keygen`)."
            ) from None
    return material


def _hmac_secret(material: KeyMaterial, algorithm: str, *, strict: bool, what: str) -> bytes:
    if not isinstance(material, (str, bytes)):
        raise ConfigurationError(
            f"{algorithm} needs a shared secret (str or bytes), not a {type(material).__name__}. "
            "For a key pair, set algorithm= to RS256, ES256, EdDSA..."
        )
    secret = material.encode() if isinstance(material, str) else bytes(material)
    if not secret:
        raise ConfigurationError(f"The {what} is empty. Pass a random secret, e.g. from `apojwt keygen hmac`.")
    if _looks_like_pem(secret):
        raise ConfigurationError(
            f"The {what} looks like a PEM or JWK key, but algorithm is {algorithm}. "
            "Using a public key as an HMAC secret enables algorithm confusion: "
            "set algorithm= to the key's asymmetric algorithm instead."
        )
    minimum = HMAC_ALGORITHMS[algorithm]
    if len(secret) < minimum:
        message = (
            f"The {what} is {len(secret)} bytes; {algorithm} wants at least {minimum} "
            "(RFC 7518 §3.2). Generate one with `apojwt keygen hmac`."
        )
        if strict:
            raise ConfigurationError(message)
        warnings.warn(message, WeakSecretWarning, stacklevel=4)
    return secret


@dataclass(frozen=True)
class KeySet:
    """The keys one ApoJWT instance signs and verifies with.

    ``signing`` is ``None`` for a verify-only set. ``verifying`` maps each ``kid``
    (``None`` for a key without one) to its key; the newest key signs, every
    listed key verifies, so keys rotate without downtime.
    """

    algorithm: str
    signing: SigningKey | None
    verifying: Mapping[str | None, VerificationKey]

    @property
    def default(self) -> VerificationKey:
        """The key used for tokens whose header names no ``kid``."""
        if self.signing is not None:
            return self.verifying[self.signing.kid]
        return next(iter(self.verifying.values()))

    def find(self, kid: object) -> VerificationKey | None:
        """Select a configured key by ``kid``; never loads anything from the token."""
        if kid is None:
            return self.default if len(self.verifying) == 1 or self.signing is not None else None
        if not isinstance(kid, str):
            return None
        key = self.verifying.get(kid)
        if key is None and None in self.verifying and len(self.verifying) == 1:
            return self.verifying[None]  # a single un-named key: the kid is informative only
        return key

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK set of the asymmetric keys (``{"keys": [...]}``)."""
        return {"keys": [k.public_jwk() for k in self.verifying.values() if not k.is_hmac]}

    @classmethod
    def build(
        cls,
        *,
        algorithm: str,
        secret: KeyMaterial | None = None,
        public_keys: Iterable[KeyMaterial] = (),
        previous_keys: Iterable[KeyMaterial] = (),
        kid: str | None = None,
        strict: bool = False,
        what: str = "secret",
    ) -> KeySet:
        """Load and check every key once; raise ``ConfigurationError`` on any misfit."""
        check_algorithm(algorithm)
        verifying: dict[str | None, VerificationKey] = {}
        signing: SigningKey | None = None

        if algorithm in HMAC_ALGORITHMS:
            if public_keys:
                raise ConfigurationError("public_key= is for asymmetric algorithms; HMAC uses secret=.")
            if secret is None:
                raise ConfigurationError(f"{algorithm} needs a secret. Pass it as the first argument.")
            raw = _hmac_secret(secret, algorithm, strict=strict, what=what)
            signing = SigningKey(algorithm, raw, kid)
            verifying[kid] = VerificationKey(algorithm, raw, kid)
            for old in previous_keys:
                old_raw = _hmac_secret(old, algorithm, strict=strict, what="previous secret")
                old_kid = "hmac-" + hashlib.sha256(old_raw).hexdigest()[:8]
                verifying[old_kid] = VerificationKey(algorithm, old_raw, old_kid)
            return cls(algorithm, signing, verifying)

        loaded: list[tuple[PrivateKey | PublicKey, bool]] = []
        if secret is not None:
            key = _load_asymmetric(secret)
            is_private = not isinstance(
                key,
                (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
            )
            loaded.append((key, is_private))
        loaded.extend((_load_asymmetric(m), False) for m in public_keys)
        loaded.extend((_load_asymmetric(m), False) for m in previous_keys)
        if not loaded:
            raise ConfigurationError(
                f"{algorithm} needs a key: pass a PEM private key to sign and verify, "
                "or public_key=/jwks= to verify only."
            )
        algo_obj = _ALGORITHM_OBJECTS[algorithm]
        for index, (key, is_private) in enumerate(loaded):
            _check_fits(algorithm, key)
            public = key.public_key() if is_private else key  # type: ignore[union-attr]
            jwk = json.loads(algo_obj.to_jwk(public))
            key_id = kid if (index == 0 and kid) else jwk_thumbprint(jwk)
            verifying[key_id] = VerificationKey(algorithm, public, key_id)
            if is_private and signing is None:
                signing = SigningKey(algorithm, key, key_id)
        return cls(algorithm, signing, verifying)

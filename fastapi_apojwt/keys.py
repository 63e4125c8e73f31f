"""Key material, ``kid`` and JWK documents (the algorithm allow-list is in ``algorithms``).

Keys are loaded and prepared once, when ``ApoJWT`` is built (or when a remote
JWKS is fetched); the request path only looks them up by ``kid``. The ``kid``
of an asymmetric key is its RFC 7638 JWK thumbprint unless you name it.

Every verification key is bound to exactly one algorithm (RFC 8725 §3.1): a
token is checked with the algorithm of the key its ``kid`` selects, never with
the algorithm its header asks for.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    load_der_private_key,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
    load_ssh_public_key,
)
from cryptography.x509 import load_pem_x509_certificate
from jwt.algorithms import Algorithm

from .algorithms import (
    ALGORITHM_OBJECTS,
    ASYMMETRIC_ALGORITHMS,
    EC_ALGORITHM_BY_CURVE,
    EC_CURVES,
    HMAC_ALGORITHMS,
    PRIVATE_JWK_MEMBERS,
    PRIVATE_TYPES,
    PUBLIC_TYPES,
    SUPPORTED_ALGORITHMS,
    PrivateKey,
    PublicKey,
    check_algorithm,
    check_fits,
    jwk_thumbprint,
    no_usable_key,
)
from .errors import ConfigurationError

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "HMAC_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "KeyMaterial",
    "KeySet",
    "PrivateKey",
    "PublicKey",
    "SigningKey",
    "VerificationKey",
    "WeakSecretWarning",
    "check_algorithm",
    "jwk_thumbprint",
    "jwk_entries",
    "keys_from_jwks",
    "load_key",
    "no_usable_key",
]

MAX_JWKS_KEYS: Final = 64
"""A JWK set with more entries than this is cut: only the first ones are considered."""

_MAX_KID_LENGTH: Final = 256

KeyMaterial = str | bytes | PrivateKey | PublicKey
"""What may be passed as a key: an HMAC secret, a PEM string/bytes, or a key object."""

_PACKAGE_DIR: Final = os.path.dirname(os.path.abspath(__file__))


class WeakSecretWarning(UserWarning):
    """An HMAC secret is shorter than the hash output (RFC 7518 §3.2).

    Example:
        ```python
        import warnings
        from fastapi_apojwt import WeakSecretWarning

        warnings.simplefilter("error", WeakSecretWarning)  # make weak secrets fatal
        ```
    """


def _warn_user(message: str, category: type[Warning]) -> None:
    """Warn, pointing at the first frame outside this package (the user's line)."""
    frame = inspect.currentframe()
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


@dataclass(frozen=True)
class VerificationKey:
    """A public key (or HMAC secret) that verifies signatures, bound to one algorithm."""

    algorithm: str
    key: Any = field(repr=False)
    kid: str | None = None
    algorithm_object: Algorithm = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    mac: Callable[[bytes], bytes] | None = field(repr=False, compare=False, default=None)
    """For an HMAC secret: the MAC of a message, with the key schedule done once."""

    def __post_init__(self) -> None:
        """Attach PyJWT's algorithm object and, for HMAC, the prepared MAC."""
        if self.algorithm_object is None:
            object.__setattr__(self, "algorithm_object", ALGORITHM_OBJECTS[self.algorithm])
        if self.mac is None and self.algorithm in HMAC_ALGORITHMS:
            object.__setattr__(self, "mac", prepared_hmac(self.key, self.algorithm))

    @property
    def is_hmac(self) -> bool:
        """Whether this is a shared HMAC secret."""
        return self.algorithm in HMAC_ALGORITHMS

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK of this key, with ``kid``, ``alg`` and ``use``."""
        if self.is_hmac:
            raise ConfigurationError("An HMAC secret has no public JWK: it must never be published.")
        jwk: dict[str, Any] = json.loads(self.algorithm_object.to_jwk(self.key))
        if PRIVATE_JWK_MEMBERS & jwk.keys():  # pragma: no cover - keys are made public when loaded
            raise ConfigurationError("Refusing to publish private key material.")
        jwk.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return jwk


_HMAC_HASHES: Final[Mapping[str, Callable[..., Any]]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}
_INNER_PAD: Final = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD: Final = bytes(byte ^ 0x5C for byte in range(256))


def prepared_hmac(secret: bytes, algorithm: str) -> Callable[[bytes], bytes]:
    """HMAC (RFC 2104) of ``secret`` with its key schedule done once.

    The two padded-key hash states are computed here; each message then costs
    copies of them and the hashing of the message, about half of ``hmac.digest``
    (which schedules the key on every call). Equal to ``hmac.digest`` by test.
    """
    hash_constructor = _HMAC_HASHES[algorithm]
    block_size: int = hash_constructor().block_size
    if len(secret) > block_size:
        secret = hash_constructor(secret).digest()
    padded = secret.ljust(block_size, b"\0")
    inner_start = hash_constructor(padded.translate(_INNER_PAD))
    outer_start = hash_constructor(padded.translate(_OUTER_PAD))

    def mac(message: bytes) -> bytes:
        inner = inner_start.copy()
        inner.update(message)
        outer = outer_start.copy()
        outer.update(inner.digest())
        digest: bytes = outer.digest()
        return digest

    return mac


@dataclass(frozen=True)
class SigningKey:
    """A key that signs tokens, with the ``kid`` it writes into their header."""

    algorithm: str
    key: Any = field(repr=False)
    kid: str | None = None


def _parses_as_key(secret: bytes) -> bool:
    """Whether ``secret`` is really a key (PEM, DER, OpenSSH or JWK): algorithm-confusion bait."""
    text = secret.decode("latin-1").strip()
    if "-----BEGIN" in text or text.startswith(("ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")):
        return True
    if text.startswith("{"):
        try:
            return isinstance(json.loads(text), dict) and "kty" in json.loads(text)
        except ValueError:
            return False
    for loader in (load_der_public_key, load_ssh_public_key):
        try:
            loader(secret)
        except Exception:  # noqa: S112 - any failure means "not a key"
            continue
        return True
    try:
        load_der_private_key(secret, password=None)
    except Exception:
        return False
    return True


def load_key(material: KeyMaterial) -> PrivateKey | PublicKey:
    """Load a PEM private key, PEM public key or certificate (or pass a key object through).

    Raises:
        ConfigurationError: the text is not an unencrypted PEM key of a supported type.

    Example:
        ```python
        key = load_key(open("private.pem").read())
        ```
    """
    if isinstance(material, PRIVATE_TYPES + PUBLIC_TYPES):
        return material
    if not isinstance(material, (str, bytes)):
        raise ConfigurationError(f"Expected a PEM key or a key object, got {type(material).__name__}.")
    data = material.encode() if isinstance(material, str) else bytes(material)
    try:
        if b"PRIVATE KEY" in data:
            loaded: Any = load_pem_private_key(data, password=None)
        elif b"BEGIN CERTIFICATE" in data:
            loaded = load_pem_x509_certificate(data).public_key()
        else:
            loaded = load_pem_public_key(data)
    except (ValueError, TypeError, Exception) as exc:
        first_line = str(exc).split("\n")[0] or type(exc).__name__
        raise ConfigurationError(
            f"Could not load the PEM key ({first_line}). "
            "Pass an unencrypted PKCS#8 or traditional PEM key, or a SubjectPublicKeyInfo public key "
            "(see `apojwt keygen`)."
        ) from None
    if not isinstance(loaded, PRIVATE_TYPES + PUBLIC_TYPES):
        raise ConfigurationError(
            f"Unsupported key type {type(loaded).__name__}: use an RSA, EC (P-256/384/521), Ed25519 or Ed448 key."
        )
    return loaded


def _suggestion(material: object) -> str:
    """``' (algorithm="ES256" for this key)'`` when the key type says it, else ``''``."""
    try:
        key = load_key(material)  # type: ignore[arg-type]
    except Exception:
        return ""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return ' (algorithm="RS256" or "PS256" for this RSA key)'
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        for alg, curve in EC_CURVES.items():
            if isinstance(key.curve, curve):
                return f' (algorithm="{alg}" for this key)'
        return ""
    return ' (algorithm="EdDSA" for this key)'


def _public_of(key: PrivateKey | PublicKey) -> PublicKey:
    return key.public_key() if isinstance(key, PRIVATE_TYPES) else key


def _hmac_secret(material: KeyMaterial, algorithm: str, *, strict: bool, what: str) -> bytes:
    if not isinstance(material, (str, bytes)):
        raise ConfigurationError(
            f"{algorithm} needs a shared secret (str or bytes), not a {type(material).__name__}. "
            "For a key pair, set algorithm= to RS256, ES256, EdDSA..."
        )
    secret = material.encode() if isinstance(material, str) else bytes(material)
    if not secret.strip():
        raise ConfigurationError(
            f"The {what} is empty or only whitespace. Pass a random secret, e.g. from `apojwt keygen hmac`."
        )
    if _parses_as_key(secret):
        raise ConfigurationError(
            f"The {what} looks like a PEM, DER, OpenSSH or JWK key, but algorithm is {algorithm}. "
            "Using a key as an HMAC secret invites algorithm confusion: "
            f"set algorithm= to the key's asymmetric algorithm instead{_suggestion(secret)}."
        )
    minimum = HMAC_ALGORITHMS[algorithm]
    if len(secret) < minimum:
        message = (
            f"The {what} is {len(secret)} bytes; {algorithm} wants at least {minimum} "
            "(RFC 7518 §3.2). Generate one with `apojwt keygen hmac`"
            + (", or pass strict=True to refuse weak secrets." if not strict else ".")
        )
        if strict:
            raise ConfigurationError(message)
        _warn_user(message, WeakSecretWarning)
    return secret


def _hmac_kid(secret: bytes) -> str:
    """A stable name for a previous HMAC secret that reveals nothing usable about it."""
    return "hs-" + hashlib.blake2b(secret, key=b"fastapi-apojwt-kid", digest_size=6).hexdigest()


def _algorithm_for_jwk(jwk: Mapping[str, Any], pinned: str | None) -> str | None:
    """The one algorithm a JWK may be used with, or ``None`` when it must be ignored.

    A key without ``alg`` (Entra ID publishes RSA keys so) takes the pinned algorithm when its
    type fits it (checked once the key is loaded); unpinned, EC and OKP keys name theirs by curve.
    """
    declared = jwk.get("alg")
    if pinned is not None:
        return pinned if declared in (None, pinned) else None
    if declared is not None:
        return declared if declared in ASYMMETRIC_ALGORITHMS else None
    if jwk.get("kty") == "EC":
        return EC_ALGORITHM_BY_CURVE.get(str(jwk.get("crv")))
    if jwk.get("kty") == "OKP":
        return "EdDSA"
    return None  # RSA without "alg" is ambiguous (RS* or PS*): pin algorithm= to accept it


def jwk_entries(document: Mapping[str, Any] | str | bytes) -> list[Any]:
    """The ``keys`` list of a JWK set document (text or parsed).

    Raises:
        ValueError: the document is not a JWK set at all.
    """
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except (ValueError, RecursionError):
            raise ValueError("the JWK set is not valid JSON") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWK set is a JSON object {"keys": [...]}')
    entries: list[Any] = document["keys"]
    return entries


def keys_from_jwks(
    document: Mapping[str, Any] | str | bytes, *, algorithm: str | None = None
) -> tuple[dict[str, VerificationKey], list[str]]:
    """Load the usable public keys of a JWK set; say why the others were ignored.

    A key is used only for signatures (``use`` absent or ``"sig"``), never if it
    carries private or symmetric material, and only with one algorithm: the
    pinned ``algorithm`` (a key declaring another ``alg``, or of another type or
    curve, is ignored) or, when ``algorithm`` is ``None``, its own ``alg``
    (inferred for EC and OKP keys). A key without ``kid`` is named by its RFC
    7638 thumbprint.

    Raises:
        ValueError: the document is not a JWK set at all.

    Example:
        ```python
        keys, ignored = keys_from_jwks({"keys": [...]}, algorithm="RS256")
        ```
    """
    entries = jwk_entries(document)
    found: dict[str, VerificationKey] = {}
    ignored: list[str] = []
    for index, jwk in enumerate(entries[:MAX_JWKS_KEYS]):
        where = f"key #{index}"
        if not isinstance(jwk, Mapping):
            ignored.append(f"{where}: not a JSON object")
            continue
        if jwk.get("kty") not in ("RSA", "EC", "OKP"):
            ignored.append(f"{where}: key type {jwk.get('kty')!r} is not an asymmetric signing key")
            continue
        if PRIVATE_JWK_MEMBERS & jwk.keys():
            ignored.append(f"{where}: contains private key material (never publish it)")
            continue
        if jwk.get("use", "sig") != "sig" or ("key_ops" in jwk and "verify" not in (jwk.get("key_ops") or ())):
            ignored.append(f"{where}: not meant for verifying signatures")
            continue
        alg = _algorithm_for_jwk(jwk, algorithm)
        if alg is None:
            declared = jwk.get("alg")
            shown = repr(declared) if declared is None or declared in SUPPORTED_ALGORITHMS else "(unknown)"
            hint = " (a key without 'alg': pass algorithm= to use it)" if declared is None else ""
            ignored.append(f"{where}: algorithm {shown} is not the one configured or not usable{hint}")
            continue
        try:
            key = ALGORITHM_OBJECTS[alg].from_jwk(dict(jwk))
            if not isinstance(key, PUBLIC_TYPES):
                raise ValueError("not a public key")
            check_fits(alg, key)
            kid = jwk.get("kid")
            if kid is None:
                kid = jwk_thumbprint(jwk)
        except ConfigurationError as exc:
            ignored.append(f"{where}: {exc.detail}")
            continue
        except Exception:
            ignored.append(f"{where}: not a valid {jwk.get('kty')} key for {alg}")
            continue
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            ignored.append(f"{where}: 'kid' is not a short string")
            continue
        if kid in found:
            ignored.append(f"{where}: duplicate kid {kid!r}")
            continue
        found[kid] = VerificationKey(alg, key, kid)
    if len(entries) > MAX_JWKS_KEYS:
        ignored.append(f"only the first {MAX_JWKS_KEYS} keys were considered")
    return found, ignored


def _named(keys: Iterable[KeyMaterial] | Mapping[str, KeyMaterial]) -> list[tuple[str | None, KeyMaterial]]:
    if isinstance(keys, Mapping):
        return [(str(kid), material) for kid, material in keys.items()]
    if isinstance(keys, (str, bytes)):
        return [(None, keys)]
    return [(None, material) for material in keys]


@dataclass(frozen=True)
class KeySet:
    """The keys one ApoJWT instance signs and verifies with.

    ``signing`` is ``None`` for a verify-only set. ``verifying`` maps each ``kid``
    (``None`` for a key without one) to its key; the newest key signs, every
    listed key verifies, so keys rotate without downtime. Each key carries its
    own algorithm; ``algorithms`` are the ``alg`` header values worth looking a
    key up for (the configured algorithm, or every asymmetric one for a JWKS
    whose keys bring their own).
    """

    algorithm: str
    signing: SigningKey | None
    verifying: Mapping[str | None, VerificationKey]
    algorithms: frozenset[str] = frozenset()
    fallbacks: tuple[VerificationKey, ...] = field(default=(), repr=False)
    """Keys tried, after :attr:`default`, for a token whose header names no ``kid``."""

    def __post_init__(self) -> None:
        """Derive the accepted algorithms and the order keys are tried for kid-less tokens."""
        if not self.algorithms:
            object.__setattr__(
                self, "algorithms", frozenset({self.algorithm}) if self.algorithm else ASYMMETRIC_ALGORITHMS
            )
        default = self.default
        object.__setattr__(self, "fallbacks", tuple(k for k in self.verifying.values() if k is not default))

    @property
    def default(self) -> VerificationKey | None:
        """The key tried first for tokens whose header names no ``kid`` (the signing key, else the first)."""
        if self.signing is not None:
            return self.verifying[self.signing.kid]
        return next(iter(self.verifying.values()), None)

    def find(self, kid: object, alg: str | None = None) -> VerificationKey | None:
        """Select a configured key by ``kid``; never loads anything from the token.

        Without a ``kid``, the first key of algorithm ``alg`` (the signing key first).
        """
        if kid is None:
            default = self.default
            if alg is None or default is None or default.algorithm == alg:
                return default
            return next((k for k in self.fallbacks if k.algorithm == alg), default)
        if not isinstance(kid, str):
            return None
        key = self.verifying.get(kid)
        if key is None and len(self.verifying) == 1 and None in self.verifying:
            return self.verifying[None]  # a single un-named key: the kid is informative only
        return key

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK set of the asymmetric keys (``{"keys": [...]}``), the signing key first."""
        ordered = [self.default, *self.fallbacks] if self.default is not None else []
        return {"keys": [k.public_jwk() for k in ordered if not k.is_hmac]}

    @classmethod
    def empty(cls, algorithm: str | None = None) -> KeySet:
        """A verify-only set with no key yet (a remote JWKS before its first fetch)."""
        return cls(algorithm or "", None, {})

    @classmethod
    def from_jwks(
        cls, document: Mapping[str, Any] | str | bytes, *, algorithm: str | None = None, what: str = "jwks="
    ) -> KeySet:
        """A verify-only set from a JWK set document; refuse it when no key is usable.

        Raises:
            ConfigurationError: the document is not a JWK set or has no usable key.
        """
        if algorithm is not None and algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ConfigurationError(
                f"A JWK set publishes public keys: algorithm must be asymmetric (RS256, ES256, EdDSA...), "
                f"not {algorithm!r}. HMAC secrets are never taken from a JWK set."
            )
        try:
            found, ignored = keys_from_jwks(document, algorithm=algorithm)
        except ValueError as exc:
            raise ConfigurationError(f"{what} is not usable: {exc}.") from None
        if not found:
            reasons = "; ".join(ignored) or "it has no keys"
            summary = no_usable_key(jwk_entries(document)[:MAX_JWKS_KEYS], algorithm)
            raise ConfigurationError(f"{what} has no key usable for verifying tokens: {summary} ({reasons}).")
        return cls(algorithm or "", None, dict(found.items()))

    @classmethod
    def build(
        cls,
        *,
        algorithm: str,
        secret: KeyMaterial | None = None,
        public_keys: Iterable[KeyMaterial] = (),
        previous_keys: Iterable[KeyMaterial] | Mapping[str, KeyMaterial] = (),
        kid: str | None = None,
        strict: bool = False,
        what: str = "secret",
    ) -> KeySet:
        """Load and check every key once; raise ``ConfigurationError`` on any misfit.

        ``previous_keys`` may be a list (each asymmetric key is then named by its
        thumbprint) or a mapping ``{kid: key}`` keeping the names old tokens carry.
        """
        check_algorithm(algorithm)
        public_keys = list(public_keys)
        if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH):
            raise ConfigurationError("kid must be a non-empty string of at most 256 characters.")
        verifying: dict[str | None, VerificationKey] = {}
        signing: SigningKey | None = None

        if algorithm in HMAC_ALGORITHMS:
            if public_keys:
                raise ConfigurationError(
                    f"public_key= needs an asymmetric algorithm, not {algorithm}: pass algorithm= to match the key"
                    f"{_suggestion(public_keys[0])}."
                )
            if secret is None:
                raise ConfigurationError(f"{algorithm} needs a secret. Pass it as the first argument.")
            raw = _hmac_secret(secret, algorithm, strict=strict, what=what)
            signing = SigningKey(algorithm, raw, kid)
            verifying[kid] = VerificationKey(algorithm, raw, kid)
            for old_kid, old in _named(previous_keys):
                old_raw = _hmac_secret(old, algorithm, strict=strict, what="previous secret")
                name = old_kid or _hmac_kid(old_raw)
                verifying.setdefault(name, VerificationKey(algorithm, old_raw, name))
            return cls(algorithm, signing, verifying)

        loaded: list[tuple[str | None, PrivateKey | PublicKey]] = []
        if isinstance(secret, (str, bytes)) and b"-----BEGIN" not in (
            secret.encode() if isinstance(secret, str) else secret
        ):
            raise ConfigurationError(
                f"{algorithm} signs with a private key, so the first argument must be a PEM key holding one "
                "('-----BEGIN PRIVATE KEY-----...', e.g. from `apojwt keygen`), not a plain string. "
                "For a shared secret, use algorithm='HS256'."
            )
        if secret is not None:
            loaded.append((kid, load_key(secret)))
        loaded.extend(
            ((kid if secret is None and index == 0 else None), load_key(m)) for index, m in enumerate(public_keys)
        )
        loaded.extend((name, load_key(m)) for name, m in _named(previous_keys))
        if not loaded:
            raise ConfigurationError(
                f"{algorithm} needs a key: pass a PEM private key to sign and verify, "
                "or public_key=/jwks=/jwks_url= to verify only."
            )
        algo_obj = ALGORITHM_OBJECTS[algorithm]
        for index, (given, key) in enumerate(loaded):
            check_fits(algorithm, key)
            public = _public_of(key)
            key_id: str = given or jwk_thumbprint(json.loads(algo_obj.to_jwk(public)))
            if key_id in verifying:
                continue
            verifying[key_id] = VerificationKey(algorithm, public, key_id)
            if index == 0 and secret is not None and isinstance(key, PRIVATE_TYPES):
                signing = SigningKey(algorithm, key, key_id)
        return cls(algorithm, signing, verifying)

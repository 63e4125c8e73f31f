"""Publishing and consuming JWK sets, so one issuer can serve a fleet of services.

Publishing: ``app.include_router(ajwt.jwks_router())`` serves
``GET /.well-known/jwks.json`` with ``Cache-Control`` and ``ETag`` headers.

Consuming: ``ApoJWT(jwks_url=...)`` builds a verify-only instance whose keys
come from :class:`RemoteJWKS`. Its behaviour, decided once here:

* **Lazy start.** Nothing is fetched at construction, so a verifier may start
  before its issuer; the first request that needs a key fetches the set.
* **TTL cache.** A fetched set is used for ``cache_ttl`` seconds, then fetched
  again by the next request; if that fetch fails, the cached keys keep serving
  (for at most ``max_stale`` more seconds, then the verifier fails closed).
* **Unknown ``kid``.** A token naming a key not in the cache triggers one
  refetch, at most once per ``refetch_interval``: forged ``kid`` values cannot
  make the verifier hammer the issuer. Concurrent refetches share one request.
* **Failures.** After a failed fetch nothing is fetched again for
  ``retry_interval`` seconds. A malformed, oversized or key-less answer is a
  failed fetch: it never replaces good keys.
* **Fail closed.** Unknown key: 401. No usable key at all: 503 with
  ``Retry-After``. Never a 500.
* **Transport.** ``https`` only, except for ``127.0.0.1``/``localhost`` or with
  ``allow_http=True``; redirects are not followed; the body is size-limited.
* **OpenID discovery.** ``ApoJWT(iss=ISSUER, oidc_discovery=True)`` first fetches
  ``ISSUER/.well-known/openid-configuration`` (same transport rules), whose
  ``issuer`` must be ``ISSUER`` exactly (OpenID Connect Discovery §4.3) and whose
  ``jwks_uri`` is then the JWKS URL. Until a document passes, no token passes:
  503, and a log line saying why.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import ipaddress
import json
import logging
import math
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from .algorithms import no_usable_key
from .errors import ConfigurationError, ServiceUnavailableError
from .keys import ASYMMETRIC_ALGORITHMS, MAX_JWKS_KEYS, KeyMaterial, KeySet, jwk_entries, keys_from_jwks

__all__ = [
    "DISCOVERY_PATH",
    "WELL_KNOWN_PATH",
    "JWKSOptions",
    "RemoteJWKS",
    "build_keys",
    "discovery_url",
    "render_jwks",
]

logger = logging.getLogger("fastapi_apojwt.jwks")

WELL_KNOWN_PATH: Final = "/.well-known/jwks.json"
DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.", "ip6-localhost"})


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class JWKSOptions:
    """How a verifier fetches and caches its issuer's JWK set.

    Attributes:
        cache_ttl: Seconds a fetched key set is used before it is fetched again.
        refetch_interval: Minimum seconds between two fetches caused by tokens
            naming an unknown ``kid``.
        retry_interval: Seconds to wait after a failed fetch before trying again.
        max_stale: Seconds past ``cache_ttl`` that cached keys keep serving while
            the issuer cannot be reached; then requests fail with 503. ``None``:
            serve them for as long as needed.
        timeout: Seconds allowed for one fetch (connect, read, everything).
        max_bytes: Largest JWK set accepted, in bytes.
        allow_http: Allow a plain ``http`` URL to a host other than loopback.
        verify: TLS verification: ``True``, the path of a CA bundle file (or
            directory), or an ``ssl.SSLContext``. Never turn it off.
        headers: Extra request headers (e.g. an API gateway key).

    Example:
        ```python
        ajwt = ApoJWT(jwks_url="https://auth.example.com/.well-known/jwks.json",
                      jwks_options=JWKSOptions(cache_ttl=600, refetch_interval=60))
        ```
    """

    cache_ttl: float = 300.0
    refetch_interval: float = 30.0
    retry_interval: float = 2.0
    max_stale: float | None = 86400.0
    timeout: float = 5.0
    max_bytes: int = 256 * 1024
    allow_http: bool = False
    verify: bool | str | ssl.SSLContext = True
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse nonsensical values at start-up."""
        for name in ("cache_ttl", "refetch_interval", "retry_interval", "timeout", "max_stale"):
            value = getattr(self, name)
            if name == "max_stale" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"JWKSOptions.{name} must be a number of seconds >= 0, got {value!r}.")
        if self.timeout <= 0:
            raise ConfigurationError("JWKSOptions.timeout must be > 0 seconds.")
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int) or self.max_bytes < 1024:
            raise ConfigurationError("JWKSOptions.max_bytes must be an integer >= 1024.")
        if isinstance(self.verify, str) and not os.path.exists(self.verify):
            raise ConfigurationError(f"JWKSOptions.verify: no CA bundle at {self.verify!r}.")

    def tls(self) -> bool | ssl.SSLContext:
        """What httpx gets as ``verify=``: a CA path becomes an ``ssl.SSLContext``."""
        if isinstance(self.verify, str):
            if os.path.isdir(self.verify):
                return ssl.create_default_context(capath=self.verify)
            return ssl.create_default_context(cafile=self.verify)
        return self.verify


def check_jwks_url(url: str, *, allow_http: bool = False) -> str:
    """Return ``url`` if it is an acceptable JWKS URL, else raise ``ConfigurationError``."""
    if not isinstance(url, str) or not url:
        raise ConfigurationError("jwks_url must be a non-empty URL string.")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"jwks_url must be an absolute https:// URL, got {url!r}.")
    if parts.username or parts.password:
        raise ConfigurationError("jwks_url must not carry credentials; use JWKSOptions(headers=...) instead.")
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"jwks_url {url!r} uses plain http: keys fetched without TLS can be replaced in transit. "
            "Use https, or pass jwks_options=JWKSOptions(allow_http=True) if you really mean it."
        )
    return url


def discovery_url(issuer: str) -> str:
    """``issuer``'s OpenID configuration URL (OpenID Connect Discovery §4; a trailing slash is not doubled)."""
    return (issuer[:-1] if issuer.endswith("/") else issuer) + DISCOVERY_PATH


class _FetchFailed(Exception):
    """One fetch gave nothing usable (internal). ``cause``: a fixed sentence a 503 body may carry."""

    def __init__(self, reason: str, cause: str | None = None) -> None:
        super().__init__(reason)
        self.cause = cause


class RemoteJWKS:
    """The verification keys of a verify-only ApoJWT, fetched from a JWKS URL.

    ``ApoJWT(jwks_url=...)`` builds one; the request path asks it to keep its
    keys fresh and to refetch for an unknown ``kid``. Each fetched key is bound
    to one algorithm: the pinned ``algorithm``, or the ``alg`` the key declares.

    Example:
        ```python
        ajwt = ApoJWT(jwks_url="https://auth.example.com/.well-known/jwks.json", iss="auth.example.com")
        source = ajwt.key_source  # a RemoteJWKS
        ```
    """

    def __init__(
        self,
        url: str,
        *,
        algorithm: str | None = None,
        options: JWKSOptions | None = None,
        on_update: Callable[[KeySet], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        issuer: str | None = None,
    ) -> None:
        """Check the URL and options; fetch nothing yet.

        With ``issuer``, ``url`` is that issuer's OpenID configuration: the JWKS URL is its
        ``jwks_uri``, once a fetched document names exactly ``issuer`` as its ``issuer``.
        """
        self.options = options if options is not None else JWKSOptions()
        if not isinstance(self.options, JWKSOptions):
            raise ConfigurationError("jwks_options must be a JWKSOptions instance.")
        self.url = check_jwks_url(url, allow_http=self.options.allow_http)
        """The JWKS URL (the OpenID configuration's URL until its ``jwks_uri`` is known)."""
        self.issuer = issuer
        """The issuer whose OpenID configuration names the JWKS URL (``oidc_discovery=True``), if any."""
        self.discovered = issuer is None
        """Whether :attr:`url` is the JWKS URL (always, without discovery)."""
        if importlib.util.find_spec("httpx") is None:
            raise ConfigurationError(
                "jwks_url= needs httpx: install the extra with `pip install 'fastapi-apojwt[jwks]'`."
            )
        self.algorithm = algorithm
        self.keys = KeySet.empty(algorithm)
        self.on_update = on_update
        self.clock = clock
        self.fetches = 0
        """How many fetches were attempted (for monitoring and tests)."""
        self.last_error: str | None = None
        """Why the last fetch failed, or ``None`` after a success."""
        self.cause: str | None = None
        """The fixed sentence a 503 gives when the last fetch failed for a reason worth telling clients."""
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._forced_at = -math.inf
        self._inflight: asyncio.Task[bool] | None = None
        self._sync_lock = threading.Lock()
        self._reported: set[str] = set()

    def __repr__(self) -> str:
        return f"RemoteJWKS({self.url!r}, keys={list(self.keys.verifying)})"

    # -- decisions (shared by the async and sync paths) ---------------------------------

    def _fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self.options.cache_ttl

    def _may_try(self, now: float) -> bool:
        return self._failed_at is None or now - self._failed_at >= self.options.retry_interval

    def _drop_if_too_stale(self, now: float) -> None:
        max_stale = self.options.max_stale
        if (
            max_stale is not None
            and self._fetched_at is not None
            and self.keys.verifying
            and self._failed_at is not None  # the last attempt failed (a fetch that just succeeded is never stale)
            and now - self._fetched_at > self.options.cache_ttl + max_stale
        ):
            logger.error("JWKS %s: no successful fetch for too long; dropping the cached keys", self.url)
            self._publish(KeySet.empty(self.algorithm))

    def _unavailable(self) -> ServiceUnavailableError:
        cause = f" ({self.cause})" if self.cause else ""
        return ServiceUnavailableError(
            f"The keys of the token issuer are not available right now{cause}; try again shortly."
        )

    def _may_force(self, now: float) -> bool:
        if now - self._forced_at < self.options.refetch_interval or not self._may_try(now):
            return False
        self._forced_at = now
        return True

    # -- async path (requests) -----------------------------------------------------------

    async def ensure_fresh(self) -> None:
        """Make sure usable keys are at hand: fetch lazily, refresh after the TTL.

        Raises:
            ServiceUnavailableError: there is no usable key at all.
        """
        now = self.clock()
        if self._fresh(now):
            return
        inflight = self._running_fetch()
        if inflight is not None:
            if not self.keys.verifying:
                await asyncio.shield(inflight)
        elif self._may_try(now):
            await self._fetch_shared()
        self._drop_if_too_stale(self.clock())
        if not self.keys.verifying:
            raise self._unavailable()

    async def refresh_for_unknown_key(self) -> bool:
        """Refetch after a token named an unknown ``kid``, rate-limited; ``True`` if the keys changed."""
        inflight = self._running_fetch()
        if inflight is not None:
            return await asyncio.shield(inflight)
        if not self._may_force(self.clock()):
            return False
        return await self._fetch_shared()

    def _running_fetch(self) -> asyncio.Task[bool] | None:
        task = self._inflight
        if task is None or task.done():
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - called from async code only
            return None
        return task if task.get_loop() is loop else None

    async def _fetch_shared(self) -> bool:
        task = asyncio.get_running_loop().create_task(self._fetch_async())
        self._inflight = task
        return await asyncio.shield(task)

    async def _fetch_async(self) -> bool:
        import httpx

        self.fetches += 1
        deadline = time.monotonic() + self.options.timeout  # httpx's timeout is per read: bound the whole fetch
        try:
            async with httpx.AsyncClient(**self._client_kwargs()) as client:
                if not self.discovered:
                    self._discover(*await self._download_async(client, self.url, deadline))
                return self._accept(*await self._download_async(client, self.url, deadline))
        except asyncio.CancelledError:
            raise
        except _FetchFailed as exc:
            return self._failed(str(exc), exc.cause)
        except Exception as exc:
            return self._failed(f"could not fetch it ({type(exc).__name__})")

    async def _download_async(self, client: Any, url: str, deadline: float) -> tuple[int, bytes]:
        async with client.stream("GET", url) as response:
            body = bytearray()
            if response.status_code == 200:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.options.max_bytes or time.monotonic() > deadline:
                        break
            return self._downloaded(response.status_code, body, deadline)

    # -- sync path (ApoJWT.decode, Flask, the CLI) -----------------------------------------

    def ensure_fresh_sync(self) -> None:
        """Blocking twin of :meth:`ensure_fresh`."""
        now = self.clock()
        if self._fresh(now):
            return
        with self._sync_lock:
            now = self.clock()
            if not self._fresh(now) and self._may_try(now):
                self._fetch_sync()
        self._drop_if_too_stale(self.clock())
        if not self.keys.verifying:
            raise self._unavailable()

    def refresh_for_unknown_key_sync(self) -> bool:
        """Blocking twin of :meth:`refresh_for_unknown_key`."""
        before = self.keys
        with self._sync_lock:
            if self.keys is not before:
                return True  # another thread fetched while we waited
            if not self._may_force(self.clock()):
                return False
            return self._fetch_sync()

    def _fetch_sync(self) -> bool:
        import httpx

        self.fetches += 1
        deadline = time.monotonic() + self.options.timeout
        try:
            with httpx.Client(**self._client_kwargs()) as client:
                if not self.discovered:
                    self._discover(*self._download_sync(client, self.url, deadline))
                return self._accept(*self._download_sync(client, self.url, deadline))
        except _FetchFailed as exc:
            return self._failed(str(exc), exc.cause)
        except Exception as exc:
            return self._failed(f"could not fetch it ({type(exc).__name__})")

    def _download_sync(self, client: Any, url: str, deadline: float) -> tuple[int, bytes]:
        with client.stream("GET", url) as response:
            body = bytearray()
            if response.status_code == 200:
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.options.max_bytes or time.monotonic() > deadline:
                        break
            return self._downloaded(response.status_code, body, deadline)

    # -- shared ------------------------------------------------------------------------------

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "timeout": self.options.timeout,
            "verify": self.options.tls(),
            "follow_redirects": False,
            "headers": {"Accept": "application/jwk-set+json, application/json", **self.options.headers},
        }

    def _downloaded(self, status: int, body: bytearray, deadline: float) -> tuple[int, bytes]:
        if time.monotonic() > deadline:
            raise _FetchFailed(f"the answer took longer than {self.options.timeout} s")
        if status != 200:
            raise _FetchFailed(f"the issuer answered HTTP {status}")
        if len(body) > self.options.max_bytes:
            raise _FetchFailed(f"the document is larger than {self.options.max_bytes} bytes")
        return status, bytes(body)

    def _discover(self, status: int, body: bytes) -> None:
        """Take the JWKS URL from a fetched OpenID configuration, if its ``issuer`` is exactly ours."""
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise _FetchFailed(
                "the OpenID configuration is not a JSON object", "the issuer's OpenID configuration is unusable"
            )
        if document.get("issuer") != self.issuer:
            logger.error(
                "OpenID configuration %s: its 'issuer' is not %r exactly; refusing every token until it is",
                self.url,
                self.issuer,
            )
            raise _FetchFailed(
                "the OpenID configuration names another issuer than iss=",
                "the issuer's OpenID configuration names another issuer",
            )
        try:
            jwks_uri = check_jwks_url(document.get("jwks_uri", ""), allow_http=self.options.allow_http)
        except ConfigurationError:
            raise _FetchFailed(
                "the OpenID configuration has no acceptable https 'jwks_uri'",
                "the issuer's OpenID configuration is unusable",
            ) from None
        logger.info("OpenID configuration %s: the key set is at %s", self.url, jwks_uri)
        self.url = jwks_uri
        self.discovered = True

    def _accept(self, status: int, body: bytes) -> bool:
        """Install the keys of a fetched document; ``True`` if they changed."""
        try:
            try:
                found, ignored = keys_from_jwks(body, algorithm=self.algorithm)
            except ValueError as exc:
                raise _FetchFailed(str(exc)) from None
            if not found:
                reason = no_usable_key(jwk_entries(body)[:MAX_JWKS_KEYS], self.algorithm)
                raise _FetchFailed(reason, reason.partition(":")[0])
        except _FetchFailed as exc:
            return self._failed(str(exc), exc.cause)
        for reason in ignored:
            if reason not in self._reported:  # once, not at every refresh
                self._reported.add(reason)
                logger.warning("JWKS %s: ignoring %s", self.url, reason)
        self._fetched_at = self.clock()
        self._failed_at = None
        self.last_error = self.cause = None
        new = KeySet(self.algorithm or "", None, dict(found.items()))
        changed = dict(new.verifying) != dict(self.keys.verifying)
        if changed:
            logger.info("JWKS %s: now using keys %s", self.url, ", ".join(map(str, found)))
            self._publish(new)
        return changed

    def _failed(self, reason: str, cause: str | None = None) -> bool:
        self._failed_at = self.clock()
        self.last_error = reason
        self.cause = cause
        logger.warning(
            "JWKS %s: %s; %s",
            self.url,
            reason,
            "keeping the cached keys" if self.keys.verifying else "no key available yet",
        )
        return False

    def _publish(self, keys: KeySet) -> None:
        self.keys = keys
        if self.on_update is not None:
            self.on_update(keys)


def build_keys(
    *,
    algorithm: str,
    secret: KeyMaterial | None,
    public_key: KeyMaterial | Iterable[KeyMaterial] | None,
    previous_keys: Iterable[KeyMaterial] | Mapping[str, KeyMaterial],
    kid: str | None,
    strict: bool,
    jwks: Mapping[str, Any] | str | bytes | None,
    jwks_url: str | None,
    jwks_options: JWKSOptions | None,
    oidc_discovery: bool = False,
    iss: str = "",
) -> tuple[KeySet, RemoteJWKS | None]:
    """Decide where an ApoJWT's keys come from: local material, a JWK set document, a URL or ``iss``'s discovery."""
    if oidc_discovery:
        if jwks is not None or jwks_url is not None:
            raise ConfigurationError(
                "oidc_discovery=True finds the key set from iss=: do not combine it with jwks= or jwks_url=."
            )
        if not isinstance(iss, str) or not iss:
            raise ConfigurationError(
                "oidc_discovery=True needs iss=, the issuer URL exactly as its tokens and its OpenID configuration "
                'say it (e.g. iss="https://auth.example.com/realms/shop").'
            )
        jwks_url = discovery_url(iss)
    if isinstance(public_key, (str, bytes)) or (public_key is not None and not isinstance(public_key, Iterable)):
        public_keys: list[KeyMaterial] = [public_key]
    else:
        public_keys = list(public_key or ())
    if jwks is None and jwks_url is None:
        if jwks_options is not None:
            raise ConfigurationError("jwks_options= only applies together with jwks_url=.")
        keys = KeySet.build(
            algorithm=algorithm,
            secret=secret,
            public_keys=public_keys,
            previous_keys=previous_keys,
            kid=kid,
            strict=strict,
        )
        return keys, None
    if jwks is not None and jwks_url is not None:
        raise ConfigurationError("Pass either jwks= (a JWK set) or jwks_url= (where to fetch it), not both.")
    if secret is not None or public_keys or list(previous_keys) or kid is not None:
        what = "oidc_discovery=True builds" if oidc_discovery else "jwks=/jwks_url= build"
        raise ConfigurationError(
            f"{what} a verify-only instance: do not combine it with a secret, public_key=, previous_keys= or kid=."
        )
    # HS* (the default) means "not chosen": each key then brings its own algorithm.
    pinned = algorithm if algorithm in ASYMMETRIC_ALGORITHMS else None
    if pinned is None and algorithm not in ("HS256", "HS384", "HS512"):
        raise ConfigurationError(f"Unsupported algorithm {algorithm!r} ('none' is never allowed).")
    if jwks is not None:
        if jwks_options is not None:
            raise ConfigurationError("jwks_options= only applies together with jwks_url=.")
        return KeySet.from_jwks(jwks, algorithm=pinned), None
    assert jwks_url is not None  # noqa: S101 - narrowed above
    try:
        source = RemoteJWKS(jwks_url, algorithm=pinned, options=jwks_options, issuer=iss if oidc_discovery else None)
    except ConfigurationError as exc:
        if not oidc_discovery:
            raise
        raise ConfigurationError(f"oidc_discovery=True: iss={iss!r} is not usable ({exc.detail})") from None
    return source.keys, source


def render_jwks(document: Mapping[str, Any]) -> tuple[bytes, str]:
    """Serialise a JWK set once and compute its strong ``ETag``."""
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'

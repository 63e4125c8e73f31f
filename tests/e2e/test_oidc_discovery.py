"""oidc_discovery=True against real HTTP servers on 127.0.0.1 (tests/idp.py), and tokens other JOSE libraries mint."""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from typing import Any

import pytest

from fastapi_apojwt import ApoJWT, JWKSOptions
from fastapi_apojwt.errors import ConfigurationError, ServiceUnavailableError, UnknownKeyError, WrongTokenTypeError
from fastapi_apojwt.jwks import discovery_url
from tests.idp import (
    AUTH0_API,
    ENTRA_API,
    Provider,
    auth0_access_token,
    entra_access_token,
    keycloak_access_token,
    serving,
)
from tests.keypairs import private_pem

pytestmark = pytest.mark.e2e


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entra_verifier(provider: Provider, **options: Any) -> ApoJWT:
    return ApoJWT(
        iss=provider.issuer,
        server_audience=[ENTRA_API],
        oidc_discovery=True,
        algorithm=options.pop("algorithm", "RS256"),
        permissions_claim=["scp", "roles"],
        **options,
    )


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://sso.example.com/realms/shop", "https://sso.example.com/realms/shop/.well-known/openid-configuration"),
        ("https://shop.eu.auth0.com/", "https://shop.eu.auth0.com/.well-known/openid-configuration"),
        (
            "https://login.microsoftonline.com/t/v2.0",
            "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration",
        ),
    ],
)
def test_discovery_url(issuer: str, url: str) -> None:
    assert discovery_url(issuer) == url
    ajwt = ApoJWT(iss=issuer, server_audience=["a"], oidc_discovery=True, algorithm="RS256")
    assert ajwt.key_source.url == url  # type: ignore[union-attr]
    assert ajwt.keys.signing is None


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"iss": ""}, "needs iss="),
        ({"iss": "http://idp.example.com"}, "plain http"),
        ({"iss": "not a url"}, "not usable"),
        ({"jwks_url": "https://idp.example.com/jwks"}, "jwks= or jwks_url="),
        ({"jwks": {"keys": []}}, "jwks= or jwks_url="),
        ({"public_key": private_pem("RS256", 1)}, "verify-only"),
        ({"secret": private_pem("RS256", 1)}, "verify-only"),
        ({"kid": "k"}, "verify-only"),
    ],
)
def test_refused_combinations(arguments: dict[str, Any], match: str) -> None:
    arguments = {"iss": "https://idp.example.com", **arguments}
    with pytest.raises(ConfigurationError, match=match):
        ApoJWT(server_audience=["a"], oidc_discovery=True, algorithm="RS256", **arguments)


def test_a_discovering_verifier_mints_nothing() -> None:
    ajwt = ApoJWT(iss="https://idp.example.com", server_audience=["a"], oidc_discovery=True, algorithm="RS256")
    with pytest.raises(Exception, match="only verifies"):
        ajwt.create_token(sub="alice")


# -- discovery ---------------------------------------------------------------------------------------


async def test_discovery_then_keys_then_only_refreshes() -> None:
    with serving("entra") as entra:
        clock = Clock()
        ajwt = entra_verifier(entra, jwks_options=JWKSOptions(cache_ttl=60, refetch_interval=30))
        ajwt.key_source.clock = clock  # type: ignore[union-attr]
        assert entra.requests == []  # nothing at construction
        ctx = await ajwt.verify(entra_access_token(entra))
        assert ctx.permissions == ("Orders.Read", "Orders.Write", "Orders.Admin")
        assert entra.requests == [entra.discovery_path, entra.jwks_path]
        for _ in range(5):
            await ajwt.verify(entra_access_token(entra))
        assert len(entra.requests) == 2
        clock.now += 61  # the TTL: the key set again, never the discovery document
        await ajwt.verify(entra_access_token(entra))
        assert entra.requests == [entra.discovery_path, entra.jwks_path, entra.jwks_path]


async def test_rotation_unknown_kid_refetches_rate_limited() -> None:
    with serving("entra") as entra:
        clock = Clock()
        ajwt = entra_verifier(entra, jwks_options=JWKSOptions(cache_ttl=3600, refetch_interval=30))
        ajwt.key_source.clock = clock  # type: ignore[union-attr]
        await ajwt.verify(entra_access_token(entra))
        entra.index = 8  # the provider rotates: a new key and kid (x5t of the new certificate)
        rotated = entra_access_token(entra)
        assert (await ajwt.verify(rotated)).sub  # one refetch for the unknown kid
        entra.index = 9
        for _ in range(5):
            with pytest.raises(UnknownKeyError):
                await ajwt.verify(entra_access_token(entra))
        assert entra.requests.count(entra.jwks_path) == 2  # at most one refetch per refetch_interval
        assert entra.requests.count(entra.discovery_path) == 1


@pytest.mark.parametrize("sync", [False, True], ids=["verify", "decode"])
async def test_issuer_mismatch_fails_closed(sync: bool, caplog: pytest.LogCaptureFixture) -> None:
    with serving("keycloak") as keycloak:
        for wrong in (keycloak.issuer + "/", "https://evil.example.com/realms/shop", keycloak.issuer.upper(), ""):
            keycloak.discovery_issuer = wrong
            keycloak.requests.clear()
            ajwt = ApoJWT(
                iss=keycloak.issuer,
                server_audience=["orders-api"],
                oidc_discovery=True,
                algorithm="RS256",
                permissions_claim="realm_access.roles",
            )
            token = keycloak_access_token(keycloak)
            with caplog.at_level(logging.ERROR, logger="fastapi_apojwt.jwks"):
                with pytest.raises(ServiceUnavailableError) as caught:
                    await (asyncio.to_thread(ajwt.decode, token) if sync else ajwt.verify(token))
            assert "names another issuer" in caught.value.detail
            assert keycloak.requests == [keycloak.discovery_path]  # its jwks_uri is never followed
            assert "refusing every token" in caplog.text
            assert not ajwt.keys.verifying


async def test_the_mismatch_recovers_once_the_document_is_right() -> None:
    with serving("auth0", discovery_issuer="https://someone-else.auth0.com/") as auth0:
        clock = Clock()
        ajwt = ApoJWT(
            iss=auth0.issuer,
            server_audience=[AUDIENCE_AUTH0],
            oidc_discovery=True,
            algorithm="RS256",
            permissions_claim="permissions",
            jwks_options=JWKSOptions(retry_interval=5),
        )
        ajwt.key_source.clock = clock  # type: ignore[union-attr]
        token = auth0_access_token(auth0)
        with pytest.raises(ServiceUnavailableError):
            await ajwt.verify(token)
        auth0.discovery_issuer = None
        with pytest.raises(ServiceUnavailableError):  # the retry interval holds
            await ajwt.verify(token)
        clock.now += 5
        assert (await ajwt.verify(token)).permissions == ("orders:read", "orders:write")


AUDIENCE_AUTH0 = AUTH0_API


@pytest.mark.parametrize(
    ("document", "cause"),
    [
        ({"jwks_uri": "https://"}, "unusable"),
        ({"jwks_uri": "http://keys.example.com/jwks"}, "unusable"),
        ({"jwks_uri": None}, "unusable"),
        ({"jwks_uri": 7}, "unusable"),
    ],
)
async def test_an_unusable_document_fails_closed(document: dict[str, Any], cause: str) -> None:
    with serving("entra") as entra:
        original = entra.discovery

        def broken() -> dict[str, Any]:
            return {**original(), **document}

        entra.discovery = broken  # type: ignore[method-assign]
        with pytest.raises(ServiceUnavailableError, match=cause):
            await entra_verifier(entra).verify(entra_access_token(entra))


async def test_no_key_for_the_algorithm_is_said_in_the_503_and_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with serving("entra") as entra:
        ajwt = ApoJWT(iss=entra.issuer, server_audience=[ENTRA_API], oidc_discovery=True, permissions_claim="scp")
        with (
            caplog.at_level(logging.WARNING, logger="fastapi_apojwt.jwks"),
            pytest.raises(ServiceUnavailableError) as caught,
        ):
            await ajwt.verify(entra_access_token(entra))
        assert caught.value.detail == (
            "The keys of the token issuer are not available right now "
            "(the key set holds no usable key that declares its algorithm); try again shortly."
        )
        assert 'pass algorithm="RS256"' in caplog.text
        pinned = entra_verifier(entra, algorithm="ES256")
        with pytest.raises(ServiceUnavailableError, match="no usable key for ES256"):
            await pinned.verify(entra_access_token(entra))


# -- interop: tokens minted by other JOSE implementations ---------------------------------------------


def _claims(provider: Provider) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": provider.issuer, "sub": "client-7", "aud": AUTH0_API, "iat": now, "exp": now + 300,
            "client_id": "client-7", "jti": "j-1", "scope": "orders:read orders:write"}  # fmt: skip


async def test_a_joserfc_rfc_9068_token() -> None:
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import RSAKey

    with serving("auth0") as auth0:
        key = RSAKey.import_key(private_pem("RS256", auth0.index))
        token = jose_jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": auth0.kid}, _claims(auth0), key)
        ajwt = ApoJWT(iss=auth0.issuer, server_audience=[AUTH0_API], oidc_discovery=True, permissions_claim="scope")
        assert (await ajwt.verify(token)).permissions == ("orders:read", "orders:write")
        refused = jose_jwt.encode({"alg": "RS256", "typ": "dpop+jwt", "kid": auth0.kid}, _claims(auth0), key)
        with pytest.raises(WrongTokenTypeError):
            await ajwt.verify(refused)


async def test_an_authlib_rfc_9068_token() -> None:
    with warnings.catch_warnings(record=True):  # authlib.jose is deprecated for joserfc: record, never raise
        warnings.simplefilter("always")
        from authlib.jose import JsonWebToken

    with serving("auth0") as auth0:
        header = {"alg": "RS256", "typ": "application/at+jwt", "kid": auth0.kid}
        token = JsonWebToken(["RS256"]).encode(header, _claims(auth0), private_pem("RS256", auth0.index)).decode()
        ajwt = ApoJWT(iss=auth0.issuer, server_audience=[AUTH0_API], oidc_discovery=True, permissions_claim="scope")
        assert (await ajwt.verify(token)).sub == "client-7"

"""Publishing a JWK set, and the configuration of a JWKS consumer (no network here)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, ConfigurationError, JWKSOptions, RemoteJWKS, SigningUnavailableError
from fastapi_apojwt.jwks import check_jwks_url, render_jwks
from tests.keypairs import private_pem, public_pem

ISSUER = "https://auth.test"


def _issuer(name: str = "EdDSA", **kwargs: Any) -> ApoJWT:
    return ApoJWT(private_pem(name), algorithm="EdDSA" if name.startswith("EdDSA") else name, iss=ISSUER, **kwargs)


def test_jwks_lists_every_key_with_kid_signing_key_first() -> None:
    ajwt = ApoJWT(
        private_pem("ES256", 1),
        algorithm="ES256",
        previous_keys=[private_pem("ES256", 2)],
        public_key=public_pem("ES256"),
    )
    keys = ajwt.jwks()["keys"]
    assert len(keys) == 3
    assert all(k["kid"] and k["alg"] == "ES256" and k["use"] == "sig" and "d" not in k for k in keys)
    token = ajwt.create_token(sub="a")
    assert ajwt.codec.split(token)[0]["kid"] == keys[0]["kid"]


def test_jwks_router_serves_the_set_with_cache_headers() -> None:
    ajwt = _issuer()
    app = FastAPI()
    app.include_router(ajwt.jwks_router(max_age=600))
    client = TestClient(app)
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=600"
    assert response.json() == ajwt.jwks()
    etag = response.headers["etag"]
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get("/.well-known/jwks.json", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert "/.well-known/jwks.json" not in app.openapi()["paths"]  # infrastructure, like /openapi.json


def test_jwks_router_custom_path_and_schema() -> None:
    app = FastAPI()
    app.include_router(_issuer().jwks_router("/keys", include_in_schema=True))
    assert TestClient(app).get("/keys").status_code == 200
    operation = app.openapi()["paths"]["/keys"]["get"]
    assert "security" not in operation


def test_jwks_router_refuses_a_shared_secret() -> None:
    with pytest.raises(ConfigurationError, match="never be published"):
        ApoJWT("s" * 64).jwks_router()


@pytest.mark.parametrize(("kwargs", "match"), [({"max_age": -1}, "max_age"), ({"path": "keys"}, "start with")])
def test_jwks_router_checks_its_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        _issuer().jwks_router(**kwargs)


def test_render_is_stable() -> None:
    body, etag = render_jwks({"keys": [{"b": 1, "a": 2}]})
    assert json.loads(body) == {"keys": [{"a": 2, "b": 1}]}
    assert render_jwks({"keys": [{"a": 2, "b": 1}]}) == (body, etag)


@pytest.mark.parametrize("source", ["public_key", "jwks", "jwks_json", "jwks_url"])
def test_verify_only_instances_refuse_to_mint_and_say_why(source: str) -> None:
    issuer = _issuer()
    kwargs: dict[str, Any] = {
        "public_key": {"public_key": public_pem("EdDSA"), "algorithm": "EdDSA"},
        "jwks": {"jwks": issuer.jwks()},
        "jwks_json": {"jwks": json.dumps(issuer.jwks())},
        "jwks_url": {"jwks_url": "https://auth.test/.well-known/jwks.json"},
    }[source]
    verifier = ApoJWT(iss=ISSUER, **kwargs)
    with pytest.raises(SigningUnavailableError, match="only verifies tokens") as caught:
        verifier.create_token(sub="a")
    assert caught.value.status_code == 500  # a server-side programming error, never a client's fault


@pytest.mark.parametrize(
    ("url", "allow_http", "ok"),
    [
        ("https://auth.example.com/.well-known/jwks.json", False, True),
        ("http://127.0.0.1:8000/.well-known/jwks.json", False, True),
        ("http://localhost:8000/jwks", False, True),
        ("http://[::1]:8000/jwks", False, True),
        ("http://auth.example.com/jwks", False, False),
        ("http://auth.example.com/jwks", True, True),
        ("ftp://auth.example.com/jwks", True, False),
        ("file:///etc/passwd", True, False),
        ("/.well-known/jwks.json", False, False),
        ("https://user:pw@auth.example.com/jwks", False, False),
        ("", False, False),
    ],
)
def test_jwks_url_rules(url: str, allow_http: bool, ok: bool) -> None:
    if ok:
        assert check_jwks_url(url, allow_http=allow_http) == url
        ApoJWT(jwks_url=url, jwks_options=JWKSOptions(allow_http=allow_http))
    else:
        with pytest.raises(ConfigurationError):
            ApoJWT(jwks_url=url, jwks_options=JWKSOptions(allow_http=allow_http))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cache_ttl": -1},
        {"refetch_interval": float("nan")},
        {"retry_interval": True},
        {"timeout": 0},
        {"max_stale": -5},
        {"max_bytes": 10},
    ],
)
def test_jwks_options_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="JWKSOptions"):
        JWKSOptions(**kwargs)


def test_jwks_options_need_jwks_url() -> None:
    with pytest.raises(ConfigurationError, match="jwks_url"):
        ApoJWT("s" * 64, jwks_options=JWKSOptions())


def test_remote_instance_is_lazy_and_pins_algorithm_when_asked() -> None:
    ajwt = ApoJWT(jwks_url="https://auth.test/jwks", algorithm="ES256")
    source = ajwt.key_source
    assert isinstance(source, RemoteJWKS)
    assert source.fetches == 0  # nothing fetched at construction: the issuer may start later
    assert source.algorithm == "ES256"
    assert ajwt.jwks() == {"keys": []}
    assert "RemoteJWKS('https://auth.test/jwks'" in repr(source)
    assert ApoJWT(jwks_url="https://auth.test/jwks").key_source.algorithm is None  # type: ignore[union-attr]

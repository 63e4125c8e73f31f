"""The Security page's snippet (docs/examples/security/hardened.py), executed with real Redis."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from fastapi_apojwt import ConfigurationError
from tests.docs.test_examples_import import load_example
from tests.security.attack import build_app, forge, valid_claims

SNIPPET = Path(__file__).resolve().parents[2] / "docs" / "examples" / "security" / "hardened.py"
PAGE = Path(__file__).resolve().parents[2] / "docs" / "security.md"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, shared_redis_url: str) -> None:
    monkeypatch.setenv("APOJWT_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("APOJWT_REFRESH_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("APOJWT_REDIS_URL", shared_redis_url)
    monkeypatch.setenv("APOJWT_REDIS_MIRROR", "0")


@pytest.mark.usefixtures("env")
async def test_hardened_configuration_two_instances_share_revocation() -> None:
    """Two instances built by the snippet: a logout on one holds on the other; forged tokens are refused."""
    module = load_example(SNIPPET)
    first, second = module.make_ajwt(), module.make_ajwt()
    access, refresh = first.create_token(sub="alice", permissions=["orders:read"])
    assert refresh  # the pair came back: refresh tokens are configured
    headers = {"Authorization": f"Bearer {access}"}
    forged = {"Authorization": f"Bearer {forge({'alg': 'none'}, valid_claims(), key=None)}"}
    transport = httpx.ASGITransport(app=build_app(second))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/orders", headers=headers)).status_code == 200
            assert (await client.get("/orders", headers=forged)).status_code == 401
            await first.revoke_family(first.decode(access))  # a logout on the first instance...
            assert (await client.get("/orders", headers=headers)).status_code == 401  # ...holds on the second
    finally:
        await first.store.close()
        await second.store.close()


def test_hardened_configuration_refuses_weak_secret(monkeypatch: pytest.MonkeyPatch, shared_redis_url: str) -> None:
    """``strict=True``: a short secret stops the service at start-up."""
    monkeypatch.setenv("APOJWT_SECRET", "too-short")
    monkeypatch.setenv("APOJWT_REFRESH_SECRET", secrets.token_urlsafe(48))
    monkeypatch.setenv("APOJWT_REDIS_URL", shared_redis_url)
    monkeypatch.setenv("APOJWT_REDIS_MIRROR", "0")
    with pytest.raises(ConfigurationError):
        load_example(SNIPPET).make_ajwt()


def test_security_page_includes_the_snippet() -> None:
    assert '--8<-- "docs/examples/security/hardened.py"' in PAGE.read_text(encoding="utf-8")

"""Issue 12, unit level: the auth_time claim in the codec, event reasons, safe failure descriptions,
multi-process detection."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from fastapi_apojwt import (
    ApoJWT,
    ConfigurationError,
    CSRFError,
    ExpiredTokenError,
    ImmatureTokenError,
    InsufficientPermissionError,
    InvalidClaimError,
    MemoryStore,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    deployment,
)
from fastapi_apojwt.events import EVENT_NAMES, AuthEvent, describe_failure, failure_reason
from tests.conftest import AUDIENCE, ISSUER, SECRET
from tests.unit.test_tokens import NOW, Clock, claims, forge


@pytest.fixture
def ajwt() -> ApoJWT:
    return ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=Clock())


@pytest.mark.parametrize("value", [NOW - 3600.123456, NOW, int(NOW) - 5, NOW + 0.999])
def test_auth_time_numbers_accepted(ajwt: ApoJWT, value: float) -> None:
    assert ajwt.decode(forge(claims(auth_time=value))).claims["auth_time"] == value


@pytest.mark.parametrize("value", ["1800000000", True, None, [], {}, -1, 1e20])
def test_auth_time_of_the_wrong_type_or_range_is_refused(ajwt: ApoJWT, value: Any) -> None:
    payload = claims()
    payload["auth_time"] = value  # None stays: a null auth_time is a wrong type, not an absent claim
    with pytest.raises(InvalidClaimError):
        ajwt.decode(forge(payload))


def test_auth_time_in_the_future_is_refused(ajwt: ApoJWT) -> None:
    with pytest.raises(ImmatureTokenError):
        ajwt.decode(forge(claims(auth_time=NOW + 5)))


def test_minted_tokens_carry_auth_time_with_microseconds() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=Clock(NOW + 0.5))
    context = ajwt.decode(ajwt.create_token(sub="alice"))
    assert context.claims["auth_time"] == NOW + 0.5
    assert context.claims["iat"] == int(NOW)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (MissingTokenError(), "missing_token"),
        (ExpiredTokenError(), "invalid_token:expired"),
        (RevokedTokenError(), "invalid_token:revoked"),
        (InsufficientPermissionError(scope=["x"]), "insufficient_scope:permission"),
        (CSRFError(), "csrf"),
        (ServiceUnavailableError(), "unavailable"),
    ],
)
def test_failure_reasons(error: Any, reason: str) -> None:
    assert failure_reason(error) == reason


def test_describe_failure_is_short_and_never_token_material() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    text = describe_failure(ConnectionError(f"refused for {token}\nsecond line"))
    assert text.startswith("ConnectionError: refused for")
    assert token not in text
    assert "eyJ" not in text
    assert "second line" not in text
    assert len(describe_failure(RuntimeError("x" * 500))) < 120
    assert describe_failure(RuntimeError()) == "RuntimeError"


def test_event_names_and_model() -> None:
    assert set(EVENT_NAMES) == {
        "refreshed",
        "refresh_reuse",
        "token_revoked",
        "family_revoked",
        "subject_revoked",
        "auth_failed",
        "store_unavailable",
    }
    with pytest.raises(ValueError, match="name"):
        AuthEvent(name="nope", at=0)  # type: ignore[arg-type]


def test_multi_process_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    assert deployment.multi_process_server() is None  # pytest itself is no worker
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    assert deployment.multi_process_server() == "gunicorn"
    monkeypatch.delenv("SERVER_SOFTWARE")
    monkeypatch.setattr(deployment.multiprocessing, "parent_process", lambda: object())
    monkeypatch.setattr(deployment.sys, "argv", ["uvicorn", "app:app", "--workers", "2"])
    assert "uvicorn --workers" in (deployment.multi_process_server() or "")
    monkeypatch.setattr(deployment.sys, "argv", ["uvicorn", "app:app", "--reload"])
    assert deployment.multi_process_server() is None


def test_memory_store_under_workers_warns_once_and_strict_refuses(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    monkeypatch.setattr(deployment, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="fastapi_apojwt.deployment"):
        ApoJWT(SECRET)
        ApoJWT(SECRET, store=MemoryStore())
    warnings = [r for r in caplog.records if r.name == "fastapi_apojwt.deployment"]
    assert len(warnings) == 1
    assert "RedisStore" in warnings[0].getMessage()
    assert "gunicorn" in warnings[0].getMessage()
    with pytest.raises(ConfigurationError, match="RedisStore"):
        ApoJWT(SECRET, strict=True)


def test_a_shared_store_under_workers_is_quiet(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.docs.test_examples_import import EXAMPLES, load_example

    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    monkeypatch.setattr(deployment, "_warned", set())
    store = load_example(EXAMPLES / "redis" / "custom_store.py").DictStore()
    with caplog.at_level(logging.WARNING):
        ApoJWT(SECRET, store=store, strict=True)
    assert not caplog.records

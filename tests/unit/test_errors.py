"""The exception tree: statuses, RFC 6750 challenges, fixed messages, user handlers."""

# No `from __future__ import annotations`: FastAPI must resolve the route annotations
# of handlers defined inside test functions.

import inspect
from typing import Any, NoReturn

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException as StarletteHTTPException

import fastapi_apojwt
from fastapi_apojwt import (
    ApoJWT,
    ApoJWTError,
    ConfigurationError,
    CSRFError,
    ExpiredTokenError,
    InsufficientPermissionError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    ServiceUnavailableError,
    SigningUnavailableError,
)
from fastapi_apojwt._http import as_http
from tests.apps import build_app
from tests.conftest import AUDIENCE, ISSUER, SECRET

ERRORS = [
    obj
    for name, obj in vars(fastapi_apojwt).items()
    if inspect.isclass(obj)
    and issubclass(obj, Exception)
    and not issubclass(obj, Warning)
    and name in fastapi_apojwt.__all__
]
INVALID_TOKEN_ERRORS = [e for e in ERRORS if issubclass(e, InvalidTokenError)]


def test_one_base_class_exported_at_top_level() -> None:
    assert "ApoJWTError" in fastapi_apojwt.__all__
    assert len(ERRORS) >= 20
    for error in ERRORS:
        assert issubclass(error, ApoJWTError), error
        assert error.__doc__


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_errors_are_plain_python_and_render_as_http_through_their_twin(error: type[ApoJWTError]) -> None:
    assert not issubclass(error, StarletteHTTPException)  # the token layer imports no web framework
    exc = error()
    twin = as_http(exc)
    assert isinstance(twin, StarletteHTTPException)
    assert isinstance(twin, error)
    assert type(twin).__name__ == error.__name__
    assert (twin.status_code, twin.detail, twin.headers) == (exc.status_code, exc.detail, exc.headers)
    assert as_http(twin) is twin
    assert type(as_http(error())) is type(twin)  # one twin class per error class


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_error_knows_its_status_and_has_a_fixed_message(error: type[ApoJWTError]) -> None:
    exc = error()
    assert isinstance(exc.status_code, int)
    assert 400 <= exc.status_code < 600
    assert isinstance(exc.detail, str)
    assert exc.detail
    if error is ConfigurationError:
        assert str(exc) == exc.detail  # read in a start-up traceback: the message alone
    else:
        assert str(exc.status_code) in str(exc)
    assert error.__name__ in repr(exc)


@pytest.mark.parametrize("error", INVALID_TOKEN_ERRORS, ids=lambda e: e.__name__)
def test_invalid_token_errors_carry_the_invalid_token_challenge(error: type[InvalidTokenError]) -> None:
    exc = error()
    assert exc.status_code == 401
    assert exc.error == "invalid_token"
    assert exc.headers is not None
    challenge = exc.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert "scope=" not in challenge


def test_statuses() -> None:
    assert MissingTokenError().status_code == 401
    assert InvalidRequestError().status_code == 400
    assert InsufficientPermissionError().status_code == 403
    assert CSRFError().status_code == 403
    assert ServiceUnavailableError().status_code == 503
    assert ConfigurationError().status_code == 500
    assert SigningUnavailableError().status_code == 500


def test_missing_token_challenge_has_no_error_code() -> None:
    assert MissingTokenError().headers == {"WWW-Authenticate": "Bearer"}


def test_insufficient_scope_challenge_names_the_scope() -> None:
    exc = InsufficientPermissionError(scope=("orders:read", "orders:write"))
    assert exc.headers is not None
    challenge = exc.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", error_description="')
    assert challenge.endswith(', scope="orders:read orders:write"')


def test_invalid_request_challenge() -> None:
    assert InvalidRequestError().headers == {
        "WWW-Authenticate": 'Bearer error="invalid_request", error_description="The request is malformed."'
    }


def test_service_unavailable_asks_to_retry() -> None:
    assert ServiceUnavailableError().headers == {"Retry-After": "1"}


def test_challenge_stays_a_valid_quoted_string() -> None:
    exc = ExpiredTokenError('bad "quote" \\ back\r\nslash\x00 é')
    assert exc.headers is not None
    description = exc.headers["WWW-Authenticate"].split('error_description="', 1)[1][:-1]
    assert '"' not in description
    assert "\\" not in description
    assert all(0x20 <= ord(ch) < 0x7F for ch in description)
    # The body keeps the full message.
    assert exc.detail == 'bad "quote" \\ back\r\nslash\x00 é'


def test_configuration_error_is_a_value_error() -> None:
    assert issubclass(ConfigurationError, ValueError)
    with pytest.raises(ValueError, match="algorithm"):
        ApoJWT(SECRET, algorithm="nope")


def test_custom_detail_replaces_the_message() -> None:
    assert ExpiredTokenError("Log in again.").detail == "Log in again."
    assert ExpiredTokenError().detail == "The token has expired."


def test_errors_can_be_caught_around_decode() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    with pytest.raises(ApoJWTError) as info:
        ajwt.decode("garbage")
    assert info.value.status_code == 401


def _app(ajwt: ApoJWT) -> FastAPI:
    return build_app(ajwt)


def test_users_map_errors_with_their_own_fastapi_handler() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    app = _app(ajwt)

    @app.exception_handler(ApoJWTError)
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApoJWTError)
        return JSONResponse(
            {"error": type(exc).__name__, "status": exc.status_code},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    client = TestClient(app)
    response = client.get("/me", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401
    assert response.json() == {"error": "MalformedTokenError", "status": 401}
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    token = ajwt.create_token(sub="a")
    response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"error": "InsufficientPermissionError", "status": 403}


def test_exception_handler_argument_is_called_with_code_and_message() -> None:
    calls: list[tuple[int, str]] = []

    def handler(code: int, msg: str, *args: Any, **kwargs: Any) -> NoReturn:
        calls.append((code, msg))
        raise HTTPException(status_code=code, detail={"custom": msg})

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], exception_handler=handler)
    client = TestClient(_app(ajwt))
    assert client.get("/me").json() == {"detail": {"custom": MissingTokenError.message}}
    token = ajwt.create_token(sub="a")
    response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert calls == [(401, MissingTokenError.message), (403, InsufficientPermissionError.message)]


def test_an_exception_handler_that_returns_still_fails_closed() -> None:
    def careless(code: int, msg: str, *args: Any, **kwargs: Any) -> None:
        return None

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], exception_handler=careless)  # type: ignore[arg-type]
    client = TestClient(_app(ajwt))
    response = client.get("/me")
    assert response.status_code == 401
    token = ajwt.create_token(sub="a")
    assert client.get("/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 403

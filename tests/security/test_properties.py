"""Property-based attacks (Hypothesis): arbitrary headers, cookies and token bytes.

Two properties, over everything a client controls:

* never a 500: every response is a clean 2xx/4xx with a JSON body;
* never access without a genuine token: a request that does not carry a
  genuine, unmodified token is never let through.

Bounded (a few hundred examples per property) so it runs in ``make test``;
``HYPOTHESIS_PROFILE=long`` raises the budget for a longer local run.
"""

import json
import os
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastapi_apojwt import ApoJWTError
from tests.security.attack import SECRET, Target, forge_raw, make_target, raw_asgi, segment, valid_claims

settings.register_profile("default-security", max_examples=150, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=5000, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default-security")
if PROFILE not in ("default-security", "long"):
    PROFILE = "default-security"
SETTINGS = settings.get_profile(PROFILE)
SETTINGS = settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_TARGET: Target | None = None


def target() -> Target:
    global _TARGET
    if _TARGET is None:
        _TARGET = make_target(refresh=True)
    return _TARGET


B64URL = string.ascii_letters + string.digits + "-_"
token_text = st.one_of(
    st.text(alphabet=B64URL + ".", max_size=300),
    st.text(max_size=200),
    st.lists(st.text(alphabet=B64URL, max_size=80), min_size=1, max_size=6).map(".".join),
)
header_bytes = st.binary(max_size=400)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CLAIM_NAMES = ["sub", "perms", "data", "exp", "nbf", "iat", "iss", "aud", "jti", "type", "fresh", "fam"]


def _assert_clean(status: int, body: bytes) -> None:
    assert status < 500, body[:300]
    json.loads(body)


@SETTINGS
@given(value=header_bytes)
def test_property_arbitrary_authorization_bytes(value: bytes) -> None:
    """Any Authorization header bytes: never a 500, never a 200."""
    t = target()
    assume(t.genuine.encode() not in value and t.genuine_admin.encode() not in value)
    status, _, body = raw_asgi(t.app, [(b"authorization", value)])
    _assert_clean(status, body)
    assert status in (400, 401), status


@SETTINGS
@given(token=token_text)
def test_property_arbitrary_bearer_token_text(token: str) -> None:
    """Any token text after ``Bearer``: never a 500, never a 200; ``decode`` raises only ApoJWTError."""
    t = target()
    status, _, body = raw_asgi(t.app, [(b"authorization", b"Bearer " + token.encode("utf-8", "surrogatepass"))])
    _assert_clean(status, body)
    assert status in (400, 401)
    with pytest.raises(ApoJWTError):
        t.ajwt.decode(token)


@SETTINGS
@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from([b"authorization", b"cookie", b"x-csrf-token", b"content-type", b"host"])
            | st.binary(max_size=20),
            st.binary(max_size=200),
        ),
        max_size=6,
    ),
    path=st.sampled_from(["/me", "/orders", "/admin", "/legacy", "/refresh"]),
)
def test_property_arbitrary_header_sets(headers: list[tuple[bytes, bytes]], path: str) -> None:
    """Any set of header names and values (cookies included) on every route: never a 500, never a 2xx."""
    t = target()
    method = "POST" if path == "/refresh" else "GET"
    status, _, body = raw_asgi(t.app, [(k.lower(), v) for k, v in headers], path=path, method=method)
    assert status < 500, body[:300]
    assert status >= 400, (status, body[:200])


@SETTINGS
@given(
    index=st.integers(min_value=0, max_value=10_000),
    action=st.sampled_from(["flip", "delete", "insert", "swap-case", "duplicate"]),
    char=st.characters(codec="latin-1"),
    which=st.sampled_from(["access", "admin"]),
)
def test_property_mutated_genuine_token_never_passes(index: int, action: str, char: str, which: str) -> None:
    """One-character mutations of a genuine token: either the token is unchanged or it is refused."""
    t = target()
    genuine = t.genuine if which == "access" else t.genuine_admin
    i = index % len(genuine)
    if action == "flip":
        mutated = genuine[:i] + char + genuine[i + 1 :]
    elif action == "delete":
        mutated = genuine[:i] + genuine[i + 1 :]
    elif action == "insert":
        mutated = genuine[:i] + char + genuine[i:]
    elif action == "swap-case":
        mutated = genuine[:i] + genuine[i].swapcase() + genuine[i + 1 :]
    else:
        mutated = genuine[:i] + genuine[i:] + genuine[i:]
    assume(mutated != genuine)
    status, _, body = raw_asgi(t.app, [(b"authorization", b"Bearer " + mutated.encode("latin-1"))], path="/me")
    _assert_clean(status, body)
    if status == 200:
        # Only possible when the mutation hit unused trailing bits, which the codec refuses: so never.
        pytest.fail(f"a mutated token was accepted: {action} at {i}")


@SETTINGS
@given(
    header_extra=st.dictionaries(
        st.sampled_from(["kid", "typ", "cty", "crit", "jku", "x5c", "zip", "b64"]), json_values, max_size=3
    ),
    overrides=st.dictionaries(st.sampled_from(CLAIM_NAMES), json_values, max_size=4),
)
def test_property_signed_arbitrary_claims_never_crash(header_extra: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Validly *signed* tokens with arbitrary header members and claim values: ApoJWTError or a sound context."""
    t = target()
    claims = valid_claims()
    claims.update(overrides)
    token = forge_raw(json.dumps({"alg": "HS256", **header_extra}), json.dumps(claims), SECRET)
    try:
        context = t.ajwt.decode(token)
    except ApoJWTError:
        pass
    else:
        assert isinstance(context.sub, str)
        assert all(isinstance(p, str) for p in context.permissions)
    status, _, body = raw_asgi(t.app, [(b"authorization", b"Bearer " + token.encode())], path="/me")
    _assert_clean(status, body)


@SETTINGS
@given(
    refresh=st.text(max_size=300) | token_text,
    csrf=st.text(max_size=60),
    csrf_cookie=st.text(max_size=60),
)
def test_property_arbitrary_refresh_cookies(refresh: str, csrf: str, csrf_cookie: str) -> None:
    """Any refresh/CSRF cookie and header values: never a 500, never a refresh without a genuine token."""
    t = target()
    cookie = f"refresh_token={refresh}; csrf_refresh_token={csrf_cookie}".encode("utf-8", "surrogatepass")
    headers = [(b"cookie", cookie), (b"x-csrf-token", csrf.encode("utf-8", "surrogatepass"))]
    status, _, body = raw_asgi(t.app, headers, path="/refresh", method="POST")
    _assert_clean(status, body)
    assert status in (400, 401, 403), status


def test_property_harness_accepts_genuine() -> None:
    """Control for the properties above: the harness lets genuine tokens through."""
    t = target()
    status, _, _ = raw_asgi(t.app, [(b"authorization", b"Bearer " + t.genuine.encode())], path="/me")
    assert status == 200
    header = segment({"alg": "HS256"})
    assert header.startswith("eyJ")

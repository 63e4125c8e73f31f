"""The verified-token cache: what a hit still checks, its bound, and that no request shares another's objects."""

# No `from __future__ import annotations`: FastAPI must resolve the local guards in route annotations.

import threading
from typing import Annotated, Any

import anyio.to_thread
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from fastapi_apojwt import (
    ApoJWT,
    ConfigurationError,
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidClaimError,
    InvalidSignatureError,
    InvalidTokenError,
    MalformedTokenError,
    RevokedTokenError,
    TokenContext,
)
from fastapi_apojwt._cache import _fast_classes, new_context
from fastapi_apojwt.context import FrozenDict, thaw
from tests.conftest import AUDIENCE, ISSUER, SECRET

NOW = 1_800_000_000.0
OTHER_SECRET = "another-secret-that-is-at-least-32-bytes!!"


class Clock:
    """A settable clock: time moves only when a test says so."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **options: Any) -> ApoJWT:
    return ApoJWT(SECRET, exp_period=900, iss=ISSUER, server_audience=[AUDIENCE], clock=clock, **options)


@pytest.fixture
def ajwt(clock: Clock) -> ApoJWT:
    return make(clock)


def mint(ajwt: ApoJWT, **data: Any) -> str:
    token: str = ajwt.create_token(sub="alice", permissions=["orders:read"], data=data or {"team": "a"})
    return token


def warm(ajwt: ApoJWT, token: str) -> TokenContext:
    """Verify ``token`` twice: a token is admitted to the cache on its second verification."""
    ajwt.decode(token)
    return ajwt.decode(token)


def cached(ajwt: ApoJWT) -> int:
    cache = ajwt.verifier.cache
    return 0 if cache is None else len(cache)


def forbid_verification(ajwt: ApoJWT, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any real verification fail loudly, so a passing decode proves a cache hit."""

    def no_verify(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("verified again: not a cache hit")

    monkeypatch.setattr(ajwt.codec, "verify", no_verify)
    monkeypatch.setattr(ajwt.codec, "verify_access", no_verify)  # what the verifier calls


# -- hits ---------------------------------------------------------------------------------


def test_second_decode_is_a_hit_with_an_equal_context(ajwt: ApoJWT, monkeypatch: pytest.MonkeyPatch) -> None:
    token = mint(ajwt)
    first = ajwt.decode(token)
    assert cached(ajwt) == 0  # the doorkeeper only noted it
    ajwt.decode(token)
    assert cached(ajwt) == 1
    forbid_verification(ajwt, monkeypatch)
    second = ajwt.decode(token)
    assert second == first
    assert second is not first
    assert second.model_dump() == first.model_dump()
    assert second.sub == "alice"
    assert second.permissions == ("orders:read",)
    assert second.token == token
    assert second.has_permission("orders:read")
    assert not second.has_permission("orders:write")


def test_tokens_seen_once_are_not_cached(ajwt: ApoJWT) -> None:
    for i in range(200):
        ajwt.decode(mint(ajwt, n=i))
    assert cached(ajwt) == 0


def test_tokens_seen_twice_stay_within_the_bound(clock: Clock) -> None:
    ajwt = make(clock, cache_size=64)
    for i in range(200):
        warm(ajwt, mint(ajwt, n=i))
    assert 60 <= cached(ajwt) <= 64


def test_cache_off_with_zero(clock: Clock) -> None:
    ajwt = make(clock, cache_size=0)
    token = mint(ajwt)
    assert ajwt.decode(token) == ajwt.decode(token)
    assert ajwt.verifier.cache is None


@pytest.mark.parametrize("size", [-1, True, 1.5, "10", None])
def test_cache_size_must_be_a_non_negative_int(clock: Clock, size: Any) -> None:
    with pytest.raises(ConfigurationError, match="cache_size"):
        make(clock, cache_size=size)


# -- what a hit still checks ----------------------------------------------------------------


def test_hit_rejects_an_expired_token(ajwt: ApoJWT, clock: Clock) -> None:
    token = mint(ajwt)
    warm(ajwt, token)
    clock.now = NOW + 899
    ajwt.decode(token)  # still valid, from the cache
    clock.now = NOW + 900
    with pytest.raises(ExpiredTokenError):
        ajwt.decode(token)
    assert cached(ajwt) == 0
    clock.now = NOW + 10_000
    with pytest.raises(ExpiredTokenError):
        ajwt.decode(token)


def test_hit_honours_leeway_exactly_as_a_miss(clock: Clock) -> None:
    ajwt = make(clock, leeway=30)
    token = mint(ajwt)
    warm(ajwt, token)
    clock.now = NOW + 929
    assert ajwt.decode(token).sub == "alice"
    clock.now = NOW + 930
    with pytest.raises(ExpiredTokenError):
        ajwt.decode(token)


def test_hit_rejects_when_the_clock_goes_back_before_issue(ajwt: ApoJWT, clock: Clock) -> None:
    token = mint(ajwt)
    warm(ajwt, token)
    clock.now = NOW - 60
    with pytest.raises(ImmatureTokenError):
        ajwt.decode(token)
    clock.now = NOW
    assert ajwt.decode(token).sub == "alice"  # verified again from scratch, cached again
    assert cached(ajwt) == 1


async def test_hit_rejects_a_revoked_token_at_once(ajwt: ApoJWT) -> None:
    token = mint(ajwt)
    context = await ajwt.verify(token)
    await ajwt.verify(token)  # cached now
    assert context.jti is not None
    await ajwt.store.revoke_token(context.jti, ttl=900)
    with pytest.raises(RevokedTokenError):
        await ajwt.verify(token)
    assert cached(ajwt) == 1  # revocation is asked of the store, not cached: the entry may stay


async def test_subject_revocation_beats_the_cache(ajwt: ApoJWT) -> None:
    token = mint(ajwt)
    await ajwt.verify(token)
    await ajwt.verify(token)
    await ajwt.store.revoke_subject("alice", issued_before=NOW, ttl=900)
    with pytest.raises(RevokedTokenError):
        await ajwt.verify(token)


def test_revoked_token_fails_through_the_guard_while_cached(ajwt: ApoJWT) -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, str]:
        return {"sub": ctx.sub}

    token = mint(ajwt)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        assert client.get("/me", headers=headers).status_code == 200
        assert client.get("/me", headers=headers).status_code == 200
        assert cached(ajwt) == 1
        jti = ajwt.decode(token).jti
        assert jti is not None
        anyio.run(lambda: ajwt.store.revoke_token(jti, ttl=900))
        response = client.get("/me", headers=headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert token not in response.text


def test_changing_keys_invalidates_entries(ajwt: ApoJWT, clock: Clock) -> None:
    token = mint(ajwt)
    warm(ajwt, token)
    ajwt.codec.keys = make(clock).codec.keys.__class__.build(algorithm="HS256", secret=OTHER_SECRET)
    with pytest.raises(InvalidSignatureError):
        ajwt.decode(token)


def test_clear_token_cache(ajwt: ApoJWT) -> None:
    warm(ajwt, mint(ajwt))
    assert cached(ajwt) == 1
    ajwt.clear_token_cache()
    assert cached(ajwt) == 0
    make(Clock(), cache_size=0).clear_token_cache()


def test_a_token_is_cached_only_under_its_exact_string(ajwt: ApoJWT) -> None:
    token = mint(ajwt)
    warm(ajwt, token)
    for variant in (token + " ", " " + token, token[:-1], token.replace(".", "..", 1), token.upper()):
        with pytest.raises(InvalidTokenError):
            ajwt.decode(variant)
    assert cached(ajwt) == 1


@pytest.mark.parametrize("bogus", [None, 42, b"bytes", ["list"], {"a": 1}])
def test_non_strings_are_rejected_not_looked_up(ajwt: ApoJWT, bogus: Any) -> None:
    with pytest.raises(MalformedTokenError):
        ajwt.decode(bogus)


# -- bounds ---------------------------------------------------------------------------------


def test_bounded_and_least_recently_used_leaves_first(clock: Clock) -> None:
    ajwt = make(clock, cache_size=8)
    tokens = [mint(ajwt, n=i) for i in range(40)]
    keep = tokens[0]
    for token in tokens:
        warm(ajwt, token)
        ajwt.decode(keep)  # kept recent
        assert cached(ajwt) <= 8
    assert cached(ajwt) == 8
    assert ajwt.verifier.cache is not None
    assert keep in ajwt.verifier.cache
    assert tokens[1] not in ajwt.verifier.cache


def test_failures_are_never_cached(ajwt: ApoJWT, clock: Clock) -> None:
    good = mint(ajwt)
    bad_signature = ApoJWT(OTHER_SECRET, iss=ISSUER, server_audience=[AUDIENCE], clock=clock).create_token(sub="x")
    tampered = [good[:-2] + f"{i:02d}" for i in range(100)]
    floods = [f"a{i}.b.c" for i in range(500)] + [t for t in tampered if t != good] + [bad_signature]
    for bogus in floods:
        with pytest.raises(InvalidTokenError):
            ajwt.decode(bogus)
    assert cached(ajwt) == 0
    assert ajwt.codec.cached_headers <= 64


def test_header_parse_cache_is_bounded(ajwt: ApoJWT) -> None:
    import base64
    import json

    for i in range(500):
        header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "x": i}).encode()).rstrip(b"=").decode()
        with pytest.raises(InvalidTokenError):
            ajwt.decode(f"{header}.e30.AAAA")
    assert ajwt.codec.cached_headers <= 64


def test_a_misfit_data_model_is_not_cached(clock: Clock) -> None:
    class Team(BaseModel):
        team: str

    ajwt = make(clock, data_model=Team)
    token = ajwt.create_token(sub="alice", data={"wrong": 1})
    for _ in range(2):
        with pytest.raises(InvalidClaimError):
            ajwt.decode(token)
    assert cached(ajwt) == 0


# -- no shared mutable state -----------------------------------------------------------------


def test_hits_never_share_mutable_objects(ajwt: ApoJWT) -> None:
    token = mint(ajwt, team="a", tags=["x"], nested={"deep": [1, {"k": "v"}]})
    first = warm(ajwt, token)
    # Contexts are immutable all the way down: every attempt to change one fails.
    with pytest.raises(TypeError):
        first.claims["perms"].append("admin")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        first.claims["aud"].append("https://evil.test")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        first.data["team"] = "mallory"
    with pytest.raises(TypeError):
        first.data["tags"].append("y")
    with pytest.raises(TypeError):
        first.data["nested"]["deep"][1]["k"] = "changed"
    with pytest.raises(TypeError):
        first.claims["sub"] = "root"  # type: ignore[index]
    second = ajwt.decode(token)
    assert second.claims["perms"] == ["orders:read"]
    assert second.claims["aud"] == [AUDIENCE]
    assert second.claims["sub"] == "alice"
    assert second.data == {"team": "a", "tags": ["x"], "nested": {"deep": [1, {"k": "v"}]}}
    assert not second.has_permission("admin")
    assert second.claims is not first.claims
    assert second.data is not first.data
    assert second.__pydantic_private__ is not first.__pydantic_private__
    assert second.__pydantic_fields_set__ is not first.__pydantic_fields_set__


def test_flat_data_is_copied_too(ajwt: ApoJWT) -> None:
    token = mint(ajwt, team="a", n=1)
    first = warm(ajwt, token)
    with pytest.raises(TypeError):
        first.data["team"] = "mallory"
    with pytest.raises(TypeError):
        first.claims["data"]["n"] = 2  # type: ignore[index]
    assert ajwt.decode(token).data == {"team": "a", "n": 1}
    assert ajwt.decode(token).data is not first.data


def hit(ajwt: ApoJWT, token: str, monkeypatch: pytest.MonkeyPatch) -> TokenContext:
    """A cache hit for ``token``, proved: verification is forbidden while it is decoded."""
    warm(ajwt, token)
    with monkeypatch.context() as patch:
        forbid_verification(ajwt, patch)
        return ajwt.decode(token)


def test_a_hit_thaws_into_a_plain_deep_copy(ajwt: ApoJWT, monkeypatch: pytest.MonkeyPatch) -> None:
    flat = hit(ajwt, mint(ajwt, team="a", n=1), monkeypatch)
    nested = hit(ajwt, mint(ajwt, tags=["x"], inner={"k": "v"}), monkeypatch)
    for context in (flat, nested):
        assert isinstance(context.data, FrozenDict)
        with pytest.raises(TypeError):
            context.data["team"] = "mallory"
    plain = thaw(flat.data)
    assert type(plain) is dict
    plain["team"] = "mallory"
    assert flat.data == {"team": "a", "n": 1}
    plain = thaw(nested.data)
    assert (type(plain), type(plain["tags"]), type(plain["inner"])) == (dict, list, dict)
    plain["tags"].append("y")
    plain["inner"]["k"] = "changed"
    assert nested.data == {"tags": ["x"], "inner": {"k": "v"}}


def test_the_first_caller_cannot_poison_the_cache(ajwt: ApoJWT) -> None:
    token = mint(ajwt, team="a")
    ajwt.decode(token)
    first = ajwt.decode(token)  # the verification that admitted the token to the cache
    with pytest.raises(TypeError):
        first.data["team"] = "mallory"
    with pytest.raises(TypeError):
        first.claims["perms"].append("admin")  # type: ignore[attr-defined]
    assert ajwt.decode(token).data == {"team": "a"}
    assert ajwt.decode(token).permissions == ("orders:read",)


def test_typed_data_is_a_new_model_per_hit(clock: Clock) -> None:
    class Team(BaseModel):
        team: str
        members: list[str]

    ajwt = make(clock, data_model=Team)
    token = ajwt.create_token(sub="alice", data={"team": "a", "members": ["alice"]})
    first = warm(ajwt, token)
    first.data.members.append("mallory")
    second = ajwt.decode(token)
    assert isinstance(second.data, Team)
    assert second.data.members == ["alice"]
    assert second.data is not first.data


def test_decorator_token_data_is_fresh_per_request(ajwt: ApoJWT) -> None:
    app = FastAPI()
    seen: list[dict[str, Any]] = []

    @app.get("/legacy")
    @ajwt.permission_required("orders:read")
    async def legacy(token_data: dict[str, Any], token_permissions: list[str]) -> dict[str, Any]:
        seen.append(dict(token_data))
        token_data["team"] = "mallory"
        token_permissions.append("admin")
        return {"ok": True}

    token = mint(ajwt, team="a")
    with TestClient(app) as client:
        for _ in range(3):
            response = client.get("/legacy", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
    assert seen == [{"team": "a"}] * 3


def test_context_stays_frozen(ajwt: ApoJWT) -> None:
    token = mint(ajwt)
    ajwt.decode(token)
    context = ajwt.decode(token)
    with pytest.raises(ValidationError):
        context.sub = "root"  # type: ignore[misc]
    assert "token" not in repr(context)
    assert token not in repr(context)


def test_fast_construction_matches_model_construct(ajwt: ApoJWT, monkeypatch: pytest.MonkeyPatch) -> None:
    token = mint(ajwt, team="a")

    def build() -> TokenContext:
        claims = ajwt.codec.verify(token, "access")
        return new_context(TokenContext, claims, token, ajwt.policy, None)

    fast = build()
    monkeypatch.setitem(_fast_classes, TokenContext, False)
    slow = build()
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__
    assert fast.__pydantic_private__ == slow.__pydantic_private__
    assert fast.model_copy() == fast


def test_hits_rebuild_the_same_context_either_way(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_fast_classes, TokenContext, False)
    ajwt = make(clock)
    token = mint(ajwt, team="a")
    first = ajwt.decode(token)
    assert ajwt.decode(token) == first
    assert ajwt.decode(token).claims is not first.claims


def test_concurrent_hits_from_threads(clock: Clock) -> None:
    ajwt = make(clock, cache_size=4)
    tokens = [mint(ajwt, n=i) for i in range(16)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                for token in tokens:
                    assert ajwt.decode(token).token == token
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cached(ajwt) <= 4


# -- no thread-pool hop ------------------------------------------------------------------------


def test_async_routes_make_no_thread_pool_hop(ajwt: ApoJWT, monkeypatch: pytest.MonkeyPatch) -> None:
    hops: list[object] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real(func, *args, **kwargs)

    app = FastAPI()

    @app.get("/dep")
    async def dep(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> dict[str, str]:
        return {"sub": ctx.sub}

    @app.get("/deco")
    @ajwt.permission_required("orders:read")
    async def deco(token_subject: str) -> dict[str, str]:
        return {"sub": token_subject}

    token = mint(ajwt)
    with TestClient(app) as client:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
        for path in ("/dep", "/deco", "/dep", "/deco"):
            assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert hops == []

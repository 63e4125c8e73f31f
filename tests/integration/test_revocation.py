"""Revocation: one token, one family (logout), a whole subject; 401 everywhere; never lost."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, MemoryStore, ServiceUnavailableError
from fastapi_apojwt.errors import InvalidClaimError
from tests.conftest import ISSUER, SECRET
from tests.integration.refresh_helpers import Clock, make_ajwt, make_app, refresh_headers

HTTPS = "https://testserver"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ajwt(clock: Clock) -> ApoJWT:
    return make_ajwt(clock=clock, store=MemoryStore(clock=clock))


def me(client: TestClient, access: str) -> int:
    return client.get("/me", headers={"Authorization": f"Bearer {access}"}).status_code


def refresh_status(client: TestClient, ajwt: ApoJWT, refresh: str) -> int:
    client.cookies.clear()
    return client.post("/auth/refresh", headers=refresh_headers(refresh, ajwt.csrf_token(refresh))).status_code


async def test_revoke_one_access_token(ajwt: ApoJWT) -> None:
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    a1, r1 = ajwt.create_token(sub="alice")
    a2, _ = ajwt.create_token(sub="alice")
    await ajwt.revoke_token(ajwt.decode(a1))
    response = client.get("/me", headers={"Authorization": f"Bearer {a1}"})
    assert response.status_code == 401
    assert response.json() == {"detail": "The token has been revoked."}
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert me(client, a2) == 200  # only that token
    assert refresh_status(client, ajwt, r1) == 200  # its refresh token is another token
    with pytest.raises(Exception, match="revoked"):
        await ajwt.verify(a1)


async def test_revoke_token_by_string_access_and_refresh(ajwt: ApoJWT) -> None:
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    access, refresh = ajwt.create_token(sub="alice")
    await ajwt.revoke_token(access)
    await ajwt.revoke_token(refresh)
    assert me(client, access) == 401
    assert refresh_status(client, ajwt, refresh) == 401


async def test_revoked_access_token_stays_revoked_until_expiry(ajwt: ApoJWT, clock: Clock) -> None:
    access = ajwt.create_token(sub="alice")[0]
    await ajwt.revoke_token(access)
    store = ajwt.store
    assert isinstance(store, MemoryStore)
    jti = ajwt.decode(access).jti
    clock.now += ajwt.exp_period - 1
    assert await store.is_revoked(jti=jti, sub="alice", issued_at=0, family=None)
    clock.now += 3  # expired: the record may go, the token is refused for its expiry anyway
    assert not await store.is_revoked(jti=jti, sub="alice", issued_at=0, family=None)


async def test_revoke_family_is_logout(ajwt: ApoJWT) -> None:
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    access, refresh = ajwt.create_token(sub="alice")
    other_access, other_refresh = ajwt.create_token(sub="alice")  # another device
    client.cookies.clear()
    logout = client.post("/auth/logout", headers=refresh_headers(refresh, ajwt.csrf_token(refresh)))
    assert logout.status_code == 200
    cleared = logout.headers.get_list("set-cookie")
    assert any(c.startswith("refresh_token=") and "Max-Age=0" in c for c in cleared)
    assert any(c.startswith("csrf_refresh_token=") and "Max-Age=0" in c for c in cleared)
    assert refresh_status(client, ajwt, refresh) == 401
    assert me(client, access) == 401  # the session's access token too
    assert me(client, other_access) == 200  # the other device stays logged in
    assert refresh_status(client, ajwt, other_refresh) == 200


async def test_revoke_family_by_id_and_errors(ajwt: ApoJWT) -> None:
    access, _ = ajwt.create_token(sub="alice")
    ctx = ajwt.decode(access)
    await ajwt.revoke_family(ctx.claims["fam"])
    with pytest.raises(Exception, match="revoked"):
        await ajwt.verify(access)
    no_family = ApoJWT(SECRET, iss=ISSUER).create_token(sub="x")
    with pytest.raises(InvalidClaimError):
        await ajwt.revoke_family(ApoJWT(SECRET, iss=ISSUER).decode(no_family))


async def test_revoke_subject(ajwt: ApoJWT, clock: Clock) -> None:
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    alice_access, alice_refresh = ajwt.create_token(sub="alice")
    bob_access, _ = ajwt.create_token(sub="bob")
    clock.now += 5
    await ajwt.revoke_subject("alice")
    assert me(client, alice_access) == 401
    assert refresh_status(client, ajwt, alice_refresh) == 401
    assert me(client, bob_access) == 200
    clock.now += 1  # tokens carry whole seconds: a login after the cut-off second works
    new_access, new_refresh = ajwt.create_token(sub="alice")
    assert me(client, new_access) == 200
    assert refresh_status(client, ajwt, new_refresh) == 200


async def test_revoke_subject_keeps_the_latest_cut_off(ajwt: ApoJWT, clock: Clock) -> None:
    old, _ = ajwt.create_token(sub="alice")
    clock.now += 10
    await ajwt.revoke_subject("alice")
    await ajwt.revoke_subject("alice", issued_before=clock.now - 100)  # an older cut-off does not undo it
    with pytest.raises(Exception, match="revoked"):
        await ajwt.verify(old)


class BrokenStore(MemoryStore):
    """A store whose backend is down (stands in for a stopped server; e2e tests use a real Redis)."""

    async def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("backend down")

    is_revoked = revoke_token = revoke_family = revoke_subject = use_refresh_token = _down  # type: ignore[assignment]


async def test_store_down_never_loses_a_revocation_or_accepts_a_token() -> None:
    ajwt = make_ajwt(store=BrokenStore())
    access, refresh = ajwt.create_token(sub="alice")
    for call in (ajwt.revoke_token(access), ajwt.revoke_family(ajwt.decode(access)), ajwt.revoke_subject("alice")):
        with pytest.raises(ServiceUnavailableError):
            await call
    client = TestClient(make_app(ajwt), base_url=HTTPS)
    response = client.get("/me", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert refresh_status(client, ajwt, refresh) == 503

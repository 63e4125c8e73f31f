"""Wire compatibility with the real ``apojwt`` 1.7 package, in both directions.

apojwt 1.7 mints ``aud: list(server_audience)``; with an empty audience that is
``aud: []``, which current PyJWT refuses when apojwt 1.7 verifies it, so apojwt
1.7 cannot verify its own tokens without a ``server_audience``. Interoperability
is therefore tested with a configured audience, and this package's policy for an
empty ``server_audience`` is documented by its own test below.
"""

# No `from __future__ import annotations`: FastAPI resolves handler annotations at run time.

from typing import Annotated, Any

import apojwt
import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, InvalidAudienceError, InvalidTokenError, TokenContext, WrongTokenTypeError
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET

assert apojwt.__name__ == "apojwt"


def old_apojwt(secret: str = SECRET, *, token: str | None = None, refresh: str | None = None, **options: Any) -> Any:
    """An apojwt 1.7 instance whose finders return the given tokens."""
    options.setdefault("iss", ISSUER)
    options.setdefault("server_audience", [AUDIENCE])
    instance = apojwt.ApoJWT(
        secret,
        async_framework=False,
        token_finder=lambda *args, **kwargs: token,
        **options,
    )
    if refresh is not None:
        instance.config_refresh(REFRESH_SECRET, refresh_finder=lambda *args, **kwargs: refresh)
    return instance


@pytest.fixture
def ajwt() -> ApoJWT:
    instance = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")
    instance.config_refresh(REFRESH_SECRET)
    return instance


@pytest.fixture
def client(ajwt: ApoJWT) -> TestClient:
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> dict[str, Any]:
        return {"sub": ctx.sub, "perms": list(ctx.permissions), "data": ctx.data, "jti": ctx.jti}

    @app.get("/orders")
    async def orders(ctx: Annotated[TokenContext, Depends(ajwt.permission("orders:read"))]) -> str:
        return ctx.sub

    @app.get("/legacy")
    @ajwt.permission_required("orders:read")
    def legacy(token_data: dict[str, Any], token_subject: str) -> dict[str, Any]:
        return {"sub": token_subject, "data": token_data}

    return TestClient(app)


# -- apojwt 1.7 -> here --------------------------------------------------------------------------


def test_apojwt_17_access_token_verifies_here(ajwt: ApoJWT, client: TestClient) -> None:
    token = old_apojwt().create_token(sub="alice", permissions=["orders:read"], data={"team": "a", "n": 1})
    assert isinstance(token, str)
    ctx = ajwt.decode(token)
    assert ctx.sub == "alice"
    assert ctx.permissions == ("orders:read",)
    assert ctx.data == {"team": "a", "n": 1}
    assert ctx.jti is None
    assert ctx.iss == ISSUER
    assert ctx.aud == (AUDIENCE,)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=headers).json() == {
        "sub": "alice",
        "perms": ["orders:read"],
        "data": {"team": "a", "n": 1},
        "jti": None,
    }
    assert client.get("/orders", headers=headers).json() == "alice"
    assert client.get("/legacy", headers=headers).json() == {"sub": "alice", "data": {"team": "a", "n": 1}}


def test_apojwt_17_permissions_and_admin_behave_the_same_here(client: TestClient) -> None:
    old = old_apojwt()
    lacking = old.create_token(sub="bob", permissions=["invoices:read"])
    assert client.get("/orders", headers={"Authorization": f"Bearer {lacking}"}).status_code == 403
    admin = old.create_token(sub="root", permissions=["admin"])
    assert client.get("/orders", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_apojwt_17_token_from_another_issuer_audience_or_secret_is_rejected(ajwt: ApoJWT) -> None:
    for old in (
        old_apojwt(iss="https://other-issuer.test"),
        old_apojwt(server_audience=["https://other-api.test"]),
        old_apojwt("some-other-secret-of-at-least-32-bytes!!"),
    ):
        with pytest.raises(InvalidTokenError):
            ajwt.decode(old.create_token(sub="alice", permissions=["p"]))


# -- here -> apojwt 1.7 --------------------------------------------------------------------------


def test_token_minted_here_verifies_in_apojwt_17(ajwt: ApoJWT) -> None:
    token, _ = ajwt.create_token(sub="alice", permissions=["orders:read"], data={"team": "a"})
    old = old_apojwt(token=token, admin_permission="admin")

    @old.token_required
    def me(token_data: dict[str, Any], token_subject: str, token_permissions: list[str]) -> dict[str, Any]:
        return {"sub": token_subject, "data": token_data, "perms": token_permissions}

    @old.permission_required("orders:read")
    def orders(token_subject: str) -> str:
        return token_subject

    @old.permission_required("orders:write")
    def write(token_subject: str) -> str:
        return token_subject

    assert me() == {"sub": "alice", "data": {"team": "a"}, "perms": ["orders:read"]}
    assert orders() == "alice"
    with pytest.raises(jwt.InvalidTokenError, match="permission"):
        write()


def test_admin_token_minted_here_passes_in_apojwt_17(ajwt: ApoJWT) -> None:
    token, _ = ajwt.create_token(sub="root", permissions=["admin"])
    old = old_apojwt(token=token, admin_permission="admin")
    assert old.permission_required("anything")(lambda token_subject: token_subject)() == "root"


def test_apojwt_17_async_decorators_accept_our_tokens(ajwt: ApoJWT) -> None:
    import asyncio

    token, _ = ajwt.create_token(sub="alice", permissions=["p"])
    old = apojwt.ApoJWT(
        SECRET, iss=ISSUER, server_audience=[AUDIENCE], async_framework=True, token_finder=lambda **kwargs: token
    )

    @old.permission_required("p")
    async def handler(token_subject: str) -> str:
        return token_subject

    assert asyncio.run(handler()) == "alice"


def test_apojwt_17_rejects_our_tokens_for_another_audience(ajwt: ApoJWT) -> None:
    token, _ = ajwt.create_token(sub="alice")
    old = old_apojwt(token=token, server_audience=["https://other-api.test"])
    with pytest.raises(jwt.InvalidAudienceError):
        old.token_required(lambda token_subject: token_subject)()


# -- the empty-audience policy --------------------------------------------------------------


def test_empty_audience_policy() -> None:
    """With no ``server_audience``: tokens without ``aud`` or with ``aud: []`` pass, any named audience fails."""
    open_ajwt = ApoJWT(SECRET, iss=ISSUER)
    old_open = old_apojwt(server_audience=[])
    legacy_token = old_open.create_token(sub="alice", permissions=["p"])
    assert jwt.decode(legacy_token, options={"verify_signature": False})["aud"] == []
    assert open_ajwt.decode(legacy_token).sub == "alice"  # aud == [] accepted
    no_aud = jwt.encode(
        {k: v for k, v in jwt.decode(legacy_token, options={"verify_signature": False}).items() if k != "aud"},
        SECRET,
        algorithm="HS256",
    )
    assert open_ajwt.decode(no_aud).sub == "alice"  # aud absent accepted
    named = old_apojwt(server_audience=[AUDIENCE]).create_token(sub="alice", permissions=["p"])
    with pytest.raises(InvalidAudienceError):
        open_ajwt.decode(named)  # a token meant for a specific audience is not for us

    # Our own tokens without an audience carry aud == [] (as apojwt 1.7 did) and verify here...
    ours = open_ajwt.create_token(sub="bob")
    assert jwt.decode(ours, options={"verify_signature": False})["aud"] == []
    assert open_ajwt.decode(ours).sub == "bob"
    # ...while apojwt 1.7 (PyJWT) refuses aud == [] even from itself: configure an audience to interoperate.
    for token in (ours, legacy_token):
        with pytest.raises(jwt.InvalidTokenError):
            old_apojwt(token=token, server_audience=[]).token_required(lambda token_subject: token_subject)()


# -- refresh vs access: never accepted in the wrong place here ----------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["shared-secret", "separate-secrets"])
def test_apojwt_17_refresh_token_is_never_an_access_token_here(ajwt: ApoJWT, client: TestClient, shared: bool) -> None:
    old = old_apojwt()
    old.config_refresh(SECRET if shared else REFRESH_SECRET)
    _, refresh = old.create_token(sub="alice", permissions=["orders:read"], refresh_data={"uid": 1})
    with pytest.raises(InvalidTokenError) as info:
        ajwt.decode(refresh)
    if shared:  # signed with the access secret: only its shape gives it away
        assert isinstance(info.value, WrongTokenTypeError)
    for path in ("/me", "/orders", "/legacy"):
        response = client.get(path, headers={"Authorization": f"Bearer {refresh}"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize("shared", [True, False], ids=["shared-secret", "separate-secrets"])
def test_apojwt_17_access_token_is_never_a_refresh_token_here(ajwt: ApoJWT, shared: bool) -> None:
    # With a shared secret apojwt 1.7 signed access tokens with the refresh secret too.
    old = old_apojwt(REFRESH_SECRET if shared else SECRET)
    access = old.create_token(sub="alice", permissions=["p"])
    assert ajwt.refresh_codec is not None
    with pytest.raises(InvalidTokenError) as info:
        ajwt.refresh_codec.verify(access, "refresh")
    if shared:
        assert isinstance(info.value, WrongTokenTypeError)


def test_apojwt_17_refresh_token_verifies_as_a_refresh_token_here(ajwt: ApoJWT) -> None:
    old = old_apojwt()
    old.config_refresh(REFRESH_SECRET)
    _, refresh = old.create_token(sub="alice", refresh_data={"uid": 7})
    assert ajwt.refresh_codec is not None
    claims = ajwt.refresh_codec.verify(refresh, "refresh")
    assert claims["data"] == {"uid": 7}


def test_refresh_token_minted_here_works_in_apojwt_17_refresh(ajwt: ApoJWT) -> None:
    _, refresh = ajwt.create_token(sub="alice", refresh_data={"uid": 7})
    old = old_apojwt(refresh=refresh)
    assert old.refresh(lambda refresh_data: refresh_data)() == {"uid": 7}


def test_our_refresh_token_is_never_an_access_token_here(ajwt: ApoJWT, client: TestClient) -> None:
    _, refresh = ajwt.create_token(sub="alice", permissions=["orders:read"])
    with pytest.raises(InvalidTokenError):
        ajwt.decode(refresh)
    assert client.get("/me", headers={"Authorization": f"Bearer {refresh}"}).status_code == 401
    access, _ = ajwt.create_token(sub="alice")
    assert ajwt.refresh_codec is not None
    with pytest.raises(InvalidTokenError):
        ajwt.refresh_codec.verify(access, "refresh")


def test_access_token_sent_to_the_refresh_route_is_rejected(ajwt: ApoJWT) -> None:
    app = FastAPI()

    @app.post("/refresh")
    async def refresh_route(ctx: Annotated[Any, Depends(ajwt.refresh)]) -> str:
        return str(ctx.sub)

    client = TestClient(app)
    access, _ = ajwt.create_token(sub="alice", permissions=["p"])
    legacy_access = old_apojwt(REFRESH_SECRET).create_token(sub="alice", permissions=["p"])
    for token in (access, legacy_access):
        client.cookies.set(ajwt.refresh_cookie_name, token)
        client.cookies.set("csrf_refresh_token", "c")
        response = client.post("/refresh", headers={"X-CSRF-Token": "c"})
        assert response.status_code in (401, 403), response.text
        assert token not in response.text

"""The memory store's synchronous fast path never bypasses a store that answers differently."""

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from fastapi_apojwt import ApoJWT, MemoryStore, TokenContext
from tests.conftest import AUDIENCE, ISSUER, SECRET


class EverythingRevoked(MemoryStore):
    """A subclass that overrides is_revoked: its answer must be the one that counts."""

    async def is_revoked(self, *, jti: str | None, sub: str, issued_at: float, family: str | None = None) -> bool:
        return True


def client_for(store: MemoryStore) -> tuple[ApoJWT, TestClient]:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], store=store)
    app = FastAPI()

    @app.get("/me")
    async def me(ctx: Annotated[TokenContext, Depends(ajwt.token_required)]) -> str:
        return ctx.sub

    return ajwt, TestClient(app)


def test_a_subclass_overriding_is_revoked_is_always_consulted() -> None:
    ajwt, client = client_for(EverythingRevoked())
    for _ in range(3):  # also once the token is in the verified-token cache
        response = client.get("/me", headers={"Authorization": f"Bearer {ajwt.create_token(sub='alice')}"})
        assert response.status_code == 401
        assert "revoked" in response.json()["detail"]


async def test_plain_memory_store_revocation_is_seen_on_the_fast_path() -> None:
    ajwt, client = client_for(MemoryStore())
    token = ajwt.create_token(sub="alice")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=headers).status_code == 200
    assert client.get("/me", headers=headers).status_code == 200  # cached now
    await ajwt.revoke_token(token)
    assert client.get("/me", headers=headers).status_code == 401

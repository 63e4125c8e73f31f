import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.stores.redis import RedisStore

store = RedisStore.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"), prefix="shop:")

ajwt = ApoJWT(
    os.environ.get("APOJWT_SECRET", "change-me-to-a-random-secret-of-32-bytes-or-more"),
    iss="https://auth.example.com",
    store=store,
)
ajwt.config_refresh(os.environ.get("APOJWT_REFRESH_SECRET", "another-random-secret-of-32-bytes-or-more"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await store.close()


app = FastAPI(lifespan=lifespan)

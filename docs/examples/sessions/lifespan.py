from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.stores.redis import RedisStore

ajwt = ApoJWT(
    "a-32-byte-or-longer-random-secret!!",
    store=RedisStore.from_url("redis://127.0.0.1:6379/0"),  # connects on first use
)
opened: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with ajwt.lifespan(app):  # or simply FastAPI(lifespan=ajwt.lifespan)
        opened.append("your own start-up")
        yield
    # here the Redis pool (and a JWKS client, if any) is closed: await ajwt.aclose() did it


app = FastAPI(lifespan=lifespan)

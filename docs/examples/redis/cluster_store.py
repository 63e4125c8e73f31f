import os

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.stores.redis import RedisStore

# Any node of the cluster will do as the seed: the client learns the others from it.
store = RedisStore.from_url(os.environ.get("REDIS_URL", "redis+cluster://redis-node-0:6379"), prefix="shop:")

ajwt = ApoJWT(os.environ.get("APOJWT_SECRET", "change-me-to-a-random-secret-of-32-bytes-or-more"), store=store)

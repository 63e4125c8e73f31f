import os

from fastapi_apojwt import ApoJWT
from fastapi_apojwt.stores.redis import RedisStore

# Every revocation and rotation is confirmed by one replica within 500 ms, or the request gets a 503.
store = RedisStore.from_url(
    os.environ.get("REDIS_URL", "redis://redis-primary:6379/0"),
    wait_replicas=1,
    wait_timeout=0.5,
)

ajwt = ApoJWT(os.environ.get("APOJWT_SECRET", "change-me-to-a-random-secret-of-32-bytes-or-more"), store=store)

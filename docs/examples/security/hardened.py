import os

from fastapi_apojwt import ApoJWT, CookieSettings
from fastapi_apojwt.stores.redis import RedisStore


def make_ajwt() -> ApoJWT:
    """A production configuration: every choice below is explained on the Security page."""
    ajwt = ApoJWT(
        os.environ["APOJWT_SECRET"],  # from a secret manager, never from the code or the repository
        exp_period=300,  # short-lived access tokens: revocation matters less the shorter they live
        iss="https://auth.example.com",
        server_audience=["https://api.example.com"],
        admin_permission="admin",
        strict=True,  # refuse a weak secret at start-up instead of warning
        leeway=30,  # tolerate 30 s of clock skew between issuer and verifiers, no more
        store=RedisStore.from_url(os.environ["APOJWT_REDIS_URL"]),  # shared, persistent token state
    )
    ajwt.config_refresh(
        os.environ["APOJWT_REFRESH_SECRET"],  # a second, different secret
        refresh_exp_period=86400,
        cookie=CookieSettings(secure=True, samesite="strict", path="/auth"),  # HTTPS only, sent only to /auth
    )
    return ajwt

from fastapi_apojwt import ApoJWT, CookieSettings

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")
ajwt.config_refresh(
    "another-random-secret-of-32-bytes-or-more",
    refresh_exp_period=7 * 86400,
    cookie=CookieSettings(
        secure=True,
        samesite="lax",
        path="/api/auth",
        domain="example.com",
    ),
    csrf=True,
)

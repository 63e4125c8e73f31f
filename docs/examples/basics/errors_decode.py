from fastapi_apojwt import ApoJWT, ApoJWTError, ExpiredTokenError

ajwt = ApoJWT("change-me-to-a-random-secret-of-32-bytes-or-more", iss="https://auth.example.com")


def who_is(token: str) -> str:
    """Verify a token outside a request, e.g. in a worker or a CLI."""
    try:
        ctx = ajwt.decode(token)
    except ExpiredTokenError:
        return "expired: log in again"
    except ApoJWTError as exc:
        return f"rejected ({exc.status_code}): {exc.detail}"
    return f"{ctx.sub}, until {ctx.exp:%H:%M} UTC"

"""A user's module that ``mypy --strict`` must accept: the typed minting helpers."""

from fastapi_apojwt import ApoJWT

ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="https://auth.example.com")
ajwt.config_refresh("another-32-byte-or-longer-secret!!")


def login(sub: str) -> tuple[str, str]:
    return ajwt.create_token_pair(sub=sub, permissions=["orders:read"])


def service_token() -> str:
    return ajwt.create_access_token(sub="batch-job")


def either(sub: str) -> str:
    minted = ajwt.create_token(sub=sub)
    return minted if isinstance(minted, str) else minted[0]

"""A user's module that ``mypy --strict`` must refuse: each line marked ``misuse`` is an error."""

from fastapi_apojwt import ApoJWT

ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="https://auth.example.com")

wrong: int = ajwt.create_token(sub="alice")  # misuse: not an int
pair_as_str: str = ajwt.create_token_pair(sub="alice")  # misuse: a tuple


def token() -> str:
    return ajwt.create_token(sub="alice")  # misuse: may be a tuple; use create_access_token()


ajwt.create_access_token(sub=1)  # misuse: sub is a str

"""The refresh-family claim ``fam`` is type-checked once, by the codec, for both token types."""

import time
from typing import Any

import jwt
import pytest

from fastapi_apojwt import ApoJWT, InvalidClaimError
from tests.conftest import AUDIENCE, ISSUER, REFRESH_SECRET, SECRET


def signed_access(fam: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "alice",
        "perms": [],
        "data": {},
        "type": "access",
        "iss": ISSUER,
        "aud": [AUDIENCE],
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "j1",
        "fam": fam,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.mark.parametrize("fam", [123, "", ["f"], {"f": 1}, None, True])
def test_decode_refuses_a_badly_typed_family(fam: Any) -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    with pytest.raises(InvalidClaimError, match="'fam'"):
        ajwt.decode(signed_access(fam))


def test_a_string_family_passes_in_both_token_types() -> None:
    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ajwt.config_refresh(REFRESH_SECRET)
    assert ajwt.decode(signed_access("family-1")).claims["fam"] == "family-1"
    _, refresh = ajwt.create_token(sub="alice")
    assert isinstance(ajwt.refresh_codec.verify(refresh, "refresh")["fam"], str)  # type: ignore[union-attr]

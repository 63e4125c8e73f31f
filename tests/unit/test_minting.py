"""Minting: HMAC tokens signed by us verify in PyJWT, and a weak secret warns once, not per token."""

import warnings
from typing import Any

import jwt
import pytest
from pydantic import BaseModel, field_validator

from fastapi_apojwt import ApoJWT, InvalidClaimError, WeakSecretWarning
from tests.conftest import AUDIENCE, ISSUER, SECRET


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_hmac_tokens_verify_in_pyjwt(algorithm: str) -> None:
    secret = SECRET * 2
    ajwt = ApoJWT(secret, iss=ISSUER, server_audience=[AUDIENCE], algorithm=algorithm, kid="k1")
    token = ajwt.create_token(sub="alice", permissions=["p"], data={"n": [1, {"x": "é"}]})
    header = jwt.get_unverified_header(token)
    assert header == {"alg": algorithm, "typ": "JWT", "kid": "k1"}
    claims = jwt.decode(token, secret, algorithms=[algorithm], issuer=ISSUER, audience=AUDIENCE)
    assert claims["data"] == {"n": [1, {"x": "é"}]}
    assert ajwt.decode(token).data == {"n": [1, {"x": "é"}]}


def test_weak_secret_warns_at_start_up_and_pyjwt_warns_when_minting() -> None:
    """PyJWT mints every token, and it warns about a short HMAC key each time it signs.

    Our WeakSecretWarning comes once, at start-up; strict=True refuses the secret.
    """
    with pytest.warns(WeakSecretWarning):
        ajwt = ApoJWT("short-secret", iss=ISSUER)
    with pytest.warns(jwt.InsecureKeyLengthWarning):
        token = ajwt.create_token(sub="alice")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ajwt.decode(token).sub == "alice"  # verifying never warns


def test_data_model_validator_raising_anything_is_a_401() -> None:
    class Picky(BaseModel):
        team: str

        @field_validator("team")
        @classmethod
        def known(cls, value: str) -> str:
            return {"a": "Team A"}[value]  # KeyError for anything else

    ajwt = ApoJWT(SECRET, iss=ISSUER, data_model=Picky)
    assert ajwt.decode(ajwt.create_token(sub="x", data={"team": "a"})).data.team == "Team A"
    with pytest.raises(InvalidClaimError) as raised:
        ajwt.decode(ajwt.create_token(sub="x", data={"team": "zzz"}))
    assert raised.value.status_code == 401


def test_minting_refuses_data_nested_deeper_than_decode_accepts() -> None:
    from fastapi_apojwt.tokens import MAX_JSON_DEPTH

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE])
    ok: Any = {}
    for _ in range(MAX_JSON_DEPTH - 2):  # the claims object and the data claim are two levels
        ok = {"a": ok}
    assert ajwt.decode(ajwt.create_token(sub="a", data=ok)).sub == "a"
    deep: Any = {}
    for _ in range(5000):  # far past the recursion limit: refused, not a RecursionError
        deep = {"a": deep}
    with pytest.raises(ValueError, match=f"deeper than {MAX_JSON_DEPTH} levels"):
        ajwt.create_token(sub="a", data=deep)

"""The prepared HMAC (key schedule done once) equals the standard library's, for every HS* algorithm."""

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastapi_apojwt.keys import prepared_hmac

DIGESTS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}


@pytest.mark.parametrize("algorithm", sorted(DIGESTS))
@settings(max_examples=150, deadline=None)
@given(secret=st.binary(min_size=1, max_size=300), message=st.binary(max_size=2000))
def test_prepared_hmac_equals_hmac_digest(algorithm: str, secret: bytes, message: bytes) -> None:
    assert prepared_hmac(secret, algorithm)(message) == hmac.digest(secret, message, DIGESTS[algorithm])


@pytest.mark.parametrize("algorithm", sorted(DIGESTS))
@pytest.mark.parametrize("length", [1, 63, 64, 65, 127, 128, 129, 1000])
def test_key_lengths_around_the_block_size(algorithm: str, length: int) -> None:
    secret = bytes(range(256)) * 4
    secret = secret[:length]
    mac = prepared_hmac(secret, algorithm)
    for message in (b"", b"a", b"header.payload" * 50):
        assert mac(message) == hmac.new(secret, message, getattr(hashlib, DIGESTS[algorithm])).digest()

from fastapi_apojwt import ApoJWT


def make_verifier(issuer_public_key: str) -> ApoJWT:
    """A verify-only service that was handed the issuer's public key (PEM)."""
    return ApoJWT(
        public_key=issuer_public_key,
        algorithm="EdDSA",
        iss="https://auth.example.com",
        server_audience=["https://api.example.com"],
    )

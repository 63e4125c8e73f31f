from fastapi_apojwt import ApoJWT


def make_issuer(new_private_key: str, old_private_key: str) -> ApoJWT:
    """Step 2 of a rotation: sign with the new key, keep verifying tokens signed with the old one."""
    return ApoJWT(
        new_private_key,  # signs; its kid goes into every new token
        algorithm="ES256",
        previous_keys=[old_private_key],  # verifies only (its public half is still published)
        iss="https://auth.example.com",
        server_audience=["https://api.example.com"],
    )

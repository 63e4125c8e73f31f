# Verify against the issuer's published keys, as a verifier service would
apojwt verify "$TOKEN" --jwks-url "$ISSUER_URL/.well-known/jwks.json" \
    --iss https://auth.example.com --aud https://api.example.com

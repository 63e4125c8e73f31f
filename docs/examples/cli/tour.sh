# 1. A key pair for the issuer: issuer.pem (private, mode 600) and issuer.pem.pub
apojwt keygen ed25519 --out issuer.pem

# 2. A token for alice, signed with the private key
TOKEN=$(apojwt issue --key-file issuer.pem --sub alice --perm orders:read \
    --iss https://auth.example.com --aud https://api.example.com)

# 3. Verify it with the public key: prints the claims as JSON
apojwt verify "$TOKEN" --key-file issuer.pem.pub \
    --iss https://auth.example.com --aud https://api.example.com

# 4. Look inside any token, without trusting it (marked UNVERIFIED)
apojwt inspect "$TOKEN"

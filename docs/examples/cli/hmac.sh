# A random HMAC secret (HS256/384/512): 64 random bytes, base64url
apojwt keygen hmac --out secret.txt

# Mint and verify with it; the secret never appears on the command line
TOKEN=$(apojwt issue --secret-file secret.txt --sub bob --perm orders:write --exp 60)
apojwt verify "$TOKEN" --secret-file secret.txt

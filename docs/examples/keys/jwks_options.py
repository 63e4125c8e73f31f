from fastapi_apojwt import ApoJWT, JWKSOptions

ajwt = ApoJWT(
    jwks_url="https://auth.example.com/.well-known/jwks.json",
    algorithm="RS256",  # optional: accept only RS256 keys (and RSA keys published without "alg")
    iss="https://auth.example.com",
    server_audience=["https://api.example.com"],
    jwks_options=JWKSOptions(
        cache_ttl=600,  # use a fetched key set for 10 minutes
        refetch_interval=60,  # at most one refetch a minute for tokens naming an unknown kid
        retry_interval=5,  # after a failed fetch, wait 5 seconds before trying again
        max_stale=3600,  # serve cached keys for at most an hour while the issuer is unreachable
    ),
)

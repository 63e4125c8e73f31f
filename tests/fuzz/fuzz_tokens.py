"""Coverage-guided fuzzing of token parsing and verification (``make fuzz``).

Runs ``TokenCodec.verify`` (the whole request-path check: size, shape,
base64url, JSON, header policy, key selection, signature, claims) on inputs
atheris derives from coverage, in two modes chosen by the first input byte:

* raw: the bytes are the token text;
* signed: the bytes become a header and a claims set that are *validly
  signed* with the service's secret, so the fuzzer explores claim checking
  past the signature (where a crash would be a 500 on a genuine token).

Properties (a violation crashes the fuzzer with the input saved to disk):

* only ``ApoJWTError`` subclasses escape ``verify`` and ``decode``;
* a raw input is never accepted unless it is one of the genuine tokens;
* an accepted token always yields a sound ``TokenContext``.

Usage: ``make fuzz`` (5 minutes) or ``python tests/fuzz/fuzz_tokens.py
-max_total_time=60 [corpus_dir]``. atheris is installed on demand; when it
cannot be installed (no wheel for this platform and no clang to build one),
the script says so and exits 0.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SECRET = "fuzz-secret-that-is-at-least-32-bytes-long!!"
ISSUER = "https://auth.fuzz"
AUDIENCE = "https://api.fuzz"


def _atheris() -> object | None:
    try:
        return importlib.import_module("atheris")
    except ImportError:
        pass
    print("fuzz_tokens: atheris is not installed; trying `pip install atheris`...", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "atheris"], check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        return None
    try:
        return importlib.import_module("atheris")
    except ImportError:
        return None


def main() -> int:
    atheris = _atheris()
    if atheris is None:
        print(
            "fuzz_tokens: SKIPPED - atheris could not be installed (it needs a prebuilt wheel for this Python "
            "and platform, or clang >= 6 with libFuzzer to build one). Nothing was fuzzed.",
            flush=True,
        )
        return 0

    # Heavy dependencies first, uninstrumented: coverage feedback then comes from our own code only.
    import cryptography.hazmat.primitives.asymmetric.ec
    import fastapi
    import jwt
    import pydantic
    import starlette.requests

    del cryptography, fastapi, jwt, pydantic, starlette
    with atheris.instrument_imports():  # type: ignore[attr-defined]
        from fastapi_apojwt import ApoJWT, ApoJWTError
        from fastapi_apojwt.tokens import encode_segment

    import hashlib
    import hmac

    ajwt = ApoJWT(SECRET, iss=ISSUER, server_audience=[AUDIENCE], admin_permission="admin")
    genuine = {
        ajwt.create_token(sub="alice", permissions=["orders:read"]),
        ajwt.create_token(sub="root", permissions=["admin"], data={"k": [1, 2.5, None]}),
    }
    codec = ajwt.codec

    def sign(header: object, claims_text: str) -> str:
        head = encode_segment(header) if isinstance(header, dict) else encode_segment({"alg": "HS256"})
        import base64

        body = base64.urlsafe_b64encode(claims_text.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()
        signing_input = f"{head}.{body}"
        sig = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()

    def check(token: str, *, raw: bool) -> None:
        for attempt in (lambda: codec.verify(token, "access"), lambda: ajwt.decode(token)):
            try:
                result = attempt()
            except ApoJWTError:
                continue
            if raw and token not in genuine:
                raise AssertionError(f"accepted a token that is not genuine: {token[:80]!r}")
            if not isinstance(result, dict):
                assert isinstance(result.sub, str)
                assert all(isinstance(p, str) for p in result.permissions)
                assert result.exp.tzinfo is not None

    def one_input(data: bytes) -> None:
        # Byte 0 picks the mode; raw: the rest is the token text (latin-1: every byte is one character);
        # signed: header JSON, a newline, then claims JSON.
        if not data:
            return
        mode, rest = data[0] % 4, data[1:]
        if mode <= 1:
            check(rest.decode("latin-1"), raw=True)
            return
        header_bytes, _, claims_bytes = rest.partition(b"\n")
        header_text = header_bytes.decode("utf-8", "replace")
        claims_text = claims_bytes.decode("utf-8", "replace")
        try:
            header: object = json.loads(header_text) if header_text else {"alg": "HS256"}
        except ValueError:
            header = {"alg": "HS256"}
        if mode == 3:
            # Splice the fuzzed claims into genuine ones so most inputs get past the type checks.
            base = json.loads(
                '{"sub":"a","perms":[],"data":{},"exp":4102444800,"iat":1,"nbf":1,'
                f'"iss":"{ISSUER}","aud":["{AUDIENCE}"],"type":"access"}}'
            )
            try:
                extra = json.loads(claims_text)
            except ValueError:
                extra = None
            if isinstance(extra, dict):
                base.update(extra)
            claims_text = json.dumps(base)
        if isinstance(header, dict):
            header.setdefault("alg", "HS256")
        check(sign(header, claims_text), raw=False)

    for token in genuine:  # the harness must accept genuine tokens, or it proves nothing
        codec.verify(token, "access")
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        # No corpus given: seed one with genuine tokens (raw mode) and claim sets (signed modes).
        import base64
        import tempfile

        corpus = Path(tempfile.mkdtemp(prefix="apojwt-fuzz-corpus-"))
        for index, token in enumerate(sorted(genuine)):
            (corpus / f"raw-{index}").write_bytes(b"\x00" + token.encode())
            payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
            (corpus / f"claims-{index}").write_bytes(b'\x03{"alg":"HS256","typ":"JWT"}\n' + payload)
        (corpus / "claims-types").write_bytes(b'\x02{"alg":"HS256","kid":"k"}\n{"exp":1e300,"perms":"admin","aud":[1]}')
        argv.append(str(corpus))
        print(f"fuzz_tokens: seeded corpus in {corpus}", flush=True)
    atheris.Setup(argv, one_input)  # type: ignore[attr-defined]
    atheris.Fuzz()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())

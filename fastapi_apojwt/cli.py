"""The ``apojwt`` command line: generate keys, mint, verify and inspect tokens.

Run ``apojwt --help`` (or ``python -m fastapi_apojwt --help``). Exit codes:
``0`` success, ``1`` the token did not verify (or the keys could not be
fetched), ``2`` bad input or usage. User errors never print a traceback.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, TextIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .errors import ApoJWTError, ConfigurationError, InvalidTokenError, ServiceUnavailableError
from .keys import HMAC_ALGORITHMS, SUPPORTED_ALGORITHMS, PrivateKey, PublicKey, load_key

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

_CURVES = {"P-256": (ec.SECP256R1, "ES256"), "P-384": (ec.SECP384R1, "ES384"), "P-521": (ec.SECP521R1, "ES512")}
_UNVERIFIED_BANNER = (
    "UNVERIFIED: the signature, expiry, issuer and audience were NOT checked. "
    "Anyone can forge these contents; use `apojwt verify` to trust them."
)


class _UserError(Exception):
    """Bad input: reported as one line on stderr, exit code 2."""


# -- helpers ---------------------------------------------------------------------------


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _UserError(f"cannot read the {what} file {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _UserError(f"the {what} file {path!r} is not text (expected PEM)") from None


def _read_token(value: str | None) -> str:
    if value is None or value == "-":
        if sys.stdin.isatty():
            raise _UserError("pass a token as an argument, or pipe one on stdin ('-')")
        value = sys.stdin.read()
    token = value.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise _UserError("the token is empty")
    return token


def _b64url_json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError):
        raise _UserError(f"the token's {what} is not base64url-encoded JSON: is this a JWT?") from None
    if not isinstance(value, dict):
        raise _UserError(f"the token's {what} is not a JSON object")
    return value


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = token.split(".")
    if len(parts) == 5:
        raise _UserError("this is an encrypted token (JWE, five parts); only signed JWTs (three parts) are supported")
    if len(parts) != 3:
        raise _UserError(f"a JWT has three dot-separated parts, this has {len(parts)}")
    return _b64url_json(parts[0], "header"), _b64url_json(parts[1], "payload")


def _guess_algorithm(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RS256"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        for curve, alg in _CURVES.values():
            if isinstance(key.curve, curve):
                return alg
        raise _UserError(f"unsupported EC curve {key.curve.name}: use P-256, P-384 or P-521")
    return "EdDSA"


def _load_key_file(path: str) -> PrivateKey | PublicKey:
    try:
        return load_key(_read_text(path, "key"))
    except ConfigurationError as exc:
        raise _UserError(f"{path}: {exc.detail}") from None


def _secret_from(args: argparse.Namespace) -> str | None:
    if getattr(args, "secret_file", None):
        return _read_text(args.secret_file, "secret").strip()
    secret: str | None = args.secret or os.environ.get("APOJWT_SECRET") or None
    return secret


def _print_json(value: Any, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")


def _when(timestamp: object) -> str | None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        return None
    try:
        moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    delta = int(timestamp - time.time())
    relative = f"in {delta}s" if delta >= 0 else f"{-delta}s ago"
    return f"{moment.isoformat()} ({relative})"


# -- keygen ----------------------------------------------------------------------------


def _pem_pair(key: PrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _UserError(f"{path} already exists; refusing to overwrite a key (remove it first)") from None
    except OSError as exc:
        raise _UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write_public(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def _cmd_keygen(args: argparse.Namespace) -> int:
    from .keys import KeySet

    kind: str = args.kind
    if kind == "hmac":
        if args.bytes < 32:
            raise _UserError("--bytes must be at least 32 (HS256 wants 32, HS384 48, HS512 64)")
        secret = secrets.token_urlsafe(args.bytes)
        jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode(), "alg": "HS256"}
        if args.out:
            _write_private(Path(args.out), secret + "\n")
        if args.format == "json":
            _print_json({"algorithm": "HS256", "secret": None if args.out else secret, "jwk": jwk, "file": args.out})
        elif args.out:
            print(f"Wrote a {len(secret)}-character HMAC secret to {args.out} (mode 600).")
            print(f"Use it with: ApoJWT(Path({args.out!r}).read_text().strip())")
        else:
            print(secret)
        return EXIT_OK

    private: PrivateKey
    if kind == "rsa":
        if args.bits not in (2048, 3072, 4096):
            raise _UserError("--bits must be 2048, 3072 or 4096")
        private = rsa.generate_private_key(public_exponent=65537, key_size=args.bits)
        algorithm = args.alg or "RS256"
        if not algorithm.startswith(("RS", "PS")):
            raise _UserError("an RSA key signs with RS256/384/512 or PS256/384/512")
    elif kind == "ec":
        curve, algorithm = _CURVES[args.curve]
        private = ec.generate_private_key(curve())
    elif kind == "ed448":
        private, algorithm = ed448.Ed448PrivateKey.generate(), "EdDSA"
    else:
        private, algorithm = ed25519.Ed25519PrivateKey.generate(), "EdDSA"
    keys = KeySet.build(algorithm=algorithm, secret=private, kid=args.kid)
    jwk = keys.jwks()["keys"][0]
    private_pem, public_pem = _pem_pair(private)
    public_path = None
    if args.out:
        out = Path(args.out)
        public_path = out.with_name(out.name + ".pub")
        _write_private(out, private_pem)
        _write_public(public_path, public_pem)
    if args.format == "json":
        _print_json(
            {
                "algorithm": algorithm,
                "kid": jwk["kid"],
                "private_pem": None if args.out else private_pem,
                "public_pem": public_pem,
                "jwk": jwk,
                "private_file": args.out,
                "public_file": str(public_path) if public_path else None,
            }
        )
        return EXIT_OK
    if args.out:
        print(f"Wrote the private key to {args.out} (mode 600) and the public key to {public_path}.")
    else:
        print(f"# Private key: keep it secret. ApoJWT(private_pem, algorithm={algorithm!r})")
        print(private_pem, end="")
    print(f"# Public key (PEM): ApoJWT(public_key=public_pem, algorithm={algorithm!r}) verifies only")
    print(public_pem, end="")
    print("# Public JWK (what ajwt.jwks() publishes)")
    _print_json(jwk)
    return EXIT_OK


# -- issue -----------------------------------------------------------------------------


def _issuer_from(args: argparse.Namespace) -> Any:
    from .core import ApoJWT

    audience = list(args.aud or [])
    if args.key_file:
        key = _load_key_file(args.key_file)
        if not isinstance(
            key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
        ):
            raise _UserError(f"{args.key_file} holds a public key; minting needs the private key")
        algorithm = args.alg or _guess_algorithm(key)
        return ApoJWT(
            key, exp_period=args.exp, iss=args.iss, server_audience=audience, algorithm=algorithm, kid=args.kid
        )
    secret = _secret_from(args)
    if secret is None:
        raise _UserError("pass --secret, --secret-file or --key-file (or set APOJWT_SECRET)")
    algorithm = args.alg or "HS256"
    if algorithm not in HMAC_ALGORITHMS:
        raise _UserError(f"{algorithm} needs a key pair: pass the private key with --key-file")
    return ApoJWT(
        secret, exp_period=args.exp, iss=args.iss, server_audience=audience, algorithm=algorithm, kid=args.kid
    )


def _cmd_issue(args: argparse.Namespace) -> int:
    data: Any = {}
    if args.data is not None:
        try:
            data = json.loads(args.data)
        except ValueError as exc:
            raise _UserError(f"--data is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _UserError('--data must be a JSON object, e.g. \'{"team": "a"}\'')
    if args.exp <= 0:
        raise _UserError("--exp must be a positive number of seconds")
    ajwt = _issuer_from(args)
    token = ajwt.create_token(sub=args.sub, permissions=list(args.perm or []), data=data)
    print(token[0] if isinstance(token, tuple) else token)
    return EXIT_OK


# -- verify ----------------------------------------------------------------------------


def _cmd_verify(args: argparse.Namespace) -> int:
    from .core import ApoJWT
    from .jwks import JWKSOptions, check_jwks_url

    sources = sum(bool(x) for x in (args.key_file, args.jwks_url, args.secret or args.secret_file))
    if sources > 1:
        raise _UserError("pass only one of --secret/--secret-file, --key-file and --jwks-url")
    if sources == 0 and not os.environ.get("APOJWT_SECRET"):
        raise _UserError("pass --secret, --secret-file, --key-file or --jwks-url (or set APOJWT_SECRET)")
    if args.jwks_url:
        check_jwks_url(args.jwks_url, allow_http=args.allow_http)
    token = _read_token(args.token)
    try:
        _, unverified = _unverified_parts(token)
    except _UserError as exc:
        print(f"invalid token: {exc}", file=sys.stderr)
        return EXIT_INVALID
    notes: list[str] = []
    iss = args.iss
    if iss is None:
        iss = unverified.get("iss", "") if isinstance(unverified.get("iss", ""), str) else ""
        notes.append("the issuer was not checked (pass --iss)")
    audience = args.aud
    if audience is None:
        aud = unverified.get("aud")
        audience = (
            [aud] if isinstance(aud, str) else [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
        )
        notes.append("the audience was not checked (pass --aud)")
    common: dict[str, Any] = {"iss": iss, "server_audience": audience, "leeway": args.leeway}
    if args.jwks_url:
        options = JWKSOptions(allow_http=args.allow_http, timeout=args.timeout, retry_interval=0, refetch_interval=0)
        ajwt = ApoJWT(jwks_url=args.jwks_url, jwks_options=options, algorithm=args.alg or "HS256", **common)
    elif args.key_file:
        key = _load_key_file(args.key_file)
        algorithm = args.alg or _guess_algorithm(key)
        ajwt = ApoJWT(public_key=key, algorithm=algorithm, **common)
    else:
        secret = _secret_from(args)
        if secret is None:
            raise _UserError("pass --secret, --secret-file, --key-file or --jwks-url (or set APOJWT_SECRET)")
        ajwt = ApoJWT(secret, algorithm=args.alg or "HS256", **common)
    try:
        if args.refresh:
            claims: dict[str, Any] = dict(ajwt.codec.verify(token, "refresh"))
        else:
            claims = dict(ajwt.decode(token).claims)
    except ServiceUnavailableError:
        source = ajwt.key_source
        reason = getattr(source, "last_error", None) or "no usable key"
        print(f"error: could not get keys from {args.jwks_url}: {reason}", file=sys.stderr)
        return EXIT_INVALID
    except InvalidTokenError as exc:
        print(f"invalid token: {exc.detail}", file=sys.stderr)
        return EXIT_INVALID
    _print_json(claims)
    print("valid: signature, expiry" + ("" if notes else ", issuer and audience") + " checked", file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_OK


# -- inspect ---------------------------------------------------------------------------


def _cmd_inspect(args: argparse.Namespace) -> int:
    token = _read_token(args.token)
    header, claims = _unverified_parts(token)
    print(f"*** {_UNVERIFIED_BANNER} ***", file=sys.stderr)
    times = {name: _when(claims.get(name)) for name in ("iat", "nbf", "exp") if _when(claims.get(name))}
    _print_json({"UNVERIFIED": True, "header": header, "claims": claims, "times": times})
    return EXIT_OK


# -- parser ----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with errors that end in a hint instead of only a usage line."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\nTry '{self.prog} --help' for more.\n")


def _add_token_options(parser: argparse.ArgumentParser, *, minting: bool) -> None:
    keys = parser.add_argument_group("keys (one of)")
    keys.add_argument("--secret", help="HMAC secret (prefer --secret-file or $APOJWT_SECRET: shells keep history)")
    keys.add_argument("--secret-file", metavar="FILE", help="file holding the HMAC secret")
    keys.add_argument(
        "--key-file",
        metavar="PEM",
        help="private key PEM" + ("" if minting else " or public key PEM") + " (algorithm guessed from the key)",
    )
    parser.add_argument(
        "--alg",
        choices=sorted(SUPPORTED_ALGORITHMS),
        metavar="ALG",
        help="algorithm: HS256 (default for secrets), RS256, PS256, ES256, EdDSA... (one of %(choices)s)",
    )
    parser.add_argument("--iss", default=None if not minting else "", help="issuer")
    parser.add_argument(
        "--aud",
        action="append",
        metavar="AUDIENCE",
        help="audience (repeat for several)" if minting else "expected audience (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``apojwt`` argument parser."""
    from . import __version__

    parser = _Parser(
        prog="apojwt",
        description="Keys and test tokens for fastapi-apojwt: generate keys, mint, verify and inspect JWTs.",
        epilog=(
            "examples:\n"
            "  apojwt keygen ed25519 --out issuer.pem\n"
            "  apojwt issue --key-file issuer.pem --sub alice --perm orders:read --iss https://auth.test\n"
            "  apojwt verify TOKEN --key-file issuer.pem.pub --iss https://auth.test\n"
            "  apojwt verify TOKEN --jwks-url https://auth.test/.well-known/jwks.json\n"
            "  apojwt inspect TOKEN"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    keygen = commands.add_parser(
        "keygen",
        help="generate an HMAC secret or a key pair (PEM + public JWK)",
        description="Generate an HMAC secret or a key pair, printed as PEM and as a public JWK.",
    )
    keygen.add_argument("kind", choices=["hmac", "rsa", "ec", "ed25519", "ed448"], help="what to generate")
    keygen.add_argument("--bits", type=int, default=2048, help="RSA key size: 2048 (default), 3072 or 4096")
    keygen.add_argument("--curve", choices=sorted(_CURVES), default="P-256", help="EC curve (default P-256 = ES256)")
    keygen.add_argument(
        "--alg",
        choices=["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
        help="RSA algorithm for the JWK's alg (default RS256)",
    )
    keygen.add_argument("--bytes", type=int, default=64, help="HMAC secret entropy in bytes (default 64)")
    keygen.add_argument("--kid", help="key id to publish (default: the RFC 7638 thumbprint)")
    keygen.add_argument(
        "--out",
        metavar="FILE",
        help="write the private key (or secret) to FILE, mode 600, and the public key to FILE.pub",
    )
    keygen.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")
    keygen.set_defaults(handler=_cmd_keygen)

    issue = commands.add_parser(
        "issue",
        help="mint an access token for testing",
        description="Mint an access token, exactly as ApoJWT.create_token would.",
    )
    _add_token_options(issue, minting=True)
    issue.add_argument("--sub", default="", help="subject (who the token is for)")
    issue.add_argument("--perm", action="append", metavar="PERMISSION", help="a permission (repeat for several)")
    issue.add_argument("--data", metavar="JSON", help='extra data, a JSON object: \'{"team": "a"}\'')
    issue.add_argument("--exp", type=int, default=900, metavar="SECONDS", help="lifetime in seconds (default 900)")
    issue.add_argument("--kid", help="kid to write in the header (default: the key's thumbprint; none for secrets)")
    issue.set_defaults(handler=_cmd_issue)

    verify = commands.add_parser(
        "verify",
        help="verify a token and print its claims",
        description="Verify an access token (signature, expiry, issuer, audience, type) and print its claims as JSON.",
    )
    verify.add_argument("token", nargs="?", help="the token, or '-' to read it from stdin")
    _add_token_options(verify, minting=False)
    verify.add_argument("--jwks-url", metavar="URL", help="fetch the verification keys from this JWKS URL")
    verify.add_argument("--allow-http", action="store_true", help="allow a plain-http --jwks-url other than localhost")
    verify.add_argument("--timeout", type=float, default=5.0, help="JWKS fetch timeout in seconds (default 5)")
    verify.add_argument("--leeway", type=float, default=0.0, help="clock skew allowed, in seconds (default 0)")
    verify.add_argument("--refresh", action="store_true", help="the token is a refresh token")
    verify.set_defaults(handler=_cmd_verify)

    inspect_ = commands.add_parser(
        "inspect",
        help="show a token's header and claims WITHOUT verifying it",
        description="Decode a token's header and claims WITHOUT checking anything. The output is UNVERIFIED.",
    )
    inspect_.add_argument("token", nargs="?", help="the token, or '-' to read it from stdin")
    inspect_.set_defaults(handler=_cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``apojwt`` command line and return its exit code.

    Example:
        ```python
        from fastapi_apojwt.cli import main

        main(["keygen", "ed25519"])
        ```
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code: int = args.handler(args)
        except _UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = EXIT_USAGE
        except ConfigurationError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            code = EXIT_USAGE
        except ApoJWTError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            code = EXIT_INVALID
        except KeyboardInterrupt:
            code = 130
        except BrokenPipeError:
            code = EXIT_OK
    for warning in caught:
        if warning.category.__name__ == "InsecureKeyLengthWarning":
            continue  # PyJWT repeating our WeakSecretWarning at signing time
        print(f"warning: {warning.message}", file=sys.stderr)
    return code


def run() -> NoReturn:
    """Entry point: ``sys.exit(main())``."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()

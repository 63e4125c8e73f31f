"""The ``apojwt`` command line, run as a newcomer would: through a subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from fastapi_apojwt import ApoJWT
from tests.keypairs import private_pem
from tests.servers import UvicornServer, uvicorn_server

pytestmark = pytest.mark.e2e

SECRET = "cli-test-secret-that-is-long-enough-for-hs256"
APOJWT = Path(sys.executable).with_name("apojwt")


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "APOJWT_SECRET"}
    result = subprocess.run(
        [str(APOJWT), *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd, env=env, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_console_script_and_module_are_the_same_tool() -> None:
    script = run("--help")
    module = subprocess.run(
        [sys.executable, "-m", "fastapi_apojwt", "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert script.returncode == module.returncode == 0
    assert script.stdout.replace("apojwt", "") == module.stdout.replace("apojwt", "").replace("__main__.py", "")
    for command in ("keygen", "issue", "verify", "inspect"):
        assert command in script.stdout
    assert "examples:" in script.stdout


@pytest.mark.parametrize("command", ["keygen", "issue", "verify", "inspect"])
def test_every_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: apojwt {command}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "usage: apojwt"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("keygen",), "the following arguments are required: kind"),
        (("keygen", "dsa"), "invalid choice: 'dsa'"),
        (("keygen", "rsa", "--bits", "1024"), "--bits must be 2048, 3072 or 4096"),
        (("keygen", "hmac", "--bytes", "8"), "--bytes must be at least 32"),
        (("issue",), "pass --secret, --secret-file or --key-file"),
        (("issue", "--secret", SECRET, "--data", "{nope"), "--data is not valid JSON"),
        (("issue", "--secret", SECRET, "--data", "[1, 2]"), "--data must be a JSON object"),
        (("issue", "--secret", SECRET, "--exp", "0"), "--exp must be a positive number"),
        (("issue", "--secret", SECRET, "--alg", "RS256"), "RS256 needs a key pair"),
        (("issue", "--secret", SECRET, "--alg", "none"), "invalid choice: 'none'"),
        (("issue", "--key-file", "/nonexistent/key.pem"), "cannot read the key file"),
        (("verify", "a.b.c", "--secret", SECRET, "--key-file", "k.pem"), "pass only one of"),
        (("verify", "a.b.c"), "pass --secret, --secret-file, --key-file or --jwks-url"),
        (("verify", "a.b.c", "--jwks-url", "http://auth.example.com/jwks"), "uses plain http"),
        (("inspect", "not-a-token"), "a JWT has three dot-separated parts, this has 1"),
        (("inspect", "a.b.c.d.e"), "encrypted token (JWE"),
        (("inspect", "%%%.b.c"), "not base64url-encoded JSON"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("kind", "extra", "alg"),
    [
        ("rsa", (), "RS256"),
        ("rsa", ("--bits", "3072", "--alg", "PS256"), "PS256"),
        ("ec", (), "ES256"),
        ("ec", ("--curve", "P-384"), "ES384"),
        ("ec", ("--curve", "P-521"), "ES512"),
        ("ed25519", (), "EdDSA"),
        ("ed448", (), "EdDSA"),
    ],
)
def test_keygen_issue_verify_round_trip(tmp_path: Path, kind: str, extra: tuple[str, ...], alg: str) -> None:
    key = tmp_path / "issuer.pem"
    generated = run("keygen", kind, *extra, "--out", str(key), "--format", "json")
    assert generated.returncode == 0, generated.stderr
    info = json.loads(generated.stdout)
    assert info["algorithm"] == alg
    assert info["private_pem"] is None  # written to the file, not printed
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert info["jwk"]["kid"] == info["kid"]
    assert "d" not in info["jwk"]
    public = Path(info["public_file"])
    assert public.read_text() == info["public_pem"]

    issued = run(
        "issue", "--key-file", str(key), "--sub", "alice", "--perm", "orders:read", "--perm", "orders:write",
        "--data", '{"team": "a"}', "--iss", "https://auth.test", "--aud", "https://api.test", "--exp", "120",
        *(("--alg", alg) if alg == "PS256" else ()),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    assert header["kid"] == info["kid"]

    verified = run(
        "verify", token, "--key-file", str(public), "--iss", "https://auth.test", "--aud", "https://api.test",
        *(("--alg", alg) if alg == "PS256" else ()),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    claims = json.loads(verified.stdout)
    assert claims["sub"] == "alice"
    assert claims["perms"] == ["orders:read", "orders:write"]
    assert claims["data"] == {"team": "a"}
    assert claims["exp"] - claims["iat"] == 120
    assert "issuer and audience checked" in verified.stderr

    # The library agrees with the CLI.
    lib = ApoJWT(
        public_key=public.read_text(), algorithm=alg, iss="https://auth.test", server_audience=["https://api.test"]
    )
    assert lib.decode(token).sub == "alice"

    assert run("keygen", kind, *extra, "--out", str(key)).returncode == 2  # never overwrites a key


def test_keygen_text_output_prints_pem_and_jwk() -> None:
    result = run("keygen", "ed25519")
    assert result.returncode == 0
    assert "-----BEGIN PRIVATE KEY-----" in result.stdout
    assert "-----BEGIN PUBLIC KEY-----" in result.stdout
    jwk = json.loads(result.stdout[result.stdout.index("{") :])
    assert jwk["kty"] == "OKP"
    assert jwk["alg"] == "EdDSA"
    assert jwk["kid"]


def test_hmac_secret_round_trip(tmp_path: Path) -> None:
    secret = run("keygen", "hmac").stdout.strip()
    assert len(secret) >= 64
    secret_file = tmp_path / "secret"
    assert run("keygen", "hmac", "--out", str(secret_file)).returncode == 0
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    token = run("issue", "--secret-file", str(secret_file), "--sub", "bob").stdout.strip()
    result = run("verify", token, "--secret-file", str(secret_file))
    assert result.returncode == 0
    assert json.loads(result.stdout)["sub"] == "bob"
    assert run("verify", token, "--secret", secret).returncode == 1


def test_verify_failures_exit_1_and_say_why(tmp_path: Path) -> None:
    token = run("issue", "--secret", SECRET, "--sub", "a", "--iss", "https://auth.test").stdout.strip()
    cases = {
        ("--secret", SECRET + "x"): "invalid token: The token signature is invalid.",
        (
            "--secret",
            SECRET,
            "--iss",
            "https://other.test",
        ): "invalid token: The token was issued by an unexpected issuer.",
        (
            "--secret",
            SECRET,
            "--aud",
            "https://api.test",
        ): "invalid token: The token is not intended for this audience.",
        ("--secret", SECRET, "--alg", "HS512"): "invalid token: The token is signed with an algorithm",
        ("--secret", SECRET, "--refresh"): "invalid token: Wrong token type",
    }
    for args, message in cases.items():
        result = run("verify", token, *args)
        assert result.returncode == 1, args
        assert message in result.stderr
        assert result.stdout == ""
    now = int(time.time())
    expired = jwt.encode(
        {"sub": "a", "perms": [], "iat": now - 100, "exp": now - 50, "type": "access"}, SECRET, algorithm="HS256"
    )
    result = run("verify", expired, "--secret", SECRET)
    assert result.returncode == 1
    assert "invalid token: The token has expired." in result.stderr
    garbage = run("verify", "garbage", "--secret", SECRET)
    assert garbage.returncode == 1
    assert "invalid token:" in garbage.stderr


def test_verify_reads_stdin_and_bearer_prefix() -> None:
    token = run("issue", "--secret", SECRET, "--sub", "carol").stdout.strip()
    result = run("verify", "-", "--secret", SECRET, stdin=f"Bearer {token}\n")
    assert result.returncode == 0
    assert json.loads(result.stdout)["sub"] == "carol"
    assert "note: the issuer was not checked (pass --iss)" in result.stderr


def test_weak_secret_is_a_warning_not_a_traceback() -> None:
    result = run("issue", "--secret", "short", "--sub", "x")
    assert result.returncode == 0
    assert "warning: The secret is 5 bytes; HS256 wants at least 32" in result.stderr
    assert result.stderr.count("warning:") == 1


def test_issue_refuses_a_public_key(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    assert run("keygen", "ec", "--out", str(key)).returncode == 0
    result = run("issue", "--key-file", f"{key}.pub")
    assert result.returncode == 2
    assert "holds a public key; minting needs the private key" in result.stderr
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    result = run("issue", "--key-file", str(broken))
    assert result.returncode == 2
    assert "Could not load the PEM key" in result.stderr


def test_inspect_is_loudly_unverified() -> None:
    token = run("issue", "--secret", SECRET, "--sub", "dave", "--perm", "p").stdout.strip()
    result = run("inspect", token)
    assert result.returncode == 0
    assert "UNVERIFIED" in result.stderr
    output = json.loads(result.stdout)
    assert output["UNVERIFIED"] is True
    assert output["header"] == {"alg": "HS256", "typ": "JWT"}
    assert output["claims"]["sub"] == "dave"
    assert "exp" in output["times"]
    forged = jwt.encode({"sub": "admin"}, "whatever-key-at-all-32-bytes-long!!", algorithm="HS256")
    assert run("inspect", forged).returncode == 0  # inspecting works on anything: that is why it is marked


@pytest.fixture(scope="module")
def jwks_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UvicornServer, ApoJWT]]:
    signer = ApoJWT(private_pem("ES256", 4), algorithm="ES256", iss="https://auth.test")
    path = tmp_path_factory.mktemp("cli") / "jwks.json"
    path.write_text(json.dumps(signer.jwks()))
    with uvicorn_server("tests.e2e.jwks_app:app", JWKS_FILE=str(path)) as server:
        yield server, signer


def test_verify_against_a_jwks_url(jwks_issuer: tuple[UvicornServer, ApoJWT]) -> None:
    server, signer = jwks_issuer
    url = server.url + "/.well-known/jwks.json"
    token = signer.create_token(sub="erin", permissions=["x"])
    result = run("verify", token, "--jwks-url", url, "--iss", "https://auth.test")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sub"] == "erin"
    stranger = ApoJWT(private_pem("ES256", 5), algorithm="ES256", iss="https://auth.test").create_token(sub="x")
    result = run("verify", stranger, "--jwks-url", url)
    assert result.returncode == 1
    assert "invalid token: The token was signed with an unknown key." in result.stderr


def test_verify_against_an_unreachable_jwks_url() -> None:
    from tests.servers import free_port

    token = ApoJWT(private_pem("ES256", 4), algorithm="ES256").create_token(sub="x")
    result = run("verify", token, "--jwks-url", f"http://127.0.0.1:{free_port()}/jwks.json", "--timeout", "2")
    assert result.returncode == 1
    assert "error: could not get keys from" in result.stderr
    assert "ConnectError" in result.stderr


# -- the docs snippets (docs/examples/cli/), run as written --------------------------------------

DOCS_CLI = Path(__file__).resolve().parents[2] / "docs" / "examples" / "cli"


def run_snippet(name: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "APOJWT_SECRET"}
    environment.update(env, PATH=f"{APOJWT.parent}{os.pathsep}{environment.get('PATH', '')}")
    script = "set -euo pipefail\n" + (DOCS_CLI / name).read_text()
    result = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in result.stderr
    return result


def test_docs_tour(tmp_path: Path) -> None:
    result = run_snippet("tour.sh", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "issuer.pem").exists()
    assert '"sub": "alice"' in result.stdout
    assert "UNVERIFIED" in result.stderr


def test_docs_hmac(tmp_path: Path) -> None:
    result = run_snippet("hmac.sh", tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout[result.stdout.index("{") :])["perms"] == ["orders:write"]


def test_docs_jwks(tmp_path: Path) -> None:
    signer = ApoJWT(
        private_pem("EdDSA", 6),
        algorithm="EdDSA",
        iss="https://auth.example.com",
        server_audience=["https://api.example.com"],
    )
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(signer.jwks()))
    with uvicorn_server("tests.e2e.jwks_app:app", JWKS_FILE=str(path)) as server:
        token = signer.create_token(sub="frank")
        result = run_snippet("jwks.sh", tmp_path, TOKEN=token, ISSUER_URL=server.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sub"] == "frank"

"""JOSE header attacks: key-carrying headers, ``kid`` injection, ``crit``, nested and JWE-shaped tokens.

Catalogue: RFC 7515 §4.1.2-§4.1.6 (``jku``, ``jwk``, ``kid``, ``x5u``, ``x5c``),
§4.1.11 (``crit``); RFC 7797 (``b64``); RFC 8725 §3.10 (do not trust
received claims, SSRF via ``jku``/``x5u``), §3.11 (nested tokens), §2.8
(cross-JWT confusion); RFC 7516 (JWE); CVE-2018-0114 (node-jose embedded
``jwk``); jwt_tool ``-X i`` (jwk injection), ``-X s`` (jku spoofing), ``kid``
path traversal and SQL injection playbooks; PortSwigger JWT labs.
"""

import datetime
import http.server
import json
import threading
from collections.abc import Iterator

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from fastapi_apojwt import ApoJWT
from tests.security.attack import (
    AUDIENCE,
    ISSUER,
    SECRET,
    Target,
    b64url,
    forge,
    forge_raw,
    make_target,
    segment,
    sign_hmac,
    valid_claims,
)
from tests.security.keys import pem_private, rsa_private


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - class-level on purpose: one recorder per test module

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = json.dumps({"keys": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def key_server() -> Iterator[str]:
    """A loopback HTTP server that records every request (it must record none)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def hs256() -> Target:
    return make_target()


@pytest.fixture(scope="module")
def rs256() -> Target:
    return make_target(
        ApoJWT(
            pem_private(rsa_private()),
            algorithm="RS256",
            iss=ISSUER,
            server_audience=[AUDIENCE],
            admin_permission="admin",
        )
    )


@pytest.fixture(scope="module")
def attacker() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _self_signed_der(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _admin() -> dict[str, object]:
    return valid_claims(perms=["orders:read", "admin"])


# -- key-carrying headers: the server never takes a key from the token ---------------------------


def test_cve_2018_0114_embedded_jwk_header(rs256: Target, attacker: rsa.RSAPrivateKey) -> None:
    """CVE-2018-0114 / jwt_tool -X i: a token carrying its own ``jwk`` and signed with it is refused."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    token = jwt.encode(_admin(), attacker, algorithm="RS256", headers={"jwk": jwk})
    rs256.assert_rejected(token, path="/admin")


def test_rfc7515_4_1_6_x5c_self_signed_chain(rs256: Target, attacker: rsa.RSAPrivateKey) -> None:
    """RFC 7515 §4.1.6: a self-signed ``x5c`` certificate chain never supplies the verification key."""
    x5c = [__import__("base64").b64encode(_self_signed_der(attacker)).decode()]
    token = jwt.encode(_admin(), attacker, algorithm="RS256", headers={"x5c": x5c})
    rs256.assert_rejected(token, path="/admin")


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_rfc8725_3_10_jku_x5u_spoofing_no_fetch(
    rs256: Target, attacker: rsa.RSAPrivateKey, key_server: str, header: str
) -> None:
    """RFC 8725 §3.10 / jwt_tool -X s: ``jku``/``x5u`` pointing at an attacker URL are neither fetched nor trusted."""
    _Recorder.hits.clear()
    token = jwt.encode(_admin(), attacker, algorithm="RS256", headers={header: key_server + "/jwks.json"})
    rs256.assert_rejected(token, path="/admin")
    assert _Recorder.hits == [], "the server fetched a URL named by the token (SSRF)"


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256"])
def test_rfc7515_key_headers_on_hmac_service_ignored(hs256: Target, key_server: str, header: str) -> None:
    """RFC 7515 §4.1: key-carrying headers on an HMAC service select nothing; a bad signature stays bad."""
    _Recorder.hits.clear()
    value: object = key_server + "/k" if header in ("jku", "x5u") else {"kty": "oct", "k": b64url(b"attacker")}
    if header == "x5c":
        value = ["MIIB"]
    if header.startswith("x5t"):
        value = b64url(b"\x00" * 20)
    token = forge({"alg": "HS256", header: value}, _admin(), key="attacker")
    hs256.assert_rejected(token, path="/admin")
    assert _Recorder.hits == []


def test_embedded_oct_jwk_with_its_own_secret(hs256: Target) -> None:
    """jwt_tool -X i for HMAC: an embedded symmetric ``jwk`` whose ``k`` signed the token is refused."""
    k = b"attacker-chosen-hmac-secret-32-bytes!"
    token = forge({"alg": "HS256", "jwk": {"kty": "oct", "k": b64url(k)}}, _admin(), key=k)
    hs256.assert_rejected(token, path="/admin")


# -- kid injection --------------------------------------------------------------------------------

KID_PAYLOADS = {
    "path-traversal-dev-null": ("../../../../../../dev/null", ""),
    "path-traversal-etc-passwd": ("../../../../etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
    "path-traversal-proc": ("/proc/self/environ", ""),
    "sql-union": ("x' UNION SELECT 'attacker-key'-- ", "attacker-key"),
    "sql-or-true": ("' OR '1'='1", "attacker-key"),
    "url": ("http://127.0.0.1:1/key", "attacker-key"),
    "command": ("key|id;`id`", "attacker-key"),
    "nul-byte": ("main\u0000../../dev/null", ""),
    "empty": ("", ""),
    "huge": ("k" * 4000, "attacker-key"),
}


@pytest.mark.parametrize("case", list(KID_PAYLOADS))
def test_kid_injection_hmac(hs256: Target, case: str) -> None:
    """jwt_tool kid playbook: ``kid`` traversal/SQL/URL/command values never choose or load a key."""
    kid, key = KID_PAYLOADS[case]
    token = forge({"alg": "HS256", "kid": kid}, _admin(), key=key.encode() or b"\x00")
    hs256.assert_rejected(token, path="/admin")


@pytest.mark.parametrize("case", list(KID_PAYLOADS))
def test_kid_injection_rsa(rs256: Target, attacker: rsa.RSAPrivateKey, case: str) -> None:
    """jwt_tool kid playbook on an asymmetric service: an unknown ``kid`` is refused (no lookup outside the key set)."""
    kid, _ = KID_PAYLOADS[case]
    token = jwt.encode(_admin(), attacker, algorithm="RS256", headers={"kid": kid})
    rs256.assert_rejected(token, path="/admin")


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param(1, id="int"),
        pytest.param(["a"], id="list"),
        pytest.param({"a": 1}, id="object"),
        pytest.param(True, id="bool"),
    ],
)
def test_rfc7515_4_1_4_kid_wrong_type(hs256: Target, kid: object) -> None:
    """RFC 7515 §4.1.4: ``kid`` is a string; other JSON types are refused even with a valid signature."""
    hs256.assert_rejected(forge({"alg": "HS256", "kid": kid}, _admin()), path="/admin")


def test_kid_of_real_key_with_attacker_signature(rs256: Target, attacker: rsa.RSAPrivateKey) -> None:
    """Naming the genuine ``kid`` does not make an attacker's signature verify."""
    real_kid = json.loads(jwt.utils.base64url_decode(rs256.genuine.split(".")[0]))["kid"]
    token = jwt.encode(_admin(), attacker, algorithm="RS256", headers={"kid": real_kid})
    rs256.assert_rejected(token, path="/admin")


# -- crit and b64 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"crit": ["exp"]}, id="crit-exp"),
        pytest.param({"crit": ["x-unknown"], "x-unknown": 1}, id="crit-unknown-ext"),
        pytest.param({"crit": []}, id="crit-empty"),
        pytest.param({"crit": "b64"}, id="crit-string"),
        pytest.param({"crit": ["b64"], "b64": False}, id="rfc7797-b64-false"),
        pytest.param({"b64": False}, id="b64-without-crit"),
    ],
)
def test_rfc7515_4_1_11_crit_rejected(hs256: Target, extra: dict[str, object]) -> None:
    """RFC 7515 §4.1.11 / RFC 7797: critical extensions the server does not implement reject the token."""
    hs256.assert_rejected(forge({"alg": "HS256", **extra}, _admin()), path="/admin")


def test_rfc7797_unencoded_payload_signature(hs256: Target) -> None:
    """RFC 7797: a detached/unencoded-payload token (signature over the raw payload) is refused."""
    header = segment({"alg": "HS256", "b64": False, "crit": ["b64"]})
    payload = json.dumps(_admin())
    signature = sign_hmac(header + "." + b64url(payload), SECRET)
    hs256.assert_rejected(f"{header}..{signature}", path="/admin")


# -- nested, JWE-shaped and odd shapes ------------------------------------------------------------


def test_rfc8725_3_11_nested_jwt_cty(hs256: Target) -> None:
    """RFC 8725 §3.11 / RFC 7519 §5.2: a nested JWT (``cty: JWT``, payload is a token) is refused."""
    inner = hs256.genuine_admin
    signing_input = segment({"alg": "HS256", "cty": "JWT"}) + "." + b64url(inner)
    hs256.assert_rejected(signing_input + "." + sign_hmac(signing_input, SECRET), path="/admin")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"alg": "dir", "enc": "A256GCM"}, id="dir"),
        pytest.param({"alg": "RSA-OAEP", "enc": "A128CBC-HS256"}, id="rsa-oaep"),
        pytest.param({"alg": "HS256", "enc": "A256GCM"}, id="hs256-with-enc"),
    ],
)
def test_rfc7516_jwe_five_parts(hs256: Target, header: dict[str, object]) -> None:
    """RFC 7516 §7.1: a JWE compact token (5 parts) is refused; only signed JWTs are accepted."""
    parts = [segment(header), "", b64url(b"\x00" * 12), segment(_admin()), b64url(b"\x00" * 16)]
    hs256.assert_rejected(".".join(parts), path="/admin")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param(".", id="one-dot"),
        pytest.param("..", id="two-dots"),
        pytest.param("....", id="four-dots"),
        pytest.param("a.b.c.d", id="four-parts"),
        pytest.param("a.b.c.d.e.f", id="six-parts"),
        pytest.param("null", id="json-null"),
        pytest.param("eyJ", id="truncated-header"),
    ],
)
def test_rfc7515_7_1_not_compact_serialisation(hs256: Target, token: str) -> None:
    """RFC 7515 §7.1: anything but three base64url segments is refused."""
    if token == "":
        hs256.assert_rejected(headers={"Authorization": "Bearer "})
    else:
        hs256.assert_rejected(token)


def test_rfc7515_7_2_json_serialisation_refused(hs256: Target) -> None:
    """RFC 7515 §7.2: the JSON (flattened) serialisation is not accepted in a bearer header."""
    header = segment({"alg": "HS256"})
    payload = segment(_admin())
    flat = json.dumps({"protected": header, "payload": payload, "signature": sign_hmac(f"{header}.{payload}", SECRET)})
    hs256.assert_rejected(flat)


@pytest.mark.parametrize(
    "header_json",
    [
        pytest.param('["HS256"]', id="array"),
        pytest.param('"HS256"', id="string"),
        pytest.param("null", id="null"),
        pytest.param('{"alg":"none","alg":"HS256"}', id="duplicate-alg"),
        pytest.param('{"alg":"HS256"', id="truncated"),
        pytest.param('{"alg":"HS256"} ', id="trailing-space"),
        pytest.param('\ufeff{"alg":"HS256"}', id="bom"),
    ],
)
def test_rfc7515_header_not_a_single_json_object(hs256: Target, header_json: str) -> None:
    """RFC 7515 §5.2 step 3-4: the header must be one JSON object without duplicate member names."""
    if header_json.endswith(" "):
        # JSON allows trailing whitespace; the header is fine and the token is the issuer's own.
        token = forge_raw(header_json, json.dumps(_admin()))
        assert hs256.get("/admin", token).status_code == 200
        hs256.assert_genuine_works("/admin")
        return
    hs256.assert_rejected(forge_raw(header_json, json.dumps(_admin())), path="/admin")


@pytest.mark.parametrize(
    "payload_json",
    [
        pytest.param('["admin"]', id="array"),
        pytest.param('"admin"', id="string"),
        pytest.param("1", id="number"),
        pytest.param("", id="empty"),
        pytest.param("{", id="truncated"),
    ],
)
def test_rfc7519_7_2_payload_not_json_object(hs256: Target, payload_json: str) -> None:
    """RFC 7519 §7.2 step 10: the claims set must be a JSON object."""
    hs256.assert_rejected(forge_raw('{"alg":"HS256"}', payload_json), path="/admin")


def test_rfc7519_4_duplicate_claim_parser_differential(hs256: Target) -> None:
    """RFC 7519 §4 / RFC 8725 §3.4: duplicate claim names are refused (no last-one-wins privilege escalation)."""
    claims = json.dumps(valid_claims(perms=["orders:read"]))[:-1] + ',"perms":["admin"]}'
    hs256.assert_rejected(forge_raw('{"alg":"HS256"}', claims), path="/admin")


def test_rfc7159_deeply_nested_payload(hs256: Target) -> None:
    """A payload nested thousands deep (parser DoS) is refused, never a 500."""
    payload = '{"data":' + "[" * 3000 + "]" * 3000 + "}"
    hs256.assert_rejected(forge_raw('{"alg":"HS256"}', payload))

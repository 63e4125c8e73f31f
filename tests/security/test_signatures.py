"""Signature and encoding attacks: stripped, truncated, padded, transplanted, tampered payloads.

Catalogue: RFC 7515 §5.2 (validation), §2 and Appendix C (unpadded base64url),
RFC 8725 §3.1; OWASP JWT cheat sheet "Token sidejacking"/"signature not
verified"; jwt_tool ``-X s`` (signature stripping), ``-T`` (payload tampering);
CVE-2015-9235 (signature bypass), CVE-2020-28042 (empty signature accepted).
"""

import json

import pytest

from tests.security.attack import SECRET, Target, b64url, forge, make_target, segment, valid_claims


@pytest.fixture(scope="module")
def target() -> Target:
    return make_target()


def _parts(target: Target) -> tuple[str, str, str]:
    header, payload, signature = target.genuine.split(".")
    return header, payload, signature


def test_cve_2020_28042_signature_stripped_empty(target: Target) -> None:
    """CVE-2020-28042 / jwt_tool -X s: ``header.payload.`` (empty signature) is refused."""
    header, payload, _ = _parts(target)
    target.assert_rejected(f"{header}.{payload}.")


def test_rfc7515_signature_stripped_two_segments(target: Target) -> None:
    """RFC 7515 §7.1: a two-segment ``header.payload`` token is refused."""
    header, payload, _ = _parts(target)
    target.assert_rejected(f"{header}.{payload}")


@pytest.mark.parametrize("keep", [1, 10, 20, 42])
def test_rfc7515_truncated_signature(target: Target, keep: int) -> None:
    """RFC 7515 §5.2: a truncated HMAC signature (prefix of the genuine one) is refused."""
    header, payload, signature = _parts(target)
    target.assert_rejected(f"{header}.{payload}.{signature[:keep]}")


@pytest.mark.parametrize(
    "suffix",
    [pytest.param("=", id="one-pad"), pytest.param("==", id="two-pad"), pytest.param("AAAA", id="extra-bytes")],
)
def test_rfc7515_padded_signature(target: Target, suffix: str) -> None:
    """RFC 7515 §2: base64 padding or appended bytes after a genuine signature are refused."""
    header, payload, signature = _parts(target)
    target.assert_rejected(f"{header}.{payload}.{signature}{suffix}")


def test_rfc7515_non_canonical_base64_tail(target: Target) -> None:
    """RFC 7515 Appendix C / RFC 4648 §3.5: a signature differing only in unused trailing bits is refused.

    Many decoders map several texts to the same bytes; accepting them makes tokens malleable.
    """
    header, payload, signature = _parts(target)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    variant = signature[:-1] + alphabet[last | 1]  # 32-byte HMAC -> 43 chars, 2 unused bits at the end
    assert variant != signature
    target.assert_rejected(f"{header}.{payload}.{variant}")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(
            lambda s: s.replace("-", "+").replace("_", "/") if ("-" in s or "_" in s) else s[:-1] + "/",
            id="standard-alphabet",
        ),
        pytest.param(lambda s: s + "\n", id="trailing-newline"),
        pytest.param(lambda s: " " + s, id="leading-space"),
        pytest.param(lambda s: s[:10] + "." + s[10:], id="extra-dot"),
        pytest.param(lambda s: s.upper(), id="uppercased"),
    ],
)
def test_rfc7515_mangled_signature_encoding(target: Target, mutate: object) -> None:
    """RFC 7515 §2: only unpadded base64url is accepted; mangled encodings are refused."""
    header, payload, signature = _parts(target)
    mutated = mutate(signature)  # type: ignore[operator]
    assert mutated != signature
    target.assert_rejected(f"{header}.{payload}.{mutated}")


def test_jwt_tool_transplanted_signature_from_other_token(target: Target) -> None:
    """jwt_tool signature transplant: another genuine token's signature on forged claims is refused."""
    header, _, signature = _parts(target)
    forged_payload = segment(valid_claims(sub="alice", perms=["orders:read", "admin"]))
    target.assert_rejected(f"{header}.{forged_payload}.{signature}", path="/admin")


def test_jwt_tool_transplanted_payload_between_genuine_tokens(target: Target) -> None:
    """Mixing the header+signature of one genuine token with the payload of another is refused."""
    header, _, signature = target.genuine.split(".")
    _, admin_payload, _ = target.genuine_admin.split(".")
    target.assert_rejected(f"{header}.{admin_payload}.{signature}", path="/admin")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"perms": ["orders:read", "admin"]}, id="add-admin"),
        pytest.param({"sub": "root"}, id="change-sub"),
        pytest.param({"exp": 4102444800}, id="extend-exp"),
        pytest.param({"aud": ["https://other.test"]}, id="change-aud"),
        pytest.param({"data": {"role": "admin"}}, id="change-data"),
    ],
)
def test_jwt_tool_payload_tampering_keeps_old_signature(target: Target, change: dict[str, object]) -> None:
    """jwt_tool -T / OWASP: editing any claim of a genuine token invalidates its signature."""
    header, payload, signature = _parts(target)
    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(change)
    target.assert_rejected(f"{header}.{segment(claims)}.{signature}", path="/admin")


def test_payload_whitespace_reencoding_changes_nothing_for_attacker(target: Target) -> None:
    """RFC 7515 §5.2: re-serialising the same claims (spaces) under the old signature is refused."""
    header, payload, signature = _parts(target)
    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    respaced = b64url(json.dumps(claims, indent=1))
    target.assert_rejected(f"{header}.{respaced}.{signature}")


def test_rfc7515_header_tampering_keeps_old_signature(target: Target) -> None:
    """RFC 7515 §5.2: the signature covers the header too; adding a member invalidates it."""
    _, payload, signature = _parts(target)
    target.assert_rejected(f"{segment({'alg': 'HS256', 'typ': 'JWT', 'x': 1})}.{payload}.{signature}")


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty-key"),
        pytest.param("secret", id="guessable-secret"),
        pytest.param(SECRET[:-1], id="secret-minus-one-char"),
        pytest.param(SECRET + "!", id="secret-plus-one-char"),
        pytest.param(SECRET.upper(), id="secret-uppercased"),
    ],
)
def test_owasp_weak_or_wrong_hmac_key(target: Target, key: str) -> None:
    """OWASP "weak token secret" / jwt_tool -C: tokens signed with any other key are refused."""
    target.assert_rejected(forge(None, valid_claims(perms=["admin"]), key=key), path="/admin")


def test_signature_over_unicode_lookalike_payload(target: Target) -> None:
    """Non-ASCII in a segment (a homoglyph of a base64url character) is refused before any crypto."""
    header, payload, signature = _parts(target)
    target.assert_rejected(f"{header}.{payload}.{signature[:-1]}\u0410")

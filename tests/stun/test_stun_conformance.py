"""The STUN codec against the RFC 5769 sample messages (../shared/conformance/stun).

Each vector must decode, its MESSAGE-INTEGRITY and FINGERPRINT must verify with the
given credentials, its XOR-MAPPED-ADDRESS must decode to the value given, and it must
re-encode byte for byte (the samples pad with spaces in places: RFC 8489 lets padding
be anything, so the padding byte is a parameter of encode). Changing any byte covered
by integrity or fingerprint must make a check fail. The vectors are RFC 5769's own
sample messages; tests/stun/rfc5769.json holds them too, for a checkout that has no
shared folder beside it.
"""

import json
from pathlib import Path

import pytest

from sourcey import stun

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
SHARED = CONFORMANCE / "stun" / "rfc5769.json"
VECTORS = SHARED if SHARED.exists() else Path(__file__).with_name("rfc5769.json")


def _vectors():
    data = json.loads(VECTORS.read_text())
    return [pytest.param(case, id=name) for name, case in data.items()]


def _key(case):
    if case["key_kind"] == "short":
        return stun.short_term_key(case["password"])
    return stun.long_term_key(case["username"], case["realm"], case["password"])


@pytest.fixture(params=_vectors())
def case(request):
    return request.param


def test_vector_decodes_and_verifies(case):
    raw = bytes.fromhex(case["hex"])
    msg = stun.decode(raw)
    assert msg.method == stun.BINDING
    assert msg.has_integrity
    assert msg.check_integrity(_key(case))
    assert not msg.check_integrity(_key(case) + b"x")
    if "username" in case:
        assert msg.get(stun.USERNAME) == case["username"]
        assert msg.get(stun.REALM) == case["realm"]
        assert msg.get(stun.NONCE) == case["nonce"]
    if "xor_mapped" in case:
        assert msg.cls == stun.SUCCESS
        assert msg.get(stun.XOR_MAPPED_ADDRESS) == tuple(case["xor_mapped"])
    else:
        assert msg.cls == stun.REQUEST


def test_vector_fingerprint(case):
    raw = bytes.fromhex(case["hex"])
    msg = stun.decode(raw)
    if not msg.has_fingerprint:
        pytest.skip("this vector carries no FINGERPRINT")
    assert msg.get(stun.FINGERPRINT) == stun.crc32(raw[:-8]) ^ 0x5354554E


def test_vector_reencodes_byte_identical(case):
    raw = bytes.fromhex(case["hex"])
    msg = stun.decode(raw)
    # The samples pad with spaces (2.1-2.3) or zeros (2.4); padding is the sender's choice.
    padding = b" " if case["key_kind"] == "short" else b"\0"
    assert msg.encode(_key(case), fingerprint=msg.has_fingerprint, padding=padding) == raw


def test_vector_every_byte_changed_fails(case):
    """Flip each byte in turn: the message is rejected, or its integrity fails. A flip
    in FINGERPRINT's value is a mismatch; one in its type makes it an unknown attribute
    after MESSAGE-INTEGRITY, which is ignored: the message then has no FINGERPRINT."""
    raw = bytes.fromhex(case["hex"])
    key = _key(case)
    mi_end = len(raw) - (8 if stun.decode(raw).has_fingerprint else 0)
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        try:
            decoded = stun.decode(bytes(bad))
        except stun.DecodeError:
            continue
        if i < mi_end:
            assert not decoded.check_integrity(key), f"byte {i} changed, integrity passed"
        else:
            assert not decoded.has_fingerprint, f"byte {i} changed, fingerprint passed"


def test_saslprep_of_the_rfc5769_password():
    """RFC 5769 §2.4: the password "The<U+00AD>M<U+00AA>tr<U+2168>" is "TheMatrIX"
    after SASLprep."""
    assert stun.saslprep("The\u00adM\u00aatr\u2168") == "TheMatrIX"
    if VECTORS.exists():
        case = json.loads(VECTORS.read_text())["rfc5769_2.4_request_long_term"]
        key = stun.long_term_key(case["username"], case["realm"], "The\u00adM\u00aatr\u2168")
        assert stun.decode(bytes.fromhex(case["hex"])).check_integrity(key)

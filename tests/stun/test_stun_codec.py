"""The STUN codec: message types, every attribute's round trip, integrity and
fingerprint, credentials, and the typed errors of malformed input."""

import hashlib
import hmac
import struct
import zlib

import pytest

from sourcey import stun
from sourcey.net import Address

TXID = bytes(range(1, 13))


def roundtrip(attr_type, value):
    msg = stun.Message(stun.BINDING, stun.REQUEST, TXID).add(attr_type, value)
    decoded = stun.decode(msg.encode())
    assert decoded.attributes == msg.attributes
    return decoded.get(attr_type)


# -- message types ----------------------------------------------------------------------

@pytest.mark.parametrize("method", [0x000, 0x001, 0x009, 0x00F, 0x010, 0x070, 0x080, 0xF80,
                                    0xFFF, 0xABC])
@pytest.mark.parametrize("cls", [stun.REQUEST, stun.INDICATION, stun.SUCCESS, stun.ERROR])
def test_message_type_roundtrip(method, cls):
    t = stun.message_type(method, cls)
    assert t < 0x4000
    assert stun.split_type(t) == (method, cls)
    msg = stun.decode(stun.Message(method, cls, TXID).encode())
    assert (msg.method, msg.cls, msg.transaction_id) == (method, cls, TXID)


def test_message_type_known_values():
    # RFC 8489 §5: a Binding request is 0x0001, its success response 0x0101.
    assert stun.message_type(stun.BINDING, stun.REQUEST) == 0x0001
    assert stun.message_type(stun.BINDING, stun.SUCCESS) == 0x0101
    assert stun.message_type(stun.BINDING, stun.ERROR) == 0x0111
    assert stun.message_type(stun.ALLOCATE, stun.REQUEST) == 0x0003
    assert stun.message_type(stun.DATA, stun.INDICATION) == 0x0017
    with pytest.raises(ValueError):
        stun.message_type(0x1000, stun.REQUEST)
    with pytest.raises(ValueError):
        stun.message_type(1, 0x0001)


def test_empty_binding_request_bytes():
    assert stun.Message(stun.BINDING, stun.REQUEST, TXID).encode() == (
        b"\x00\x01\x00\x00\x21\x12\xa4\x42" + TXID)


def test_transaction_ids_are_random_and_12_bytes():
    ids = {stun.transaction_id() for _ in range(100)} | {
        stun.Message(stun.BINDING).transaction_id for _ in range(100)}
    assert len(ids) == 200 and all(len(i) == 12 for i in ids)
    with pytest.raises(ValueError):
        stun.Message(stun.BINDING, transaction_id=b"short")


# -- attributes --------------------------------------------------------------------------

ADDRESSES = [("192.0.2.1", 32853), ("0.0.0.0", 0), ("255.255.255.255", 65535),
             ("2001:db8:1234:5678:11:2233:4455:6677", 32853), ("::1", 3478), ("::", 1)]


@pytest.mark.parametrize("attr", [stun.XOR_MAPPED_ADDRESS, stun.MAPPED_ADDRESS,
                                  stun.ALTERNATE_SERVER, stun.XOR_PEER_ADDRESS,
                                  stun.XOR_RELAYED_ADDRESS])
@pytest.mark.parametrize("address", ADDRESSES)
def test_address_roundtrip(attr, address):
    value = roundtrip(attr, address)
    assert value == Address(*address) and isinstance(value, Address)


def test_xor_mapped_address_is_xored():
    msg = stun.Message(stun.BINDING, stun.SUCCESS, TXID).add(
        stun.XOR_MAPPED_ADDRESS, ("192.0.2.1", 32853)).add(stun.MAPPED_ADDRESS,
                                                            ("192.0.2.1", 32853))
    xored, plain = msg.attributes[0][1], msg.attributes[1][1]
    assert plain == b"\x00\x01\x80\x55\xc0\x00\x02\x01"
    assert xored == b"\x00\x01" + struct.pack(">H", 32853 ^ 0x2112) + bytes(
        a ^ b for a, b in zip(bytes((192, 0, 2, 1)), b"\x21\x12\xa4\x42", strict=True))
    v6 = stun.Message(stun.BINDING, stun.SUCCESS, TXID).add(stun.XOR_MAPPED_ADDRESS,
                                                            ("::1", 1)).attributes[0][1]
    mask = b"\x21\x12\xa4\x42" + TXID
    assert v6[4:] == bytes(a ^ b for a, b in zip(bytes(15) + b"\x01", mask, strict=True))


@pytest.mark.parametrize("attr,value", [
    (stun.USERNAME, "evtj:h6vY"), (stun.USERNAME, "マトリックス"), (stun.USERNAME, ""),
    (stun.REALM, "example.org"), (stun.NONCE, "f//499k954d6OL34oL9FSTvy64sA"),
    (stun.SOFTWARE, "sourcey 1.0 ☃"), (stun.ALTERNATE_DOMAIN, "stun.example.org"),
    (stun.USERNAME, "u" * 513), (stun.SOFTWARE, "é" * 381),
])
def test_text_roundtrip(attr, value):
    assert roundtrip(attr, value) == value


@pytest.mark.parametrize("code,reason", [(300, "Try Alternate"), (400, "Bad Request"),
                                         (420, ""), (438, "Stale Nonce"), (699, "ü")])
def test_error_code_roundtrip(code, reason):
    assert roundtrip(stun.ERROR_CODE, (code, reason)) == (code, reason)


def test_error_code_default_reason_and_limits():
    assert roundtrip(stun.ERROR_CODE, 401) == (401, "Unauthorized")
    for bad in (299, 700):
        with pytest.raises(ValueError):
            stun.Message(stun.BINDING).add(stun.ERROR_CODE, bad)


def test_other_typed_attributes_roundtrip():
    assert roundtrip(stun.UNKNOWN_ATTRIBUTES, [0x0003, 0x7FFF, 0x0042]) == [3, 0x7FFF, 0x42]
    assert roundtrip(stun.UNKNOWN_ATTRIBUTES, []) == []
    assert roundtrip(stun.PASSWORD_ALGORITHMS, [(stun.ALGORITHM_MD5, b""),
                                                (stun.ALGORITHM_SHA256, b""),
                                                (0x42, b"abcde")]) == [
        (1, b""), (2, b""), (0x42, b"abcde")]
    assert roundtrip(stun.PASSWORD_ALGORITHM, stun.ALGORITHM_SHA256) == (2, b"")
    assert roundtrip(stun.USERHASH, bytes(range(32))) == bytes(range(32))
    assert roundtrip(stun.LIFETIME, 600) == 600
    assert roundtrip(stun.PRIORITY, 0x6E0001FF) == 0x6E0001FF
    assert roundtrip(stun.ICE_CONTROLLED, 0x932FF9B151263B36) == 0x932FF9B151263B36
    assert roundtrip(stun.ICE_CONTROLLING, 1) == 1
    assert roundtrip(stun.USE_CANDIDATE, True) is True
    assert roundtrip(stun.DONT_FRAGMENT, True) is True
    assert roundtrip(stun.CHANNEL_NUMBER, 0x4001) == 0x4001
    assert roundtrip(stun.REQUESTED_TRANSPORT, 17) == 17
    assert roundtrip(stun.REQUESTED_ADDRESS_FAMILY, 2) == 2
    assert roundtrip(stun.ADDITIONAL_ADDRESS_FAMILY, 2) == 2
    assert roundtrip(stun.EVEN_PORT, True) is True
    assert roundtrip(stun.EVEN_PORT, False) is False
    assert roundtrip(stun.RESERVATION_TOKEN, b"12345678") == b"12345678"
    assert roundtrip(stun.CONNECTION_ID, 77) == 77
    assert roundtrip(stun.ADDRESS_ERROR_CODE, (6, 440, "no v6")) == (6, 440, "no v6")
    assert roundtrip(stun.DATA_ATTR, b"\x00payload") == b"\x00payload"
    assert roundtrip(stun.ICMP, bytes(8)) == bytes(8)
    assert roundtrip(0x7F31, b"opaque") == b"opaque"      # unknown types are bytes
    assert roundtrip(0xC001, b"") == b""


def test_padding_of_every_length():
    for n in range(9):
        msg = stun.Message(stun.BINDING, stun.REQUEST, TXID).add(0x8F00, bytes(n)).add(
            stun.SOFTWARE, "x")
        raw = msg.encode()
        assert len(raw) % 4 == 0
        assert stun.decode(raw).get_raw(0x8F00) == bytes(n)


def test_duplicates_are_kept_and_get_returns_the_first():
    msg = stun.Message(stun.BINDING, stun.REQUEST, TXID, [(stun.SOFTWARE, "a"),
                                                          (stun.SOFTWARE, "b")])
    decoded = stun.decode(msg.encode())
    assert decoded.get(stun.SOFTWARE) == "a"
    assert decoded.get_all(stun.SOFTWARE) == ["a", "b"]
    assert stun.SOFTWARE in decoded and stun.REALM not in decoded
    assert decoded.get(stun.REALM, "none") == "none"


def test_add_rejects_bad_values():
    msg = stun.Message(stun.BINDING)
    with pytest.raises(TypeError):
        msg.add(0x7F00, 12)
    with pytest.raises(ValueError):
        msg.add(0x10000, b"")
    with pytest.raises(ValueError):
        msg.add(0x7F00, bytes(65536))
    with pytest.raises(ValueError):
        msg.add(stun.XOR_MAPPED_ADDRESS, ("192.0.2.1", 70000))
    with pytest.raises(OSError):
        msg.add(stun.XOR_MAPPED_ADDRESS, ("not-an-ip", 1))


# -- integrity, fingerprint and credentials ------------------------------------------

def test_fingerprint_is_crc32_xor_stun():
    for data in (b"", b"a", b"123456789", bytes(range(256)) * 3):
        assert stun.crc32(data) == zlib.crc32(data)
    raw = stun.Message(stun.BINDING, stun.REQUEST, TXID).encode(fingerprint=True)
    assert struct.unpack(">I", raw[-4:])[0] == zlib.crc32(raw[:-8]) ^ 0x5354554E
    assert stun.decode(raw).has_fingerprint


@pytest.mark.parametrize("integrity", ["sha1", "sha256", "both"])
@pytest.mark.parametrize("fingerprint", [False, True])
def test_integrity_roundtrip(integrity, fingerprint):
    key = stun.long_term_key("user", "realm", "pass")
    msg = stun.Message(stun.BINDING, stun.REQUEST, TXID, [(stun.USERNAME, "user")])
    raw = msg.encode(key, fingerprint=fingerprint, integrity=integrity)
    decoded = stun.decode(raw)
    assert decoded.check_integrity(key)
    assert not decoded.check_integrity(b"other key")
    assert decoded.check_integrity(key, "sha1") == (integrity != "sha256")
    assert decoded.check_integrity(key, "sha256") == (integrity != "sha1")
    # Re-encoding a decoded message recomputes the trailers, not duplicates them.
    assert decoded.encode(key, fingerprint=fingerprint, integrity=integrity) == raw


def test_integrity_covers_the_adjusted_length():
    """RFC 8489 §14.5: the HMAC input is the message up to MESSAGE-INTEGRITY, with the
    length field counting up to MESSAGE-INTEGRITY's end (not FINGERPRINT)."""
    key = b"k"
    raw = stun.Message(stun.BINDING, stun.REQUEST, TXID, [(stun.SOFTWARE, "abcd")]).encode(
        key, fingerprint=True)
    mi = 20 + 8
    covered = raw[:2] + struct.pack(">H", mi + 24 - 20) + raw[4:mi]
    assert raw[mi + 4:mi + 24] == hmac.digest(key, covered, "sha1")


def test_truncated_sha256_integrity_accepted():
    """MESSAGE-INTEGRITY-SHA256 may be truncated to 16..32 bytes, a multiple of 4."""
    key = b"key"
    base = stun.Message(stun.BINDING, stun.REQUEST, TXID).encode()
    for n in (16, 20, 24, 28, 32):
        head = base[:2] + struct.pack(">H", 4 + n) + base[4:]
        mac = hmac.digest(key, head, "sha256")[:n]
        raw = head + struct.pack(">HH", stun.MESSAGE_INTEGRITY_SHA256, n) + mac
        msg = stun.decode(raw)
        assert msg.check_integrity(key)
        assert not msg.check_integrity(b"nope")


def test_integrity_of_a_built_message_is_false():
    assert not stun.Message(stun.BINDING).check_integrity(b"k")
    with pytest.raises(ValueError):
        stun.decode(stun.Message(stun.BINDING).encode(b"k")).check_integrity(b"k", "md5")


def test_attributes_after_integrity_are_ignored():
    """RFC 8489 §14.5: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
    FINGERPRINT count."""
    key = b"key"
    raw = stun.Message(stun.BINDING, stun.REQUEST, TXID).encode(key)
    extra = struct.pack(">HH", stun.SOFTWARE, 4) + b"evil"
    raw = raw[:2] + struct.pack(">H", len(raw) - 20 + len(extra)) + raw[4:] + extra
    msg = stun.decode(raw)
    assert stun.SOFTWARE not in msg
    assert msg.check_integrity(key)


def test_credentials():
    assert stun.short_term_key("VOkJxbRl1RmTxUk/WvJxBt") == b"VOkJxbRl1RmTxUk/WvJxBt"
    assert stun.long_term_key("user", "realm", "pass") == hashlib.md5(
        b"user:realm:pass").digest()
    assert stun.long_term_key("user", "realm", "pass", stun.ALGORITHM_SHA256) == (
        hashlib.sha256(b"user:realm:pass").digest())
    assert stun.userhash("user", "realm") == hashlib.sha256(b"user:realm").digest()
    with pytest.raises(stun.StunError):
        stun.long_term_key("u", "r", "p", 0x99)
    assert stun.saslprep("a\u00a0b") == "a b"               # non-ASCII space -> SPACE
    assert stun.saslprep("\u2163") == "IV"                  # NFKC
    for bad in ("a\x00b", "a\x07", "\ue000", "\u0627a\u0627"):
        with pytest.raises(stun.StunError):
            stun.saslprep(bad)
    assert stun.saslprep("\u0627\u0628") == "\u0627\u0628"   # right-to-left alone is fine


# -- replies and unknown attributes ------------------------------------------------------

def test_unknown_required_and_420():
    msg = stun.decode(stun.Message(stun.BINDING, stun.REQUEST, TXID, [
        (0x7F01, b"x"), (0x8F01, b"optional"), (0x7F01, b"again"), (0x0003, bytes(4)),
        (stun.PRIORITY, 1)]).encode())
    assert msg.unknown_required() == [0x7F01]
    assert msg.unknown_required(known={0x7F01}) == [0x0003, stun.PRIORITY]
    reply = stun.decode(msg.error_response(420, unknown=msg.unknown_required()).encode())
    assert reply.cls == stun.ERROR and reply.transaction_id == TXID
    assert reply.get(stun.ERROR_CODE) == (420, "Unknown Attribute")
    assert reply.get(stun.UNKNOWN_ATTRIBUTES) == [0x7F01]


def test_response_keeps_method_and_id():
    req = stun.Message(stun.ALLOCATE, stun.REQUEST)
    resp = req.response()
    assert (resp.method, resp.cls, resp.transaction_id) == (
        stun.ALLOCATE, stun.SUCCESS, req.transaction_id)
    assert "Allocate success" in repr(resp)


def test_is_stun():
    raw = stun.Message(stun.BINDING).encode()
    assert stun.is_stun(raw)
    assert not stun.is_stun(raw[:19])
    assert not stun.is_stun(b"\x40" + raw[1:])
    assert not stun.is_stun(b"GET / HTTP/1.1\r\n\r\n   ")


def test_encode_size_limit():
    msg = stun.Message(stun.BINDING, stun.REQUEST, TXID, [(0x8F00, bytes(65528))])
    assert len(msg.encode()) == 20 + 65532      # the largest length field, 4-aligned
    with pytest.raises(stun.StunError):
        msg.encode(fingerprint=True)

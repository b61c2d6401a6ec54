"""Malformed STUN input: every defect is a DecodeError with its code, never a crash;
and a random fuzz run, bounded in time."""

import random
import struct
import time

import pytest

from sourcey import stun

TXID = bytes(range(1, 13))
COOKIE = b"\x21\x12\xa4\x42"


def attr(t, value, pad=b"\0"):
    return struct.pack(">HH", t, len(value)) + value + pad * (-len(value) % 4)


def message(*attrs, msg_type=0x0001, length=None):
    body = b"".join(attrs)
    return struct.pack(">HH", msg_type, len(body) if length is None else length) + (
        COOKIE + TXID + body)


def code_of(data, **kw):
    with pytest.raises(stun.DecodeError) as info:
        stun.decode(data, **kw)
    return info.value


VALID = [
    message(),
    message(attr(stun.SOFTWARE, b"abc"), attr(stun.USERNAME, b"user:name")),
    stun.Message(stun.BINDING, stun.SUCCESS, TXID, [
        (stun.XOR_MAPPED_ADDRESS, ("2001:db8::1", 5)), (stun.SOFTWARE, "x")]).encode(
        b"key", fingerprint=True, integrity="both"),
]


@pytest.mark.parametrize("raw", VALID)
def test_every_truncation_is_rejected(raw):
    stun.decode(raw)
    for n in range(len(raw)):
        err = code_of(raw[:n])
        assert err.code == ("SHORT" if n < 20 else "LENGTH"), n
        assert err.msg_type is None           # a cut datagram is not answered


@pytest.mark.parametrize("raw", VALID)
def test_every_extension_is_rejected(raw):
    for extra in (b"\0", b"\0" * 4, attr(0x8F00, b"")):
        assert code_of(raw + extra).code == "LENGTH"


def test_header_errors():
    assert code_of(b"").code == "SHORT"
    assert code_of(b"\x80" + message()[1:]).code == "NOT_STUN"
    assert code_of(b"\x40" + message()[1:]).code == "NOT_STUN"
    assert code_of(message()[:4] + b"\x21\x12\xa4\x43" + TXID).code == "COOKIE"
    err = code_of(message(attr(0x8F00, b"abcd"), length=6)[:26])
    assert err.code == "LENGTH_ALIGN"
    assert code_of(message(attr(0x8F00, b"abcd"), length=4)).code == "LENGTH"


def test_error_carries_the_header_when_valid():
    err = code_of(message(attr(stun.XOR_MAPPED_ADDRESS, b"\0\3\0\0abcd"), msg_type=0x0003))
    assert err.code == "ADDRESS"
    assert err.msg_type == 0x0003 and err.transaction_id == TXID
    assert "ADDRESS" in str(err) and err.reason
    err = code_of(message()[:19])
    assert err.msg_type is None and err.transaction_id is None


def test_attribute_overruns():
    # The value's length reaches past the end of the message.
    raw = message(struct.pack(">HH", 0x8F00, 8) + b"abcd")
    assert code_of(raw).code == "ATTR_TRUNCATED"
    # Padding left out: a 5-byte value followed at once by the next attribute. The
    # total is aligned, but the walk lands inside that attribute and overruns.
    raw = message(struct.pack(">HH", 0x8F00, 5) + b"abcde"
                  + struct.pack(">HH", 0x8F01, 3) + b"xyz")
    assert code_of(raw).code == "ATTR_TRUNCATED"
    # The same with the padding is fine.
    stun.decode(message(attr(0x8F00, b"abcde"), attr(0x8F01, b"xyz")))


def test_padding_content_is_ignored():
    """RFC 8489 §14: padding bytes may hold anything."""
    msg = stun.decode(message(attr(stun.SOFTWARE, b"abc", pad=b"\xff")))
    assert msg.get(stun.SOFTWARE) == "abc"


def test_attribute_flood():
    flood = message(*[attr(0x8F00, b"")] * 65)
    assert code_of(flood).code == "TOO_MANY_ATTRS"
    assert len(stun.decode(flood, max_attributes=65).attributes) == 65
    many = message(*[attr(0x8F00, b"")] * 300)
    assert code_of(many, max_attributes=10_000).code == "TOO_MANY_ATTRS"   # capped at 256
    with pytest.raises(ValueError):
        stun.decode(message(), max_attributes=0)


def test_fingerprint_errors():
    good = stun.Message(stun.BINDING, stun.REQUEST, TXID).encode(fingerprint=True)
    bad = good[:-1] + bytes((good[-1] ^ 1,))
    assert code_of(bad).code == "FINGERPRINT"
    # FINGERPRINT not last.
    body = attr(stun.FINGERPRINT, b"\0\0\0\0") + attr(stun.SOFTWARE, b"x")
    assert code_of(message(body)).code == "FINGERPRINT_LAST"
    assert code_of(message(attr(stun.FINGERPRINT, b"\0\0\0"))).code == "FINGERPRINT_LENGTH"


def test_integrity_errors():
    key = b"key"
    raw = stun.Message(stun.BINDING, stun.REQUEST, TXID, [(stun.USERNAME, "u")]).encode(key)
    msg = stun.decode(raw)
    assert msg.check_integrity(key)
    # Wrong key, changed HMAC, changed covered byte: decodes, integrity fails.
    assert not msg.check_integrity(b"kez")
    assert not stun.decode(raw[:-1] + bytes((raw[-1] ^ 1,))).check_integrity(key)
    assert not stun.decode(raw[:24] + b"v" + raw[25:]).check_integrity(key)
    assert code_of(message(attr(stun.MESSAGE_INTEGRITY, bytes(16)))).code == "INTEGRITY_LENGTH"
    for n in (0, 12, 18, 36):
        assert code_of(message(attr(stun.MESSAGE_INTEGRITY_SHA256, bytes(n)))).code == (
            "INTEGRITY_LENGTH")


@pytest.mark.parametrize("attrs,code", [
    ([attr(stun.XOR_MAPPED_ADDRESS, b"\0\3\0\1abcd")], "ADDRESS"),        # family 3
    ([attr(stun.MAPPED_ADDRESS, b"\0\1\0\1abc")], "ADDRESS"),             # IPv4, 7 bytes
    ([attr(stun.ALTERNATE_SERVER, b"\0\2\0\1" + bytes(8))], "ADDRESS"),   # IPv6, 12 bytes
    ([attr(stun.XOR_PEER_ADDRESS, b"\0\1")], "ADDRESS"),
    ([attr(stun.USERNAME, b"\xff\xfe")], "TEXT"),
    ([attr(stun.USERNAME, b"\xc0\x80")], "TEXT"),                          # overlong NUL
    ([attr(stun.REALM, b"\xed\xa0\x80")], "TEXT"),                         # a surrogate
    ([attr(stun.NONCE, b"\xf4\x90\x80\x80")], "TEXT"),                     # above U+10FFFF
    ([attr(stun.SOFTWARE, b"ab\xe2\x82")], "TEXT"),                        # cut short
    ([attr(stun.USERNAME, b"u" * 514)], "TEXT"),
    ([attr(stun.SOFTWARE, b"s" * 764)], "TEXT"),
    ([attr(stun.ERROR_CODE, b"\0\0\2\0")], "ERROR_CODE"),                  # class 2
    ([attr(stun.ERROR_CODE, b"\0\0\7\0")], "ERROR_CODE"),                  # class 7
    ([attr(stun.ERROR_CODE, b"\0\0\4\x64")], "ERROR_CODE"),                # number 100
    ([attr(stun.ERROR_CODE, b"\0\0\4")], "ERROR_CODE"),
    ([attr(stun.ERROR_CODE, b"\0\0\4\0\xff")], "TEXT"),
    ([attr(stun.UNKNOWN_ATTRIBUTES, b"\0\1\0")], "UNKNOWN_ATTRS"),
    ([attr(stun.PASSWORD_ALGORITHMS, b"\0\1\0\4ab")], "PASSWORD_ALGS"),
    ([attr(stun.PASSWORD_ALGORITHMS, b"\0\1\0\0\0")], "PASSWORD_ALGS"),
    ([attr(stun.PASSWORD_ALGORITHM, b"\0\1")], "PASSWORD_ALGS"),
    ([attr(stun.LIFETIME, b"\0\0\1")], "ATTR_LENGTH"),
    ([attr(stun.USERHASH, bytes(31))], "ATTR_LENGTH"),
    ([attr(stun.USE_CANDIDATE, b"x")], "ATTR_LENGTH"),
    ([attr(stun.ICE_CONTROLLING, bytes(4))], "ATTR_LENGTH"),
])
def test_bad_attribute_values(attrs, code):
    assert code_of(message(*attrs)).code == code


def test_decode_takes_any_buffer():
    raw = VALID[1]
    assert stun.decode(bytearray(raw)) == stun.decode(memoryview(raw)) == stun.decode(raw)


def _mutate(rng, raw):
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.4 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind < 0.6 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind < 0.75:
            del data[rng.randrange(len(data) + 1):]
        elif kind < 0.9:
            pos = rng.randrange(len(data) + 1)
            data[pos:pos] = rng.randbytes(rng.randrange(1, 9))
        elif len(data) >= 4:
            # Keep the length field honest, so the fuzz reaches the attribute walk.
            data[2:4] = struct.pack(">H", (len(data) - 20) & 0xFFFF)
    return bytes(data)


def test_random_fuzz_bounded():
    """Mutated messages and random bytes: DecodeError or a message that re-encodes;
    stops after 1.5 s or 30000 inputs, whichever is first (the count is not asserted)."""
    rng = random.Random(5769)
    seeds = VALID + [stun.Message(stun.BINDING, stun.REQUEST, TXID, [
        (stun.PASSWORD_ALGORITHMS, [(1, b""), (2, b"")]), (stun.ERROR_CODE, (420, "x")),
        (stun.UNKNOWN_ATTRIBUTES, [1, 2, 3]), (stun.MAPPED_ADDRESS, ("192.0.2.1", 9))]).encode(
        b"k", fingerprint=True)]
    deadline = time.monotonic() + 1.5
    decoded = 0
    for i in range(30000):
        if time.monotonic() > deadline:
            break
        if i % 10 == 0:
            data = rng.randbytes(rng.randrange(60))
        else:
            data = _mutate(rng, rng.choice(seeds))
        try:
            msg = stun.decode(data)
        except stun.DecodeError as exc:
            assert exc.code and exc.reason
            continue
        decoded += 1
        for t, _ in msg.attributes:
            msg.get(t)                    # every decoded value converts
        stun.decode(msg.encode())
    assert decoded > 0                   # the mutations do not all fail

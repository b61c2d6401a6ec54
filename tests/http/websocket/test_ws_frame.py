"""The sans-IO WebSocket codec (csrc/ws_frame.c through sourcey.http.websocket._frame):
RFC 6455 framing rules, masking, fragmentation, UTF-8 and size limits."""

import os
import struct

import pytest
from wsframes import KEY, feed_split, frame

from sourcey.http.websocket._frame import (
    BINARY,
    CLOSE,
    ERROR,
    PING,
    PONG,
    TEXT,
    Codec,
    close_code_valid,
    is_utf8,
    mask,
)


def server(**kw):
    return Codec(client=False, **kw)


def client(**kw):
    return Codec(client=True, **kw)


# --- RFC 6455 §5.7 examples ----------------------------------------------------------

RFC_UNMASKED_HELLO = bytes.fromhex("810548656c6c6f")
RFC_MASKED_HELLO = bytes.fromhex("818537fa213d7f9f4d5158")


def test_rfc_unmasked_text_to_client():
    assert client().feed(RFC_UNMASKED_HELLO) == [(TEXT, "Hello")]


def test_rfc_masked_text_to_server():
    assert server().feed(RFC_MASKED_HELLO) == [(TEXT, "Hello")]


def test_rfc_fragmented_unmasked_text():
    assert client().feed(bytes.fromhex("010348656c") + bytes.fromhex("80026c6f")) == [
        (TEXT, "Hello")]


def test_rfc_ping_and_masked_pong():
    assert client().feed(bytes.fromhex("890548656c6c6f")) == [(PING, b"Hello")]
    assert server().feed(bytes.fromhex("8a8537fa213d7f9f4d5158")) == [(PONG, b"Hello")]


@pytest.mark.parametrize("n,head", [(256, "827e0100"), (65536, "827f0000000000010000")])
def test_rfc_binary_lengths(n, head):
    payload = os.urandom(n)
    assert client().feed(bytes.fromhex(head) + payload) == [(BINARY, payload)]


def test_builder_matches_rfc_examples():
    assert server().send("Hello") == RFC_UNMASKED_HELLO
    assert server().ping(b"Hello") == bytes.fromhex("890548656c6c6f")
    assert server().send(b"\0" * 256)[:4] == bytes.fromhex("827e0100")
    assert server().send(b"\0" * 65536)[:10] == bytes.fromhex("827f0000000000010000")


def test_client_frames_are_masked_with_fresh_keys():
    c = client()
    a, b = c.send("Hello"), c.send("Hello")
    assert a[0] == 0x81 and a[1] == 0x85
    assert a[2:6] != b[2:6]
    assert server().feed(a + b) == [(TEXT, "Hello"), (TEXT, "Hello")]


# --- any read boundary ----------------------------------------------------------------

def test_split_at_every_byte():
    c = client()
    stream = (c.send("héllo wörld") + c.ping(b"p") + c.send(b"\x00\xff" * 200)
              + c.send("x" * 70000) + c.close(1000, "bye"))
    assert feed_split(server(), stream) == [
        (TEXT, "héllo wörld"), (PING, b"p"), (BINARY, b"\x00\xff" * 200),
        (TEXT, "x" * 70000), (CLOSE, (1000, "bye"))]


def test_fragments_with_interleaved_control_frames_split_everywhere():
    stream = (frame(0x1, "héllo ".encode()[:2], fin=False) + frame(0x9, b"ping")
              + frame(0x0, "héllo ".encode()[2:], fin=False) + frame(0xA, b"")
              + frame(0x0, b"world", fin=True))
    expected = [(PING, b"ping"), (PONG, b""), (TEXT, "héllo world")]
    assert server().feed(stream) == expected
    assert feed_split(server(), stream) == expected


def test_empty_messages_and_fragments():
    stream = (frame(0x1, b"") + frame(0x2, b"", fin=False) + frame(0x0, b"", fin=False)
              + frame(0x0, b""))
    assert feed_split(server(), stream) == [(TEXT, ""), (BINARY, b"")]


# --- masking --------------------------------------------------------------------------

def test_mask_vectors():
    assert mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")
    assert mask(bytes.fromhex("7f9f4d5158"), KEY) == b"Hello"


@pytest.mark.parametrize("offset", range(8))
@pytest.mark.parametrize("n", [0, 1, 3, 7, 8, 9, 31, 32, 33, 100])
def test_mask_every_offset_and_length(n, offset):
    data = os.urandom(n)
    expected = bytes(b ^ KEY[(offset + i) % 4] for i, b in enumerate(data))
    assert mask(data, KEY, offset) == expected
    # and from an unaligned start
    assert mask(memoryview(b"x" + data)[1:], KEY, offset) == expected


def test_mask_rejects_bad_key():
    with pytest.raises(ValueError):
        mask(b"abc", b"123")


# --- rules: 1002 ----------------------------------------------------------------------

def error_of(codec, data):
    events = codec.feed(data)
    assert events and events[-1][0] == ERROR, events
    return events[-1][1][0]


@pytest.mark.parametrize("data", [
    frame(0x1, b"x", rsv=0x40),                         # RSV1 with no extension
    frame(0x1, b"x", rsv=0x20),
    frame(0x1, b"x", rsv=0x10),
    frame(0x3, b""),                                    # reserved data opcode
    frame(0xB, b""),                                    # reserved control opcode
    frame(0x9, b"x", fin=False),                        # fragmented control frame
    frame(0x9, b"x" * 126),                             # control frame above 125
    frame(0x0, b"x"),                                   # continuation of nothing
    frame(0x1, b"a", fin=False) + frame(0x1, b"b"),     # new message inside one
    frame(0x1, b"x", key=None),                         # unmasked frame to a server
    frame(0x8, b"\x03"),                                # close payload of 1 byte
    frame(0x8, struct.pack("!H", 1005)),                # close code never sent
    frame(0x2, b"", length=2**63),                      # top bit of a 64-bit length
])
def test_protocol_errors(data):
    assert error_of(server(), data) == 1002


def test_masked_frame_to_client_is_an_error():
    assert error_of(client(), frame(0x1, b"x")) == 1002


def test_error_is_sticky_and_fails_on_the_header():
    s = server()
    # The reserved opcode fails on the first two bytes: the payload never arrives.
    assert s.feed(b"\x83\x80")[-1] == (ERROR, (1002, "reserved opcode"))
    assert s.feed(RFC_MASKED_HELLO) == [(ERROR, (1002, "reserved opcode"))]
    assert s.error == (1002, "reserved opcode")


def test_events_before_an_error_are_kept():
    events = server().feed(RFC_MASKED_HELLO + frame(0x3, b""))
    assert events[0] == (TEXT, "Hello") and events[1][0] == ERROR


def test_rsv1_on_control_or_continuation_with_deflate():
    assert error_of(server(compression=True), frame(0x9, b"", rsv=0x40)) == 1002
    data = frame(0x1, b"", fin=False, rsv=0x40) + frame(0x0, b"", rsv=0x40)
    assert error_of(server(compression=True), data) == 1002


# --- close codes (RFC 6455 §7.4) ------------------------------------------------------

VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999,
           5000, 65535]


@pytest.mark.parametrize("code", VALID)
def test_valid_close_codes(code):
    assert close_code_valid(code)
    assert server().feed(frame(0x8, struct.pack("!H", code) + b"ok")) == [
        (CLOSE, (code, "ok"))]
    assert client().feed(server().close(code, "ok")) == [(CLOSE, (code, "ok"))]


@pytest.mark.parametrize("code", INVALID)
def test_invalid_close_codes(code):
    assert not close_code_valid(code)
    assert error_of(server(), frame(0x8, struct.pack("!H", code))) == 1002
    with pytest.raises(ValueError):
        server().close(code)


def test_close_without_code_and_bad_reason():
    assert server().feed(frame(0x8, b"")) == [(CLOSE, (1005, ""))]
    assert client().feed(server().close(None)) == [(CLOSE, (1005, ""))]
    assert error_of(server(), frame(0x8, b"\x03\xe8\xff")) == 1007
    with pytest.raises(ValueError):
        server().close(1000, "x" * 124)


def test_control_payload_limit_on_send():
    server().ping(b"x" * 125)
    with pytest.raises(ValueError):
        server().ping(b"x" * 126)


# --- UTF-8 ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    b"", b"ascii only", "héllo".encode(), "€".encode(), "𝄞".encode(),
    b"\xed\x9f\xbf",                    # U+D7FF, just below the surrogates
    b"\xee\x80\x80",                    # U+E000, just above them
    b"\xf4\x8f\xbf\xbf",                # U+10FFFF
    b"\xef\xbf\xbf",                    # U+FFFF
    "κόσμε".encode() * 100,
])
def test_valid_utf8(text):
    assert is_utf8(text)
    assert is_utf8(*[text[i:i + 1] for i in range(len(text))])
    assert feed_split(server(), frame(0x1, text)) == [(TEXT, text.decode())]


@pytest.mark.parametrize("text", [
    b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf",             # stray, overlong 2-byte
    b"\xe0\x80\x80", b"\xe0\x9f\xbf",                       # overlong 3-byte
    b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",               # overlong 4-byte
    b"\xed\xa0\x80", b"\xed\xbf\xbf",                       # surrogates
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff",      # above U+10FFFF
    b"\xce\xba\xe1\xbd",                                    # truncated at the end
    b"\xc2\x41", b"ab\xe2\x82",
])
def test_invalid_utf8(text):
    assert not is_utf8(text)
    assert error_of(server(), frame(0x1, text)) == 1007


def test_utf8_across_fragments():
    euro = "€".encode()
    ok = frame(0x1, euro[:1], fin=False) + frame(0x0, euro[1:2], fin=False) + frame(
        0x0, euro[2:])
    assert feed_split(server(), ok) == [(TEXT, "€")]
    bad = frame(0x1, euro[:2], fin=False) + frame(0x0, b"")
    assert error_of(server(), bad) == 1007


def test_invalid_utf8_fails_fast():
    # The rest of the frame (and of the message) never comes: the bad prefix is enough.
    s = server()
    data = frame(0x1, b"ok\xed\xa0\x80" + b"x" * 100, fin=False)
    events = s.feed(data[:2 + 4 + 5])
    assert events == [(ERROR, (1007, "invalid UTF-8 in a text message"))]


# --- limits: 1009 ---------------------------------------------------------------------

def test_frame_limit():
    s = server(max_message=1000, max_frame=100)
    assert s.feed(frame(0x2, b"x" * 100)) == [(BINARY, b"x" * 100)]
    # fails on the header, before the payload
    assert error_of(s, frame(0x2, b"x" * 101)[:8]) == 1009


def test_message_limit_across_fragments():
    s = server(max_message=100)
    data = frame(0x2, b"x" * 60, fin=False) + frame(0x0, b"x" * 41)
    assert error_of(s, data) == 1009


def test_huge_declared_length_is_refused_at_once():
    assert error_of(server(), frame(0x2, b"", length=2**40)) == 1009


def test_bad_settings():
    with pytest.raises(ValueError):
        Codec(max_message=0)
    with pytest.raises(ValueError):
        Codec(compression=True, compress_window_bits=16)


# --- bad input never crashes ------------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_mutated_streams(seed):
    """Valid streams with bytes flipped, fed in random pieces: every outcome is events,
    ending at most in one ERROR with a 1002/1007/1009 close code."""
    import random
    rng = random.Random(seed)
    c = client(compression=bool(seed % 2))
    stream = bytearray(c.send("héllo" * rng.randint(1, 50)) + c.ping(b"x")
                       + c.send(os.urandom(rng.randint(0, 3000))) + c.close(1000, "ok"))
    for _ in range(rng.randint(1, 8)):
        stream[rng.randrange(len(stream))] = rng.randrange(256)
    s = server(compression=bool(seed % 2), max_message=1 << 16)
    events, at = [], 0
    while at < len(stream):
        n = rng.randint(1, 64)
        events += s.feed(bytes(stream[at:at + n]))
        at += n
    errors = [e for e in events if e[0] == ERROR]
    assert all(e[1][0] in (1002, 1007, 1009) for e in errors)
    if errors:
        assert events.index(errors[0]) >= len(events) - len(errors)

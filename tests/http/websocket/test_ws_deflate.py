"""permessage-deflate in the codec (csrc/ws_deflate.c): RFC 7692 §7.2.3 examples, round
trips with the context-takeover rules, and the decompressed-size limit."""

import os
import zlib

import pytest
from wsframes import feed_split, frame

from sourcey.http.websocket._frame import BINARY, ERROR, TEXT, Codec


def deflating(client, **kw):
    return Codec(client=client, compression=True, **kw)


# --- RFC 7692 §7.2.3 (unmasked frames, so read by a client) -------------------------

@pytest.mark.parametrize("hexdata", [
    "c107f248cdc9c90700",                   # 7.2.3.1 one compressed frame
    "4103f248cd" "8004c9c90700",            # 7.2.3.1 fragmented
    "c10b0005" "00faff48656c6c6f00",        # 7.2.3.3 a stored (uncompressed) block
    "c108f348cdc9c9070000",                 # 7.2.3.4 a final (BFINAL) block
    "c10df24805000000ffffcac9c90700",       # 7.2.3.5 two DEFLATE blocks
])
def test_rfc7692_examples(hexdata):
    data = bytes.fromhex(hexdata)
    assert deflating(True).feed(data) == [(TEXT, "Hello")]
    assert feed_split(deflating(True), data) == [(TEXT, "Hello")]


def test_rfc7692_shared_window():
    # 7.2.3.2: the second "Hello" refers back into the first message's window.
    data = bytes.fromhex("c107f248cdc9c90700") + bytes.fromhex("c105f200110000")
    assert deflating(True).feed(data) == [(TEXT, "Hello"), (TEXT, "Hello")]
    # and our compressor makes exactly those frames
    s = deflating(False)
    assert s.send("Hello") + s.send("Hello") == data


def test_final_block_then_next_message():
    data = bytes.fromhex("c108f348cdc9c9070000") * 2
    assert deflating(True).feed(data) == [(TEXT, "Hello"), (TEXT, "Hello")]


def test_empty_message_is_a_valid_deflate_payload():
    # After a first message zlib has nothing to flush for an empty one: the payload must
    # still be a block that another inflater accepts once the tail is appended.
    s = deflating(False)
    z = zlib.decompressobj(wbits=-15)
    frames = [s.send(m) for m in (b"", b"abc", b"", "", b"de")]
    assert all(len(f) > 2 for f in frames)
    out = [z.decompress(f[2:] + b"\x00\x00\xff\xff") for f in frames]
    assert out == [b"", b"abc", b"", b"", b"de"]


def test_no_context_takeover_resets_the_compressor():
    s = deflating(False, compress_no_context_takeover=True)
    first, second = s.send("Hello"), s.send("Hello")
    assert first == second == bytes.fromhex("c107f248cdc9c90700")
    # a peer that knows we reset decodes them with a reset decompressor
    c = deflating(True, decompress_no_context_takeover=True)
    assert c.feed(first + second) == [(TEXT, "Hello"), (TEXT, "Hello")]


@pytest.mark.parametrize("bits", [8, 9, 12, 15])
@pytest.mark.parametrize("reset", [False, True])
def test_round_trips(bits, reset):
    c = deflating(True, compress_window_bits=bits, compress_no_context_takeover=reset)
    s = deflating(False, decompress_no_context_takeover=reset)
    msgs = [b"", b"a", os.urandom(3000), b"abc" * 50000, "naïve ✓ text" * 1000]
    wire = b"".join(c.send(m) for m in msgs)
    expected = [(TEXT, m) if isinstance(m, str) else (BINARY, m) for m in msgs]
    assert s.feed(wire) == expected
    c2 = deflating(True, compress_window_bits=bits, compress_no_context_takeover=reset)
    s2 = deflating(False, decompress_no_context_takeover=reset)
    assert feed_split(s2, b"".join(c2.send(m) for m in msgs[:4])) == expected[:4]


def test_peer_frames_from_zlib():
    # Raw DEFLATE made by Python's zlib, as another implementation would send it.
    z = zlib.compressobj(wbits=-15)
    payload = z.compress(b"x" * 10000) + z.flush(zlib.Z_SYNC_FLUSH)
    assert payload.endswith(b"\x00\x00\xff\xff")
    data = frame(0x2, payload[:-4], rsv=0x40)
    assert deflating(False).feed(data) == [(BINARY, b"x" * 10000)]


def test_compressed_text_utf8_is_checked():
    z = zlib.compressobj(wbits=-15)
    payload = z.compress(b"ok\xc0\xaf") + z.flush(zlib.Z_SYNC_FLUSH)
    events = deflating(False).feed(frame(0x1, payload[:-4], rsv=0x40))
    assert events[-1][0] == ERROR and events[-1][1][0] == 1007


def test_zip_bomb_is_cut_at_the_limit():
    z = zlib.compressobj(level=9, wbits=-15)
    payload = z.compress(b"\0" * (50 * 1024 * 1024)) + z.flush(zlib.Z_SYNC_FLUSH)
    assert len(payload) < 100 * 1024
    s = deflating(False, max_message=1024 * 1024)
    events = s.feed(frame(0x2, payload[:-4], rsv=0x40))
    assert events == [(ERROR, (1009, "message above the size limit once decompressed"))]


def test_exact_limit_is_accepted():
    c = deflating(True)
    s = deflating(False, max_message=4096)
    assert s.feed(c.send(b"y" * 4096)) == [(BINARY, b"y" * 4096)]
    events = deflating(False, max_message=4096).feed(deflating(True).send(b"y" * 4097))
    assert events[-1][1][0] == 1009


def test_garbage_deflate_data():
    events = deflating(False).feed(frame(0x2, b"\xff\xff\xff\xff", rsv=0x40))
    assert events[-1][0] == ERROR and events[-1][1][0] == 1007


def test_uncompressed_messages_still_pass_with_deflate_on():
    assert deflating(False).feed(frame(0x1, b"plain")) == [(TEXT, "plain")]

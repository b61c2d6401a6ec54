"""Framer: whole STUN (and ChannelData) messages out of a byte stream, whatever the read
boundaries; bounded buffering; typed errors on a stream that is not STUN."""

import random
import struct

import pytest

from sourcey import stun


def messages(n, seed=1):
    rng = random.Random(seed)
    return [stun.Message(stun.BINDING, stun.REQUEST, rng.randbytes(12), [
        (stun.SOFTWARE, "x" * rng.randrange(40)), (0x8F00, rng.randbytes(rng.randrange(9)))
    ]).encode(fingerprint=rng.random() < 0.5) for _ in range(n)]


def channel_data(channel, payload):
    return struct.pack(">HH", channel, len(payload)) + payload


def padded(frame):
    return frame + b"\0" * (-len(frame) % 4)


def test_whole_stream_in_one_chunk():
    msgs = messages(20)
    framer = stun.Framer()
    assert framer.feed(b"".join(msgs)) == msgs
    assert framer.buffered == 0


def test_one_byte_at_a_time():
    msgs = messages(5)
    framer = stun.Framer()
    out = []
    for b in b"".join(msgs):
        out += framer.feed(bytes((b,)))
    assert out == msgs


@pytest.mark.parametrize("seed", range(10))
def test_random_boundaries(seed):
    rng = random.Random(seed)
    msgs = messages(30, seed)
    stream = b"".join(msgs)
    framer = stun.Framer()
    out = []
    pos = 0
    while pos < len(stream):
        n = rng.randint(1, 150)
        out += framer.feed(memoryview(stream)[pos:pos + n])
        pos += n
        assert framer.buffered < 20 + 0xFFFF
    assert out == msgs
    assert [stun.decode(m).transaction_id for m in out] == [m[8:20] for m in msgs]


def test_channel_data_frames_with_padding():
    frames = [channel_data(0x4000, b""), channel_data(0x4001, b"a"),
              channel_data(0x4FFF, b"abcd"), channel_data(0x4123, bytes(1001))]
    msgs = messages(3)
    stream = b"".join(padded(f) + m for f, m in zip(frames, msgs + [b""], strict=True))
    for step in (1, 3, 7, len(stream)):
        framer = stun.Framer(channel_data=True)
        out = []
        for i in range(0, len(stream), step):
            out += framer.feed(stream[i:i + step])
        assert out == [x for pair in zip(frames, msgs + [b""], strict=True) for x in pair if x]


def test_not_stun_is_an_error_and_stays_one():
    framer = stun.Framer()
    with pytest.raises(stun.DecodeError) as info:
        framer.feed(b"GET / HTTP/1.1\r\n")
    assert info.value.code == "FRAMING"
    with pytest.raises(stun.DecodeError):
        framer.feed(messages(1)[0])


@pytest.mark.parametrize("prefix", [
    b"\x40\x00\x00\x04",                 # ChannelData when not enabled
    b"\x80\x00\x00\x04",                 # top bits 10
    b"\xc0\x00\x00\x00",                 # top bits 11
    b"\x00\x01\x00\x05",                 # a length not a multiple of 4
    b"\x00\x01\x00\x00\x21\x12\xa4\x43",  # wrong cookie, seen as soon as 8 bytes are in
])
def test_bad_frame_starts(prefix):
    framer = stun.Framer(channel_data=prefix[0] == 0x80)
    with pytest.raises(stun.DecodeError):
        framer.feed(prefix)


def test_partial_header_waits():
    framer = stun.Framer()
    msg = messages(1)[0]
    assert framer.feed(msg[:3]) == []
    assert framer.buffered == 3
    assert framer.feed(msg[3:]) == [msg]


def test_max_frame():
    big = stun.Message(stun.BINDING, attributes=[(0x8F00, bytes(1000))]).encode()
    framer = stun.Framer(max_frame=512)
    with pytest.raises(stun.DecodeError) as info:
        framer.feed(big[:4])               # refused from the header, before the body
    assert "1024" in str(info.value)
    with pytest.raises(ValueError):
        stun.Framer(max_frame=10)


def test_frame_length():
    msg = messages(1)[0]
    assert stun.frame_length(msg) == len(msg)
    assert stun.frame_length(msg[:3]) == 0
    assert stun.frame_length(b"\x40\x01\x00\x05", True) == 12
    assert stun.frame_length(b"\x40\x01\x00\x05") == -1


def test_random_streams_never_crash():
    """Random bytes and damaged streams: frames or a DecodeError, the buffer bounded."""
    rng = random.Random(4571)
    good = b"".join(messages(10))
    for i in range(300):
        stream = bytearray(good if i % 2 else rng.randbytes(400))
        for _ in range(rng.randrange(4)):
            stream[rng.randrange(len(stream))] = rng.randrange(256)
        framer = stun.Framer(channel_data=bool(i % 3), max_frame=rng.choice([64, 65555]))
        pos = 0
        try:
            while pos < len(stream):
                n = rng.randint(1, 64)
                for frame in framer.feed(bytes(stream[pos:pos + n])):
                    assert 4 <= len(frame) <= framer.max_frame
                pos += n
                assert framer.buffered <= framer.max_frame + 64
        except stun.DecodeError as exc:
            assert exc.code == "FRAMING"

"""TURN ChannelData messages: encode, decode, padding, and framing on a stream."""

import random

import pytest

from sourcey import stun, turn


@pytest.mark.parametrize("channel", [0x4000, 0x4001, 0x4ABC, 0x4FFF, 0x5000, 0x7FFF])
@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 100, 65535])
def test_roundtrip_udp_and_padded(channel, size):
    payload = bytes(i % 251 for i in range(size))
    plain = turn.encode_channel_data(channel, payload)
    padded = turn.encode_channel_data(channel, payload, pad=True)
    assert len(plain) == 4 + size and len(padded) % 4 == 0 and padded.startswith(plain)
    assert turn.decode_channel_data(plain) == (channel, payload)
    assert turn.decode_channel_data(padded) == (channel, payload)   # padding ignored
    assert turn.is_channel_data(plain) and not stun.is_stun(plain)


@pytest.mark.parametrize("data", [b"", b"\x40\x00\x00", b"\x3f\xff\x00\x00",
                                  b"\x80\x00\x00\x00", b"\x40\x00\x00\x05abcd",
                                  b"\xff\xff\xff\xff"])
def test_malformed(data):
    with pytest.raises(stun.DecodeError) as info:
        turn.decode_channel_data(data)
    assert info.value.code == "CHANNEL"


def test_encode_limits():
    for bad in (0x3FFF, 0x8000):
        with pytest.raises(ValueError):
            turn.encode_channel_data(bad, b"")
    with pytest.raises(ValueError):
        turn.encode_channel_data(0x4000, bytes(65536))


def test_stream_of_channel_data_and_stun():
    """Over TCP: padded ChannelData and STUN messages, any read boundaries."""
    rng = random.Random(8656)
    frames = []
    for i in range(40):
        if i % 3:
            frames.append(turn.encode_channel_data(0x4000 + i, rng.randbytes(rng.randrange(50))))
        else:
            frames.append(stun.Message(stun.SEND, stun.INDICATION).encode())
    stream = b"".join(f + b"\0" * (-len(f) % 4) for f in frames)
    framer = stun.Framer(channel_data=True)
    out = []
    pos = 0
    while pos < len(stream):
        n = rng.randint(1, 40)
        out += framer.feed(stream[pos:pos + n])
        pos += n
    assert out == frames

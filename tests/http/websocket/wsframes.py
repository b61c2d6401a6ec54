"""Frames built by hand for the codec tests (independent of the codec's own builder).
A helper module, not a test module: imported by name, as pytest puts this directory on
sys.path."""

import struct

KEY = bytes.fromhex("37fa213d")     # RFC 6455 §5.7's masking key


def frame(opcode, payload=b"", *, fin=True, rsv=0, key=KEY, length=None):
    """A frame built by hand (independent of the codec's builder)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    m = 0x80 if key is not None else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if key is None:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def feed_split(codec, data):
    """Feed one byte at a time: every read boundary, headers split everywhere."""
    out = []
    for i in range(len(data)):
        out += codec.feed(data[i:i + 1])
    return out

"""TURN ChannelData messages (RFC 8656 §12.4, §12.5): a channel number, a length and
the application data, 4 bytes of header instead of a Send/Data indication's 36+.

Over UDP the padding to 4 bytes is optional (a receiver ignores what follows the
payload); over TCP and TLS it is required, so that the next message starts aligned:
``sourcey.stun.Framer(channel_data=True)`` frames such a stream.
"""

from __future__ import annotations

import struct

from sourcey.stun._codec import parse_channel_data

# RFC 5766's channel numbers. RFC 8656 §12 narrowed them to 0x4000-0x4FFF (keeping
# 0x5000-0x7FFF apart for multiplexing with DTLS-SRTP), but RFC 5766 clients, coturn's
# turnutils_uclient among them, still use the whole range: a server refusing it breaks
# them, and a client that wants RFC 8656's range picks its numbers there.
CHANNEL_MIN = 0x4000
CHANNEL_MAX = 0x7FFF

_HH = struct.Struct(">HH")


def is_channel_data(data: bytes) -> bool:
    """A cheap demultiplexing test: the first byte of a ChannelData message is 0x40-0x7F
    (a STUN message's is below 0x40)."""
    return len(data) >= 4 and 0x40 <= data[0] <= 0x7F


def encode_channel_data(channel: int, payload: bytes, *, pad: bool = False) -> bytes:
    """A ChannelData message; ``pad`` (for TCP and TLS) pads it to a multiple of 4."""
    if not CHANNEL_MIN <= channel <= CHANNEL_MAX:
        raise ValueError(f"a channel number is 0x4000-0x7FFF, not {channel:#x}")
    if len(payload) > 0xFFFF:
        raise ValueError(f"a ChannelData payload is at most 65535 bytes, not {len(payload)}")
    out = _HH.pack(channel, len(payload)) + payload
    return out + b"\0" * (-len(payload) % 4) if pad else out


def decode_channel_data(data: bytes) -> tuple[int, bytes]:
    """``(channel, payload)`` of a ChannelData message; padding after the payload is
    ignored. Raises sourcey.stun.DecodeError (code "CHANNEL")."""
    return parse_channel_data(data)


__all__ = ["CHANNEL_MAX", "CHANNEL_MIN", "decode_channel_data", "encode_channel_data",
           "is_channel_data"]

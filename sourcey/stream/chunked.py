"""HTTP/1.1 chunked framing (RFC 9112 §7.1) as a PacketProcessor: each packet becomes one
chunk, and a ``FINAL`` packet also carries the last chunk, which ends the body.

For a sink that writes raw bytes to a socket. A ``sourcey.http`` response chunk-encodes
``response.write()`` by itself: feed it the packets as they are (see ResponseSink).
"""

from __future__ import annotations

from typing import Any

from ._stream import FINAL, Packet, PacketProcessor

LAST_CHUNK = b"0\r\n\r\n"


def chunk(data: Any, final: bool = False) -> bytes:
    """``data`` (bytes-like) as one chunk; with ``final``, followed by the last chunk.
    Empty data makes no chunk (a zero-size chunk would end the body)."""
    body = bytes(data)
    out = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
    return out + LAST_CHUNK if final else out


class ChunkedPacketizer(PacketProcessor):
    """Emits each packet's data as an HTTP chunk (a new packet with the same flags and
    metadata). An empty packet is passed on empty, unless it is ``FINAL``: then it
    carries the last chunk alone."""

    def frame(self, packet: Packet | Any) -> bytes:
        """The bytes for ``packet`` (a Packet, or bytes-like data: not final)."""
        if isinstance(packet, Packet):
            return chunk(packet.data, bool(packet.flags & FINAL))
        return chunk(packet)

    def process(self, packet: Packet) -> None:
        self.emit(packet.copy(self.frame(packet)))

"""``multipart/x-mixed-replace`` framing (MJPEG-style server push) as a PacketProcessor:
each packet becomes one body part, which a browser shows in place of the previous one.

A part is ``--boundary``, its ``Content-Type`` and ``Content-Length`` fields, a blank
line, the data and a CRLF (the CRLF that opens the next delimiter, RFC 2046 §5.1.1); a
``FINAL`` packet's part is followed by the close delimiter ``--boundary--``. The
response carries ``packetizer.content_type`` as its Content-Type.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from ._stream import FINAL, Packet, PacketProcessor

# RFC 2046 §5.1.1: 1 to 70 of these characters, not ending with a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]\Z")
_TOKEN = re.compile(r"[0-9A-Za-z'+_\-.]+\Z")       # needs no quotes as a parameter
# A field value we write into a part's head: no control bytes (no head splitting).
_FIELD = re.compile(r"[\t\x20-\x7e\x80-\xff]+\Z")


class MultipartPacketizer(PacketProcessor):
    """``MultipartPacketizer(content_type="application/octet-stream", boundary=None)``:
    emits each packet as a body part (a new packet, same flags and metadata).
    ``content_type`` is the parts' type; a packet whose ``info`` is a mapping with a
    ``"content_type"`` key overrides it for its part. ``boundary`` defaults to a random
    token; one given must be valid (RFC 2046) and must not occur in the data."""

    def __init__(self, content_type: str = "application/octet-stream",
                 boundary: str | None = None) -> None:
        if boundary is None:
            boundary = "sourcey-" + secrets.token_hex(12)
        if not _BOUNDARY.match(boundary):
            raise ValueError(f"invalid multipart boundary {boundary!r}")
        self.boundary = boundary
        self.part_type = _check_type(content_type)
        self._open = b"--" + boundary.encode("ascii") + b"\r\nContent-Type: "
        self._close = b"--" + boundary.encode("ascii") + b"--\r\n"

    @property
    def content_type(self) -> str:
        """The response's Content-Type: ``multipart/x-mixed-replace; boundary=...``."""
        boundary = self.boundary
        if not _TOKEN.match(boundary):
            boundary = f'"{boundary}"'
        return f"multipart/x-mixed-replace; boundary={boundary}"

    def frame(self, packet: Packet | Any) -> bytes:
        """The bytes for ``packet`` (a Packet, or bytes-like data: not final)."""
        part_type = self.part_type
        final = False
        if isinstance(packet, Packet):
            final = bool(packet.flags & FINAL)
            info = packet.info
            if isinstance(info, Mapping) and "content_type" in info:
                part_type = _check_type(info["content_type"])
            data = packet.data
        else:
            data = packet
        body = bytes(data)
        out = b"%s%s\r\nContent-Length: %d\r\n\r\n%s\r\n" % (
            self._open, part_type.encode("latin-1"), len(body), body)
        return out + self._close if final else out

    def process(self, packet: Packet) -> None:
        self.emit(packet.copy(self.frame(packet)))


def _check_type(value: Any) -> str:
    if not isinstance(value, str) or not _FIELD.match(value):
        raise ValueError(f"invalid part Content-Type {value!r}")
    return value

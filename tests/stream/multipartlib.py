"""A strict multipart/x-mixed-replace reader for the tests (RFC 2046 §5.1.1, parts
delimited by their Content-Length), fed the body piece by piece."""

from __future__ import annotations

import re


def boundary_of(content_type):
    """The boundary parameter of a ``multipart/x-mixed-replace`` Content-Type."""
    m = re.fullmatch(r'multipart/x-mixed-replace;\s*boundary=(?:"([^"]+)"|([^";\s]+))',
                     content_type)
    assert m, f"not a multipart/x-mixed-replace type: {content_type!r}"
    return (m.group(1) or m.group(2)).encode("latin-1")


class MultipartReader:
    """``feed(data)`` returns the parts completed by ``data`` as ``(fields, body)``
    (fields: a dict of lower-case names); ``closed`` once the close delimiter came.
    Anything else than the framing expected fails an assertion."""

    def __init__(self, boundary):
        self.delimiter = b"--" + boundary
        self.buf = b""
        self.closed = False

    def feed(self, data):
        self.buf += data
        parts = []
        while not self.closed:
            part = self._next()
            if part is None:
                break
            parts.append(part)
        return parts

    def _next(self):
        buf, d = self.buf, self.delimiter
        if len(buf) < len(d) + 2:
            assert d.startswith(buf[:len(d)]), f"expected a delimiter: {buf[:80]!r}"
            return None
        assert buf.startswith(d), f"expected a delimiter: {buf[:80]!r}"
        after = buf[len(d):len(d) + 2]
        if after == b"--":
            if len(buf) < len(d) + 4:
                return None
            assert buf[len(d) + 2:len(d) + 4] == b"\r\n"
            assert len(buf) == len(d) + 4, f"data after the close delimiter: {buf!r}"
            self.buf = b""
            self.closed = True
            return None
        assert after == b"\r\n", f"bad delimiter line: {buf[:80]!r}"
        end = buf.find(b"\r\n\r\n", len(d))
        if end < 0:
            return None
        fields = {}
        for line in buf[len(d) + 2:end].split(b"\r\n"):
            name, sep, value = line.partition(b":")
            assert sep and name.strip() == name, f"bad part field {line!r}"
            fields[name.decode().lower()] = value.strip().decode("latin-1")
        length = int(fields["content-length"])
        start = end + 4
        if len(buf) < start + length + 2:
            return None
        assert buf[start + length:start + length + 2] == b"\r\n", "part longer than its length"
        self.buf = buf[start + length + 2:]
        return fields, buf[start:start + length]

# sourcey.http.websocket._frame: WebSocket messages from bytes and frames from messages,
# sans-IO, over csrc/ws_frame.c, csrc/utf8_check.c and csrc/ws_deflate.c.
#
# One Codec per connection and side. feed() unmasks, reassembles fragments, inflates
# (permessage-deflate) and validates UTF-8 as bytes arrive, and returns whole messages;
# the frame-building methods return bytes ready for the wire.

import os

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdlib cimport free, realloc
from libc.string cimport memcpy

# Event kinds: feed() returns (kind, value) tuples.
TEXT = WS_OP_TEXT           # value: str
BINARY = WS_OP_BINARY       # value: bytes
CLOSE = WS_OP_CLOSE         # value: (code, reason); code 1005 when the frame had none
PING = WS_OP_PING           # value: bytes
PONG = WS_OP_PONG           # value: bytes
ERROR = -1                  # value: (close_code, reason): the peer broke the protocol

DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024
cdef size_t _KEEP = 1024 * 1024     # a buffer above this is freed after its message
cdef size_t _KEY_POOL = 4096


cdef class _Buffer:
    """A growable byte buffer: a message being reassembled."""

    def __dealloc__(self):
        free(self.data)

    cdef int reserve(self, size_t extra) except -1:
        cdef size_t need = self.size + extra
        cdef size_t cap
        cdef uint8_t* p
        if need <= self.cap:
            return 0
        if need < self.size:
            raise MemoryError()
        cap = self.cap * 2 if self.cap else 4096
        while cap < need:
            cap *= 2
        p = <uint8_t*>realloc(self.data, cap)
        if p == NULL:
            raise MemoryError()
        self.data = p
        self.cap = cap
        return 0

    cdef int clear(self) except -1:
        self.size = 0
        if self.cap > _KEEP:
            # One big message should not pin its memory for the connection's life.
            free(self.data)
            self.data = NULL
            self.cap = 0
        return 0


cdef class Codec:
    """RFC 6455 framing for one side of one connection.

    ``client``: True for a client (its frames are masked, the server's must not be),
    False for a server (the client's frames must be masked). ``max_message`` bounds a
    message after reassembly and decompression, ``max_frame`` one frame's payload (by
    default max_message); above them the connection is failed with close code 1009.

    permessage-deflate, once negotiated: ``compression=True`` with the agreed
    parameters: ``compress_window_bits`` (the window our compressor may use),
    ``compress_no_context_takeover`` (we reset our compressor after each message) and
    ``decompress_no_context_takeover`` (the peer resets its own), and ``compress_level``.

    ``feed(data)`` returns a list of ``(kind, value)`` events: ``(TEXT, str)``,
    ``(BINARY, bytes)``, ``(PING, bytes)``, ``(PONG, bytes)``, ``(CLOSE, (code,
    reason))``, and last, if the peer broke the protocol, ``(ERROR, (close_code,
    reason))`` with close code 1002, 1007 or 1009; every later feed returns that ERROR
    again.
    """

    def __cinit__(self, *, bint client=False, max_message=DEFAULT_MAX_MESSAGE,
                  max_frame=None, bint compression=False, int compress_window_bits=15,
                  bint compress_no_context_takeover=False,
                  bint decompress_no_context_takeover=False, int compress_level=6):
        if max_message is None or max_message <= 0:
            raise ValueError(f"max_message must be positive, not {max_message!r}")
        if max_frame is None:
            max_frame = max_message
        elif max_frame <= 0:
            raise ValueError(f"max_frame must be positive, not {max_frame!r}")
        if not 8 <= compress_window_bits <= 15:
            raise ValueError(f"compress_window_bits must be 8..15, "
                             f"not {compress_window_bits}")
        if not -1 <= compress_level <= 9:
            raise ValueError(f"compress_level must be -1..9, not {compress_level}")
        self.client = client
        self.compression = compression
        self.max_message = max_message
        ws_parser_init(&self._p, not client, WS_RSV1 if compression else 0, max_frame,
                       max_message)
        self._msg = _Buffer()
        self._scratch = _Buffer()
        self._zout = _Buffer()
        if compression:
            if ws_deflate_init(&self._deflate, compress_window_bits, compress_level, 8) != 0:
                raise MemoryError("zlib: cannot start a compressor")
            if ws_inflate_init(&self._inflate) != 0:
                raise MemoryError("zlib: cannot start a decompressor")
            self._deflate_reset = compress_no_context_takeover
            self._inflate_reset = decompress_no_context_takeover
        self._key_at = _KEY_POOL

    def __dealloc__(self):
        ws_z_end(&self._deflate)
        ws_z_end(&self._inflate)

    # -- reading -----------------------------------------------------------------------

    def feed(self, data):
        """Parse ``data`` (any bytes-like object); returns the events it completed."""
        cdef Py_buffer view
        cdef list out = []
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            self.feed_ptr(<const uint8_t*>view.buf, <size_t>view.len, out)
        finally:
            PyBuffer_Release(&view)
        return out

    cdef int feed_ptr(self, const uint8_t* data, size_t length, list out) except -1:
        """Parse ``length`` bytes at ``data``, appending events to ``out``."""
        cdef size_t off = 0
        cdef ws_event ev
        if self.error is not None:
            out.append((ERROR, self.error))
            return 0
        while True:
            off += ws_parser_execute(&self._p, data + off, length - off, &ev)
            if ev.type == WS_EV_NONE:
                return 0
            if ev.type == WS_EV_DATA:
                self._payload(&ev)
            elif ev.type == WS_EV_HEADER:
                if ev.opcode >= WS_OP_CLOSE:
                    self._ctl_len = 0
                elif ev.opcode != WS_OP_CONT:
                    self._msg.clear()
                    self._check_utf8 = ev.opcode == WS_OP_TEXT
                    self._compressed = ev.compressed
                    sy_utf8_init(&self._utf8)
            elif ev.type == WS_EV_END:
                self._end(&ev, out)
            else:
                self._fail(self._p.close_code, self._p.error.decode("ascii"))
            if self.error is not None:
                out.append((ERROR, self.error))
                return 0

    cdef int _payload(self, ws_event* ev) except -1:
        cdef uint8_t* dst
        cdef _Buffer buf
        if ev.opcode >= WS_OP_CLOSE:
            dst = self._ctl + self._ctl_len      # the parser bounds a control frame to 125
            self._ctl_len += ev.len
        else:
            buf = self._scratch if self._compressed else self._msg
            if self._compressed:
                buf.size = 0
            buf.reserve(ev.len)
            dst = buf.data + buf.size
            buf.size += ev.len
        if self._p.masked:
            ws_mask(dst, ev.data, ev.len, self._p.key, ev.offset)
        else:
            memcpy(dst, ev.data, ev.len)
        if ev.opcode >= WS_OP_CLOSE:
            return 0
        if self._compressed:
            return self._inflate_into(dst, ev.len)
        if self._check_utf8 and sy_utf8_feed(&self._utf8, dst, ev.len) != 0:
            self._fail(1007, "invalid UTF-8 in a text message")
        return 0

    cdef int _inflate_into(self, const uint8_t* data, size_t n) except -1:
        cdef _Buffer msg = self._msg
        cdef size_t produced, room, avail
        cdef int rc
        ws_z_input(&self._inflate, data, n)
        while True:
            # Never more room than the limit allows, plus one byte to see it crossed.
            room = self.max_message - msg.size + 1
            msg.reserve(min(room, max(<size_t>65536, 4 * n)))
            avail = min(room, msg.cap - msg.size)
            rc = ws_inflate_run(&self._inflate, msg.data + msg.size, avail, &produced)
            if rc == WS_Z_ERROR:
                self._fail(1007, "invalid permessage-deflate data")
                return 0
            if self._check_utf8 and sy_utf8_feed(&self._utf8, msg.data + msg.size,
                                                 produced) != 0:
                self._fail(1007, "invalid UTF-8 in a text message")
                return 0
            msg.size += produced
            if msg.size > self.max_message:
                self._fail(1009, "message above the size limit once decompressed")
                return 0
            if rc == WS_Z_DONE:
                return 0

    cdef int _end(self, ws_event* ev, list out) except -1:
        cdef unsigned code
        cdef _Buffer msg = self._msg
        if ev.opcode == WS_OP_PING or ev.opcode == WS_OP_PONG:
            out.append((ev.opcode, PyBytes_FromStringAndSize(<char*>self._ctl,
                                                             self._ctl_len)))
            return 0
        if ev.opcode == WS_OP_CLOSE:
            code = ws_close_payload_check(self._ctl, self._ctl_len)
            if code:
                return self._fail(code, "invalid close code" if code == 1002 else
                                  "invalid UTF-8 in a close reason")
            if self._ctl_len == 0:
                out.append((CLOSE, (1005, "")))
            else:
                out.append((CLOSE, ((self._ctl[0] << 8) | self._ctl[1],
                                    PyUnicode_DecodeUTF8(<char*>self._ctl + 2,
                                                         self._ctl_len - 2, NULL))))
            return 0
        if not ev.message_end:
            return 0
        if self._compressed:
            self._inflate_into(ws_deflate_tail, 4)
            if self.error is not None:
                return 0
            if self._inflate_reset or self._inflate.ended:
                ws_z_reset(&self._inflate)
        if self._check_utf8:
            if not sy_utf8_complete(&self._utf8):
                return self._fail(1007, "text message ends inside a UTF-8 sequence")
            out.append((TEXT, PyUnicode_DecodeUTF8(<char*>msg.data, msg.size, NULL)))
        else:
            out.append((BINARY, PyBytes_FromStringAndSize(<char*>msg.data, msg.size)))
        msg.clear()
        self._scratch.clear()
        return 0

    cdef int _fail(self, unsigned code, str reason) except -1:
        if self.error is None:
            self.error = (code, reason)
        return 0

    # -- writing -----------------------------------------------------------------------

    cdef const uint8_t* _next_key(self):
        # Masking keys must be unpredictable (RFC 6455 §10.3): from the OS's CSPRNG,
        # fetched in blocks rather than one system call per frame.
        if self._key_at + 4 > _KEY_POOL:
            self._keys = os.urandom(_KEY_POOL)
            self._key_at = 0
        self._key_at += 4
        return <const uint8_t*>PyBytes_AS_STRING(self._keys) + self._key_at - 4

    cdef bytes _frame(self, int opcode, const uint8_t* payload, size_t n, int rsv):
        cdef uint8_t head[WS_MAX_HEADER]
        cdef const uint8_t* key = self._next_key() if self.client else NULL
        cdef size_t h = ws_header_build(head, 1, rsv, opcode, n, key)
        cdef bytes frame = PyBytes_FromStringAndSize(NULL, h + n)
        cdef uint8_t* out = <uint8_t*>PyBytes_AS_STRING(frame)
        memcpy(out, head, h)
        if key != NULL:
            ws_mask(out + h, payload, n, key, 0)
        else:
            memcpy(out + h, payload, n)
        return frame

    cdef bytes _message(self, int opcode, const uint8_t* payload, size_t n):
        cdef _Buffer z = self._zout
        cdef size_t produced
        cdef int rc
        if not self.compression:
            return self._frame(opcode, payload, n, 0)
        z.size = 0
        ws_z_input(&self._deflate, payload, n)
        while True:
            z.reserve(max(<size_t>1024, n // 2 + 64))
            rc = ws_deflate_run(&self._deflate, z.data + z.size, z.cap - z.size, &produced)
            z.size += produced
            if rc == WS_Z_DONE:
                break
            if rc == WS_Z_ERROR:
                raise MemoryError("zlib: compression failed")
        # The sync flush's 00 00 ff ff is implied on the wire (RFC 7692 §7.2.1).
        if z.size >= 4 and z.data[z.size - 4] == 0 and z.data[z.size - 3] == 0 and \
                z.data[z.size - 2] == 0xff and z.data[z.size - 1] == 0xff:
            z.size -= 4
        if z.size == 0:
            # An empty message right after a flush: zlib has nothing to emit, but the
            # payload must still inflate once the receiver appends the tail: one empty
            # stored block header (RFC 7692 §7.2.3.6).
            z.reserve(1)
            z.data[0] = 0
            z.size = 1
        if self._deflate_reset:
            ws_z_reset(&self._deflate)
        frame = self._frame(opcode, z.data, z.size, WS_RSV1)
        z.clear()
        return frame

    def send(self, data):
        """A message frame: text for ``str``, binary for any bytes-like object."""
        cdef Py_buffer view
        if isinstance(data, str):
            data = (<str>data).encode("utf-8")
            opcode = WS_OP_TEXT
        else:
            opcode = WS_OP_BINARY
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            return self._message(opcode, <const uint8_t*>view.buf, <size_t>view.len)
        finally:
            PyBuffer_Release(&view)

    def ping(self, payload=b""):
        """A ping frame (payload: at most 125 bytes)."""
        return self._control(WS_OP_PING, payload)

    def pong(self, payload=b""):
        """A pong frame (payload: at most 125 bytes)."""
        return self._control(WS_OP_PONG, payload)

    def close(self, code=1000, reason=""):
        """A close frame. ``code`` None sends none (the peer sees 1005); the reason is
        at most 123 bytes of UTF-8."""
        if code is None:
            if reason:
                raise ValueError("a close reason needs a close code")
            return self._control(WS_OP_CLOSE, b"")
        if not ws_close_code_valid(code):
            raise ValueError(f"{code} is not a close code an endpoint may send")
        raw = reason.encode("utf-8")
        if len(raw) > 123:
            raise ValueError(f"close reason is {len(raw)} bytes of UTF-8; at most 123")
        return self._control(WS_OP_CLOSE, bytes(((code >> 8) & 0xff, code & 0xff)) + raw)

    def _control(self, int opcode, payload):
        cdef Py_buffer view
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE)
        try:
            if view.len > WS_MAX_CONTROL:
                raise ValueError(f"control frame payload is {view.len} bytes; at most 125")
            return self._frame(opcode, <const uint8_t*>view.buf, <size_t>view.len, 0)
        finally:
            PyBuffer_Release(&view)


def mask(data, key, offset=0):
    """``data`` XORed with the 4-byte ``key``, starting at ``offset`` in the payload."""
    cdef Py_buffer view
    cdef bytes k = bytes(key)
    cdef bytes out
    if len(k) != 4:
        raise ValueError("a masking key is 4 bytes")
    if offset < 0:
        raise ValueError("offset must not be negative")
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        out = PyBytes_FromStringAndSize(NULL, view.len)
        ws_mask(<uint8_t*>PyBytes_AS_STRING(out), <const uint8_t*>view.buf,
                <size_t>view.len, <const uint8_t*>PyBytes_AS_STRING(k), offset)
    finally:
        PyBuffer_Release(&view)
    return out


def is_utf8(*pieces):
    """True if the concatenated pieces are valid UTF-8 (checked piece by piece, as a
    text message split across frames is)."""
    cdef sy_utf8 s
    cdef Py_buffer view
    cdef int rc
    sy_utf8_init(&s)
    for piece in pieces:
        PyObject_GetBuffer(piece, &view, PyBUF_SIMPLE)
        rc = sy_utf8_feed(&s, <const uint8_t*>view.buf, <size_t>view.len)
        PyBuffer_Release(&view)
        if rc != 0:
            return False
    return bool(sy_utf8_complete(&s))


def close_code_valid(int code):
    """True if a close frame may carry ``code`` (RFC 6455 §7.4)."""
    return code >= 0 and bool(ws_close_code_valid(<unsigned>code))

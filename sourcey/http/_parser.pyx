# sourcey.http._parser: HTTP/1.1 messages from bytes, sans-IO, over csrc/http1_parser.c.
#
# Types of the fields of a Message: method, target and version are str (the grammar
# allows ASCII only, and the parser enforces it); the reason phrase and the header names
# and values are bytes exactly as sent (they may carry obs-text, whose meaning is the
# application's), with the OWS around each value removed (RFC 9110 §5.5).

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.buffer cimport PyBUF_SIMPLE, PyObject_GetBuffer, PyBuffer_Release
from cpython.unicode cimport PyUnicode_DecodeLatin1
from libc.stdlib cimport free, malloc

_REQUEST_STATUS = {
    "START_LINE_TOO_LONG": 414,
    "HEADER_LINE_TOO_LONG": 431,
    "TOO_MANY_HEADERS": 431,
    "HEAD_TOO_LARGE": 431,
    "VERSION_UNSUPPORTED": 505,
}


class ParseError(ValueError):
    """The input is not a valid HTTP/1.1 message stream.

    ``offset`` is the stream offset of the rejected byte, ``code`` names the rule or
    limit (``"HEADER_VALUE"``, ``"TOO_MANY_HEADERS"``, ...), ``reason`` says it in words,
    ``status`` is the response a server sends for it (400, 414, 431 or 505; always 400 for
    a response being parsed), and ``messages`` holds the messages completed before it.
    """

    def __init__(self, code, reason, offset, status=400, messages=None):
        super().__init__(f"{reason} at offset {offset} ({code})")
        self.code = code
        self.reason = reason
        self.offset = offset
        self.status = status
        self.messages = [] if messages is None else messages


cdef class Message:
    """One parsed HTTP message: a request (method, target) or a response (status, reason).

    ``headers`` and ``trailers`` are lists of ``(name, value)`` bytes pairs in the order
    sent, names in their original case. ``keep_alive`` says whether the connection may
    carry another message after this one; ``upgrade`` that the bytes after this message
    belong to another protocol (CONNECT, Upgrade, 101 Switching Protocols).
    """

    def __repr__(self):
        if self.status is None:
            start = f"{self.method} {self.target}"
        else:
            start = f"{self.status} {self.reason!r}"
        return (f"<Message HTTP/{self.version} {start} headers={len(self.headers)} "
                f"body={len(self.body)}B keep_alive={self.keep_alive} "
                f"upgrade={self.upgrade}>")


cdef class Parser:
    """An incremental parser for a stream of requests (kind ``"request"``) or of
    responses (``"response"``). feed() returns the messages it completed; a malformed
    stream raises ParseError, and every later call raises it again.

    ``skip_body``: the responses answer HEAD requests (no content). ``connect``: the
    responses answer a CONNECT request (a 2xx opens a tunnel). Both may be changed
    between messages. The limits bound the start line, one field line, the number of
    fields and the whole head, in bytes with CRLF included.
    """

    def __cinit__(self, str kind, *, bint skip_body=False, bint connect=False,
                  unsigned int max_start_line=8190, unsigned int max_header_line=8190,
                  unsigned int max_headers=100, unsigned int max_head=32768):
        cdef h1_kind k
        if kind == "request":
            k = H1_REQUEST
        elif kind == "response":
            k = H1_RESPONSE
        else:
            raise ValueError(f"kind must be 'request' or 'response', not {kind!r}")
        if not (max_start_line and max_header_line and max_head):
            raise ValueError("limits must be positive")
        self.kind = kind
        self._head = <char*>malloc(max_head)
        # room for max_headers head fields and as many trailer fields after them
        self._headers = <h1_header*>malloc((2 * max_headers or 1) * sizeof(h1_header))
        if self._head == NULL or self._headers == NULL:
            raise MemoryError()
        h1_parser_init(&self._p, k, self._head, max_head, self._headers, 2 * max_headers)
        h1_parser_set_limits(&self._p, max_start_line, max_header_line, max_headers,
                             max_head)
        self.skip_body = skip_body
        self.connect = connect
        self._body = []
        self._remainder = None

    def __dealloc__(self):
        free(self._head)
        free(self._headers)

    @property
    def skip_body(self):
        return bool(self._p.flags & H1_F_SKIP_BODY)

    @skip_body.setter
    def skip_body(self, bint value):
        self._p.flags = (self._p.flags | H1_F_SKIP_BODY) if value else (
            self._p.flags & ~H1_F_SKIP_BODY)

    @property
    def connect(self):
        return bool(self._p.flags & H1_F_CONNECT)

    @connect.setter
    def connect(self, bint value):
        self._p.flags = (self._p.flags | H1_F_CONNECT) if value else (
            self._p.flags & ~H1_F_CONNECT)

    @property
    def upgraded(self):
        """True once an upgrade/CONNECT message completed: see ``remainder``."""
        return self._remainder is not None

    @property
    def remainder(self):
        """The bytes fed after an upgrade/CONNECT message (another protocol's), or b""."""
        return b"".join(self._remainder) if self._remainder is not None else b""

    @property
    def idle(self):
        """True between messages: nothing of a next message has been received."""
        return bool(h1_parser_idle(&self._p))

    @property
    def pending(self):
        """The message whose head is parsed but whose body is not complete (with the body
        received so far), or None."""
        if self._cur is None:
            return None
        self._cur.body = b"".join(self._body)
        return self._cur

    def feed(self, data):
        """Parse ``data`` (any bytes-like object); returns the messages it completed."""
        cdef Py_buffer view
        cdef list out = []
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            self.feed_ptr(<const char*>view.buf, <size_t>view.len, out)
        finally:
            PyBuffer_Release(&view)
        return out

    def feed_eof(self):
        """The input ended: completes a response delimited by the end of the connection;
        raises ParseError (code ``"INCOMPLETE"``) when it ends inside a message."""
        cdef list out = []
        cdef h1_event ev
        if self._error is not None:
            raise self._error
        ev = h1_parser_finish(&self._p)
        if ev == H1_EV_MESSAGE:
            out.append(self._complete())
        elif ev == H1_EV_ERROR:
            raise self._fail(out)
        return out

    cdef int feed_ptr(self, const char* data, size_t length, list out) except -1:
        """Parse ``length`` bytes at ``data``, appending completed messages to ``out``."""
        cdef size_t off = 0
        cdef size_t n = 0
        cdef h1_event ev
        if self._error is not None:
            raise self._error
        if self._remainder is not None:
            if length:
                self._remainder.append(PyBytes_FromStringAndSize(data, length))
            return 0
        while True:
            ev = h1_parser_execute(&self._p, data + off, length - off, &n)
            off += n
            if ev == H1_EV_NONE:
                return 0
            elif ev == H1_EV_BODY:
                self._body.append(PyBytes_FromStringAndSize(self._p.data, self._p.data_len))
            elif ev == H1_EV_HEAD:
                self._cur = self._make_head()
                self._body = []
            elif ev == H1_EV_MESSAGE:
                out.append(self._complete())
            elif ev == H1_EV_UPGRADE:
                self._remainder = []
                if off < length:
                    self._remainder.append(PyBytes_FromStringAndSize(data + off,
                                                                     length - off))
                return 0
            else:
                raise self._fail(out)

    cdef Message _make_head(self):
        cdef Message m = Message.__new__(Message)
        cdef h1_parser* p = &self._p
        if p.kind == H1_REQUEST:
            m.method = PyUnicode_DecodeLatin1(p.head + p.method.off, p.method.len, NULL)
            m.target = PyUnicode_DecodeLatin1(p.head + p.target.off, p.target.len, NULL)
            m.status = None
            m.reason = None
        else:
            m.status = p.status
            m.reason = PyBytes_FromStringAndSize(p.head + p.reason.off, p.reason.len)
        m.version = "1.1" if p.version_minor == 1 else "1.0"
        m.headers = self._fields(0, p.nheaders)
        m.trailers = []
        m.body = b""
        m.keep_alive = p.keep_alive
        m.upgrade = p.upgrade
        return m

    cdef list _fields(self, uint32_t start, uint32_t count):
        cdef list out = []
        cdef uint32_t i
        cdef h1_header* h
        cdef char* base = self._p.head
        for i in range(start, start + count):
            h = &self._p.headers[i]
            out.append((PyBytes_FromStringAndSize(base + h.name.off, h.name.len),
                        PyBytes_FromStringAndSize(base + h.value.off, h.value.len)))
        return out

    cdef Message _complete(self):
        cdef Message m = self._cur
        self._cur = None
        if self._p.ntrailers:
            m.trailers = self._fields(self._p.nheaders, self._p.ntrailers)
        if self._body:
            m.body = b"".join(self._body)
            self._body = []
        return m

    cdef object _fail(self, list out):
        cdef int code = self._p.error
        name = h1_error_name(code).decode("ascii")
        status = 400
        if self._p.kind == H1_REQUEST:
            status = _REQUEST_STATUS.get(name, 400)
        self._error = ParseError(name, h1_error_reason(code).decode("ascii"),
                                 self._p.error_offset, status, out)
        return self._error


def parse(str kind, chunks, bint eof=True, **options):
    """Parse a whole stream given as a list of bytes pieces; returns its messages.

    ``eof``: the stream ends after the last piece (a response without a length ends
    there; a message cut short raises ParseError with code ``"INCOMPLETE"``). With
    ``eof=False`` an unfinished last message is left out. Parsing stops after a message
    with ``upgrade`` set. ``options`` are Parser's keyword arguments. The answer does not
    depend on how the stream is split into pieces.
    """
    cdef Parser parser = Parser(kind, **options)
    cdef list out = []
    try:
        for chunk in chunks:
            out += parser.feed(chunk)
        if eof:
            out += parser.feed_eof()
    except ParseError as exc:
        exc.messages = out + exc.messages
        raise
    return out

# Response: the handler's answer. Its head is built in C straight into the connection's
# output buffer: a status-line table, the fields, Content-Length or chunked framing, a
# Date line cached per second. Included by _server.pyx.

from http import HTTPStatus

_REASONS = {s.value: s.phrase for s in HTTPStatus}

# b"HTTP/1.1 200 OK\r\n" for every status Python knows, indexed by status.
cdef list _STATUS_LINES = [None] * 1000
for _status, _phrase in _REASONS.items():
    _STATUS_LINES[_status] = f"HTTP/1.1 {_status} {_phrase}\r\n".encode("latin-1")

# Bodies up to this size are copied into the output buffer (one write for head and body,
# and for every response of a read); larger ones are written as they are, not copied.
cdef size_t _COPY_MAX = 16 * 1024

cdef char _HEX[16]
_HEX[:] = b"0123456789abcdef"

# The Date field, formatted at most once a second (RFC 9110 §5.6.7 IMF-fixdate).
cdef char _date_line[48]
cdef size_t _date_len = 0
cdef time_t _date_second = -1
cdef const char* _DAYS = b"SunMonTueWedThuFriSat"
cdef const char* _MONTHS = b"JanFebMarAprMayJunJulAugSepOctNovDec"


cdef inline void _put2(char* p, int v) noexcept:
    p[0] = <char>(48 + v // 10)
    p[1] = <char>(48 + v % 10)


cdef void _refresh_date() noexcept:
    global _date_second, _date_len
    cdef time_t now = c_time(NULL)
    cdef tm t
    cdef char* p = _date_line
    if now == _date_second:
        return
    _date_second = now
    gmtime_r(&now, &t)
    memcpy(p, b"Date: ", 6)
    memcpy(p + 6, _DAYS + 3 * t.tm_wday, 3)
    memcpy(p + 9, b", ", 2)
    _put2(p + 11, t.tm_mday)
    p[13] = b' '
    memcpy(p + 14, _MONTHS + 3 * t.tm_mon, 3)
    p[17] = b' '
    _put2(p + 18, (t.tm_year + 1900) // 100)
    _put2(p + 20, (t.tm_year + 1900) % 100)
    p[22] = b' '
    _put2(p + 23, t.tm_hour)
    p[25] = b':'
    _put2(p + 26, t.tm_min)
    p[28] = b':'
    _put2(p + 29, t.tm_sec)
    memcpy(p + 31, b" GMT\r\n", 6)
    _date_len = 37


cdef int _out_reserve(OutBuf* b, size_t extra) except -1:
    cdef size_t cap
    cdef char* data
    if b.len + extra <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 4096
    while cap < b.len + extra:
        cap *= 2
    data = <char*>realloc(b.data, cap)
    if data == NULL:
        raise MemoryError()
    b.data = data
    b.cap = cap
    return 0


cdef inline int _out_put(OutBuf* b, const char* data, size_t length) except -1:
    if b.len + length > b.cap:
        _out_reserve(b, length)
    memcpy(b.data + b.len, data, length)
    b.len += length
    return 0


cdef int _out_decimal(OutBuf* b, unsigned long long value) except -1:
    cdef char digits[24]
    cdef int i = 24
    while True:
        i -= 1
        digits[i] = <char>(48 + value % 10)
        value //= 10
        if value == 0:
            break
    return _out_put(b, digits + i, 24 - i)


cdef int _out_field(OutBuf* b, str name, str value) except -1:
    """``name: value\\r\\n``; a name must be a token and a value free of control bytes
    (HTAB aside), or the head could be split (response splitting)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(name), m = PyUnicode_GET_LENGTH(value)
    if (PyUnicode_KIND(name) != PyUnicode_1BYTE_KIND
            or not h1_is_token(<const char*>PyUnicode_1BYTE_DATA(name), <size_t>n)):
        raise ValueError(f"invalid header name {name!r}")
    if PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND:
        raise ValueError(f"header value is not Latin-1: {value!r}")
    if not h1_is_field_value(<const char*>PyUnicode_1BYTE_DATA(value), <size_t>m):
        raise ValueError(f"control byte in the value of header {name}: {value!r}")
    _out_reserve(b, <size_t>(n + m + 4))
    memcpy(b.data + b.len, PyUnicode_1BYTE_DATA(name), n)
    b.len += n
    memcpy(b.data + b.len, b": ", 2)
    b.len += 2
    memcpy(b.data + b.len, PyUnicode_1BYTE_DATA(value), m)
    b.len += m
    memcpy(b.data + b.len, b"\r\n", 2)
    b.len += 2
    return 0


cdef inline bint _has_token(str value, str token):
    """The comma-separated ``value`` lists ``token`` (ASCII case-insensitive)."""
    for part in value.split(","):
        if _same_name(part.strip(), token):
            return True
    return False


@cython.freelist(64)
cdef class Response:
    """The answer to one request.

    Set ``status`` (200), ``reason`` (None: the standard phrase) and ``headers`` before
    the first ``write``/``end``. ``write(data)`` sends the head, then the data, chunked
    unless a Content-Length was set (an HTTP/1.0 client gets the body delimited by the
    close instead); ``end(body=b"")`` finishes the response, with a Content-Length when
    nothing was written before. HEAD requests, 204 and 304 get no body. The server adds
    Date, and Connection when the connection closes after this response.
    ``upgrade(headers)`` answers an upgrade request with 101 and hands the connection
    over. ``context`` is a dict for the application's own data (made when first used).
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("Response objects are made by the server")

    @property
    def headers(self):
        if self._headers is None:
            self._headers = Headers.__new__(Headers)
            self._headers._items = []
        return self._headers

    @headers.setter
    def headers(self, value):
        if not isinstance(value, Headers):
            value = Headers(value)
        self._headers = value

    @property
    def request(self):
        return self._request

    @property
    def context(self):
        if self._context is None:
            self._context = {}
        return self._context

    @property
    def headers_sent(self):
        """True once the head is written (or queued behind earlier responses)."""
        return self._started

    @property
    def finished(self):
        return self._done

    @property
    def closed(self):
        """True once the connection is gone (closed by either side, or handed over by
        ``upgrade``): nothing written reaches the client any more."""
        return self._session.gone

    @property
    def write_queue_size(self):
        """Bytes written on this connection and not yet taken by the kernel: the
        server's output buffer and the transport's write queue, plus this response's
        own output while it waits behind earlier responses (pipelining); 0 once
        closed. A client that does not read makes it grow: a streaming producer reads
        it to drop or disconnect that client rather than buffer without bound."""
        cdef _Session session = self._session
        cdef size_t held = 0
        if session.gone:
            return 0
        if self._out is not None:
            for piece in self._out:
                held += <size_t>PyBytes_GET_SIZE(piece)
        return session.out.len + session._queued() + held

    def abort(self):
        """Cut the connection: what was written before still goes out, then the
        connection closes and the client sees the body end short. Does nothing once
        the response has finished or the connection is gone."""
        if self._done or self._session.gone:
            return
        self._abort()

    def write(self, data):
        """Send ``data`` (bytes-like) as part of the body."""
        if self._done:
            raise RuntimeError("the response has ended")
        if type(data) is not bytes:
            data = bytes(data)
        if not self._started:
            self._start(-1)
        self._body(PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data), data)
        if not self._session.corked:
            self._session._flush()

    def end(self, body=b""):
        """Finish the response, with ``body`` (bytes-like) as its last (or only) part."""
        if self._done:
            raise RuntimeError("the response has ended")
        if type(body) is not bytes:
            body = bytes(body)
        self._end(PyBytes_AS_STRING(body), <size_t>PyBytes_GET_SIZE(body), body)

    def send_file(self, path, *, offset=0, length=None, content_type=None):
        """Send the file at ``path`` as the whole body: from ``offset``, ``length``
        bytes or to its end, with a Content-Length, and a Content-Type guessed from the
        name (or ``content_type``) unless one is set. The file is read on libuv's thread
        pool a chunk at a time, as the connection drains; one that cannot be opened
        raises here (OSError). The response ends by itself after the last byte."""
        _send_file(self, path, offset, length, content_type)

    def upgrade(self, headers=()):
        """Switch protocols (RFC 9110 §7.8): send ``101 Switching Protocols`` with
        ``headers`` (a mapping or ``(name, value)`` pairs, Upgrade and Connection
        included), then hand the connection over. Returns ``(socket, remainder)``: a
        connected ``sourcey.net`` socket (TCPSocket, or SSLSocket under TLS) that is
        reading (attach to its signals before returning to the loop), and the bytes the
        client sent after the request's head. The server forgets the connection."""
        cdef Request request = self._request
        cdef _Session session = self._session
        cdef OutBuf* b
        if request is None or not request.upgrade:
            raise RuntimeError("the request does not ask for an upgrade")
        if self._started:
            raise RuntimeError("the response has started")
        if session.gone or not session.pending or session.pending[0] is not self:
            raise RuntimeError("earlier responses on this connection are still pending")
        fields = headers if isinstance(headers, Headers) else Headers(headers)
        b = &session.out
        _out_put(b, b"HTTP/1.1 101 Switching Protocols\r\n", 34)
        for name, value in (<Headers>fields)._items:
            _out_field(b, name, value)
        _out_put(b, b"\r\n", 2)
        self.status = 101
        self._started = True
        self._done = True
        del session.pending[0]
        return session._detach()

    cdef int _end(self, const char* data, size_t length, object keep) except -1:
        cdef _Session session = self._session
        if not self._started:
            self._start(<Py_ssize_t>length)
        self._body(data, length, keep)
        if self._chunked and not self._nobody:
            self._emit(b"0\r\n\r\n", 5, None)
        if self._declared >= 0 and self._sent < self._declared and not self._nobody:
            self._abort()                   # the client would wait for the rest
            raise ValueError(f"the body ended at {self._sent} bytes, short of its "
                             f"Content-Length ({self._declared}): connection closed")
        self._done = True
        session._finished(self)
        if not session.corked:
            session._flush()
        return 0

    cdef int _start(self, Py_ssize_t length) except -1:
        """Build the head: into the connection's buffer when this response is the one
        writing, else into its own queue."""
        cdef _Session session = self._session
        cdef Request request = self._request
        cdef int status = self.status
        cdef bint has_length = False, has_te = False, has_date = False, has_close = False
        cdef bint ten = request is not None and request.version is _V10
        cdef OutBuf tmp
        cdef OutBuf* b
        cdef Py_ssize_t n
        cdef size_t mark
        cdef list items = self._headers._items if self._headers is not None else []
        if not 200 <= status <= 999:
            if 100 <= status < 200:
                raise ValueError(f"status {status}: interim responses are the server's "
                                 "(100 Continue), and 101 is upgrade()")
            raise ValueError(f"invalid status {status}")
        if session.server._closing:
            self._keep = False
        self._declared = -1
        for name, value in items:
            n = PyUnicode_GET_LENGTH(<str>name)
            if n == 14 and _same_name(<str>name, "content-length"):
                has_length = True
                text = (<str>value).strip()
                if not (text.isascii() and text.isdigit()) or self._declared >= 0:
                    raise ValueError(f"invalid or repeated Content-Length: {value!r}")
                self._declared = int(text)
            elif n == 17 and _same_name(<str>name, "transfer-encoding"):
                has_te = True
                self._chunked = _has_token(<str>value, "chunked")
            elif n == 10 and _same_name(<str>name, "connection"):
                if _has_token(<str>value, "close"):
                    has_close = True
                    self._keep = False
            elif n == 4 and _same_name(<str>name, "date"):
                has_date = True
        if has_length and length >= 0 and length != self._declared and not (
                self._nobody or status == 204 or status == 304):
            raise ValueError(f"Content-Length is {self._declared} but the body has "
                             f"{length} bytes")
        if status == 204 or status == 304:
            self._nobody = True
            self._chunked = False
        elif has_length:
            self._chunked = False
        elif has_te:
            if not self._chunked:
                self._keep = False          # the close delimits the body
        elif length < 0 and not ten:
            self._chunked = True            # (HEAD: the fields GET would have, no body)
        elif length < 0:
            self._keep = False              # HTTP/1.0 (or HEAD): the close delimits it
        if session.pending and session.pending[0] is self:
            b = &session.out
        else:
            tmp.data = NULL
            tmp.len = tmp.cap = 0
            b = &tmp
        mark = b.len
        try:
            line = _STATUS_LINES[status] if self.reason is None else None
            if line is not None:
                _out_put(b, PyBytes_AS_STRING(line), <size_t>PyBytes_GET_SIZE(line))
            else:
                reason = str(self.reason) if self.reason is not None else "Unknown"
                if any(c < " " and c != "\t" or c == "\x7f" for c in reason):
                    raise ValueError(f"control byte in the reason: {reason!r}")
                line = f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")
                _out_put(b, PyBytes_AS_STRING(line), <size_t>PyBytes_GET_SIZE(line))
            for name, value in items:
                _out_field(b, <str>name, <str>value)
            if not (has_length or has_te or status == 204 or status == 304):
                if self._chunked:
                    _out_put(b, b"Transfer-Encoding: chunked\r\n", 28)
                elif length >= 0:
                    _out_put(b, b"Content-Length: ", 16)
                    _out_decimal(b, <unsigned long long>length)
                    _out_put(b, b"\r\n", 2)
            if not self._keep:
                if not has_close:
                    _out_put(b, b"Connection: close\r\n", 19)
            elif ten:
                _out_put(b, b"Connection: keep-alive\r\n", 24)
            if not has_date:
                _refresh_date()
                _out_put(b, _date_line, _date_len)
            _out_put(b, b"\r\n", 2)
            self._started = True
            if b == &tmp:
                if self._out is None:
                    self._out = []
                self._out.append(PyBytes_FromStringAndSize(tmp.data, tmp.len))
        except BaseException:
            b.len = mark                    # nothing of a refused head goes out
            raise
        finally:
            if b == &tmp:
                free(tmp.data)
        return 0

    cdef int _body(self, const char* data, size_t length, object keep) except -1:
        cdef char size_line[20]
        cdef int i = 18
        cdef size_t v = length
        if length == 0 or self._nobody:
            return 0
        if self._declared >= 0:
            if self._sent + <long long>length > self._declared:
                raise ValueError(f"the body goes past its Content-Length "
                                 f"({self._declared})")
            self._sent += length
        if not self._chunked:
            return self._emit(data, length, keep)
        size_line[18] = b'\r'
        size_line[19] = b'\n'
        while v:
            i -= 1
            size_line[i] = _HEX[v & 15]
            v >>= 4
        self._emit(size_line + i, <size_t>(20 - i), None)
        self._emit(data, length, keep)
        return self._emit(b"\r\n", 2, None)

    cdef int _emit(self, const char* data, size_t length, object keep) except -1:
        cdef _Session session = self._session
        if session.pending and session.pending[0] is self:
            return session._put(data, length, keep)
        if self._out is None:
            self._out = []
        if keep is not None and <size_t>PyBytes_GET_SIZE(keep) == length:
            self._out.append(keep)
        else:
            self._out.append(PyBytes_FromStringAndSize(data, length))
        return 0

    cdef int _abort(self) except -1:
        self._aborted = True
        self._done = True
        self._session._finished(self)
        return 0

    def __repr__(self):
        state = "ended" if self._done else "sent" if self._started else "new"
        return f"<Response {self.status} {state}>"

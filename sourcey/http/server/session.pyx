# _Session: one HTTP connection's logic, over a plain TCP handle (_Conn: libuv's read
# buffer goes straight into the parser, responses leave from one C buffer with
# uv_try_write) or an SSLSocket (plaintext from its Recv signal). Included by
# _server.pyx.
#
# Requests are handed to the handler as soon as they are whole (or at their head, when
# the server streams bodies); responses go out in request order: the one at the head of
# `pending` writes, those behind it queue their output until it ends. Output produced
# during a read is gathered and written once at the end of the read (pipelining).

cdef double _LINGER_MS = 2000.0     # draining the peer's input after our last response
cdef Py_ssize_t _MAX_PENDING = 32   # requests awaiting their response before reading pauses
# Output queued past this (a client that sends and does not read): stop taking requests
# until it drains; the unparsed input waits as it is.
cdef size_t _HIGH_WATER = 1 << 20

# A connection's phase, which decides its deadline.
cdef enum:
    _P_NONE = 0         # not yet set
    _P_IDLE = 1         # between requests: idle_timeout (header_timeout before the first)
    _P_HEAD = 2         # part of a request head received: header_timeout
    _P_BODY = 3         # a request body is arriving: body_timeout between reads
    _P_BUSY = 4         # responses pending, or no more requests taken: no deadline
    _P_LINGER = 5       # draining the peer's input after the last response

# Request bodies with a Content-Length up to this size are read into one bytes object
# made at the head; longer ones (when max_body allows them) are gathered in pieces.
cdef Py_ssize_t _PREALLOC_MAX = 1 << 20

# Parser errors whose status is not 400 (requests).
_ERROR_STATUS = {
    "START_LINE_TOO_LONG": 414,
    "HEADER_LINE_TOO_LONG": 431,
    "TOO_MANY_HEADERS": 431,
    "HEAD_TOO_LARGE": 431,
    "VERSION_UNSUPPORTED": 505,
}

cdef str _GET = "GET"
cdef str _POST = "POST"
cdef str _HEAD = "HEAD"
cdef str _V11 = "1.1"
cdef str _V10 = "1.0"


cdef inline str _method(const char* p, size_t n):
    if n == 3 and p[0] == b'G' and p[1] == b'E' and p[2] == b'T':
        return _GET
    if n == 4 and memcmp(p, b"POST", 4) == 0:
        return _POST
    if n == 4 and memcmp(p, b"HEAD", 4) == 0:
        return _HEAD
    return PyUnicode_DecodeLatin1(p, <Py_ssize_t>n, NULL)


def _no_read_callback(handle, data, error):     # reads go through _Conn._on_read
    pass


cdef class _Conn(_TCPStream):
    """The TCP handle of a plain connection: reads go to its session, in C. Once the
    connection is upgraded it behaves as the _TCPStream of its new TCPSocket."""

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        cdef _Session session = self.session
        if session is None:
            _TCPStream._on_read(self, data, nread)
            return
        try:
            session._read_done(data, nread)
        except BaseException:
            _log.exception("sourcey.http.Server: connection from %s failed", session.peer)
            try:
                session._close()
            except BaseException as exc:
                self.loop._handle_exception(exc)


def _conn_closed(_Conn conn):
    cdef _Session session = conn.session
    conn.session = None
    if session is not None:
        session._gone()


def _closing_shutdown(_Conn conn, error):
    cdef _Session session = conn.session
    if session is not None:
        session._close()


cdef class _Session:

    def __dealloc__(self):
        free(self.out.data)

    cdef int _start(self) except -1:
        server = self.server
        self.parser = Parser("request", **server._limits)
        self.pending = []
        if self.tcp is not None:
            try:
                self.peer = self.tcp.getpeername()
            except Exception:
                self.peer = None
            self.tcp.nodelay(True)
            self.tcp._queued_cb = self._written
            self.tcp.start_read(_no_read_callback)
        self._rearm()
        return 0

    # -- input -------------------------------------------------------------------------

    cdef int _read_done(self, const char* data, ssize_t nread) except -1:
        """A read of the plain transport (nread < 0: EOF or an error)."""
        if nread < 0:
            self.eof = True
            if nread != libuv.UV_EOF:
                return self._close()
            if self.cur is not None and not self.no_more:
                self.no_more = True     # cut inside a request: nothing to answer
                return self._close()
            if not self.pending:
                return self._shut()
            return 0
        self.corked = True
        try:
            self._input(data, <size_t>nread)
        finally:
            self.corked = False
            self._flush()
        if self.backlog is not None:
            self._resume_input()
        return 0

    cdef int _resume_input(self) except -1:
        """Parse the input held back while the output was congested, as far as the
        output allows now; then read again if nothing is held."""
        while self.backlog is not None and not self._congested() and not self.gone:
            data = self.backlog
            self.backlog = None
            self.corked = True
            try:
                self._input(PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data))
            finally:
                self.corked = False
                self._flush()
        return self._update_reading()

    def _written(self, handle, error):
        """A queued write completed: the output may have drained below the mark."""
        if self.gone or self._congested():
            return
        if self.waiter is not None:
            self._wake()
        if self.paused:
            self._resume_input()

    def _tls_drain(self, sock):
        if self.gone:
            return
        if self.waiter is not None:
            self._wake()
        if self.paused:
            self._resume_input()

    cdef int _wake(self) except -1:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter()
        return 0

    def _tls_recv(self, sock, data, peer):
        """Recv of the SSLSocket: the plaintext."""
        if self.backlog is not None:        # records already decrypted: held in order
            self.backlog += data
            return
        self.corked = True
        try:
            self._input(PyBytes_AS_STRING(data), <size_t>PyBytes_GET_SIZE(data))
        except BaseException:
            _log.exception("sourcey.http.Server: connection from %s failed", self.peer)
            self._close()
        finally:
            self.corked = False
            self._flush()
        if self.backlog is not None:
            self._resume_input()

    def _tls_error(self, sock, exc):
        self.eof = True
        if not isinstance(exc, (ConnectionError, PeerClosedError)):
            _log.info("sourcey.http.Server: TLS connection from %s failed: %s",
                      self.peer, exc)

    def _tls_close(self, sock):
        self._gone()

    cdef int _input(self, const char* data, size_t length) except -1:
        cdef h1_parser* p = &self.parser._p
        cdef size_t off = 0
        cdef size_t used = 0
        cdef h1_event ev
        if self.no_more or self.gone:
            return 0
        while not self.no_more and not self.gone:
            ev = h1_parser_execute(p, data + off, length - off, &used)
            off += used
            if ev == H1_EV_NONE:
                break
            elif ev == H1_EV_BODY:
                self._on_body(p.data, p.data_len)
            elif ev == H1_EV_HEAD:
                self._on_head()
            elif ev == H1_EV_MESSAGE:
                self._on_message()
                if off < length and self._congested():
                    self.backlog = PyBytes_FromStringAndSize(data + off, length - off)
                    off = length
                    self._update_reading()
                    break
            elif ev == H1_EV_UPGRADE:
                self.remainder = PyBytes_FromStringAndSize(data + off, length - off)
                off = length
                self._upgrade_ready()
                break
            else:
                self._parse_error()
                break
        if self.cur is not None and not self.continued and not self.pending:
            self._continue(self.cur)
        self._rearm()
        if self.phase == _P_BODY and self.server._body_ms >= 0:
            self.deadline = self.loop._now() + self.server._body_ms
        return 0

    cdef int _on_head(self) except -1:
        cdef h1_parser* p = &self.parser._p
        cdef char* head = p.head
        cdef Request r = Request.__new__(Request)
        cdef uint32_t i, end = h1_parser_head_length(p), first = end
        cdef h1_header* h
        cdef Server server = self.server
        cdef int hosts = 0
        r.method = _method(head + p.method.off, p.method.len)
        r.target = PyUnicode_DecodeLatin1(head + p.target.off, p.target.len, NULL)
        r.version = _V11 if p.version_minor == 1 else _V10
        for i in range(p.nheaders):
            h = &p.headers[i]
            if h.name.len == 4 and (head[h.name.off] | 0x20) == b'h' \
                    and (head[h.name.off + 1] | 0x20) == b'o' \
                    and (head[h.name.off + 2] | 0x20) == b's' \
                    and (head[h.name.off + 3] | 0x20) == b't':
                hosts += 1
        if p.nheaders:
            first = p.headers[0].name.off
        # the field lines as sent: Request.headers is made from them when first asked for
        r._raw = PyBytes_FromStringAndSize(head + first, end - first)
        r.peer = self.peer
        r.upgrade = p.upgrade
        r.keep_alive = p.keep_alive and not p.upgrade and not server._closing
        r.complete = p.body == H1_BODY_NONE
        self.cur = r
        self.continued = False
        self.body = None
        self.body_parts = None
        self.body_len = 0
        self.body_prealloc = False
        if hosts > 1 or (hosts == 0 and p.version_minor == 1):
            self.no_more = True             # RFC 9112 §3.2: exactly one Host in 1.1
            return self._error(400, "a request needs exactly one Host field")
        if p.body == H1_BODY_CHUNKED and not _chunked_only(r.headers):
            self.no_more = True
            return self._error(501, "a transfer coding other than chunked")
        if p.body == H1_BODY_LENGTH:
            if server._max_body >= 0 and p.content_length > server._max_body:
                self.no_more = True
                return self._error(413, "the request body is larger than the server takes")
            if not server.stream_bodies and p.content_length <= _PREALLOC_MAX:
                self.body = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>p.content_length)
                self.body_prealloc = True
        if server.stream_bodies and p.body != H1_BODY_NONE and not p.upgrade:
            r._session = self
            r._body = None
            if not self.pending:
                self._continue(r)       # before the handler: it may answer at once
            self._dispatch(r)
        return 0

    cdef int _on_body(self, const char* data, size_t length) except -1:
        cdef Request r = self.cur
        cdef Server server = self.server
        if r is None or self.no_more:
            return 0
        self.body_len += <Py_ssize_t>length
        if server._max_body >= 0 and self.body_len > server._max_body:
            self.no_more = True
            self.body = None
            self.body_parts = None
            if r._session is not None:          # streamed: the handler has it
                r._session = None
                return self._close()
            return self._error(413, "the request body is larger than the server takes")
        if r._session is not None:
            if r._on_data is None and r._response is not None and r._response._done:
                return 0                        # answered without reading it: dropped
            r._feed(PyBytes_FromStringAndSize(data, <Py_ssize_t>length))
            if r._holding():
                self._update_reading()
        elif self.body_prealloc:
            memcpy(PyBytes_AS_STRING(self.body) + self.body_len - <Py_ssize_t>length,
                   data, length)
        else:
            # one growing buffer, not a bytes per piece: a body of tiny chunks costs
            # about its size, not 30 times it
            if self.body_parts is None:
                self.body_parts = bytearray()
            self.body_parts[len(self.body_parts):] = data[:length]
        return 0

    cdef int _on_message(self) except -1:
        cdef Request r = self.cur
        if r is None:
            return 0
        self.cur = None
        self.served = True
        self.phase = _P_NONE      # a request went through: the next phase starts afresh
        if r.upgrade:             # the protocol switches after this message: the
            self.cur = r          # handler runs at H1_EV_UPGRADE, with the remainder
            return 0
        if r._session is not None:              # streamed: already dispatched
            r._session = None                   # (and no cycle left to the GC)
            r._response = None
            r._finish()
            if not r.keep_alive:
                self.no_more = True
            return 0
        if self.body_prealloc:
            r._body = self.body
        elif self.body_parts is not None:
            r._body = bytes(self.body_parts)
        else:
            r._body = b""
        self.body = None
        self.body_parts = None
        r.complete = True
        return self._dispatch(r)

    cdef int _upgrade_ready(self) except -1:
        cdef Request r = self.cur
        self.cur = None
        if r is None:
            return 0
        self.no_more = True
        r.complete = True
        r._body = bytes(self.body_parts) if self.body_parts is not None else (
            self.body if self.body is not None else b"")
        self.body = None
        self.body_parts = None
        if self.tcp is not None and not self.paused:
            self.paused = True            # nothing more is read until the handler decides
            self.tcp.stop_read()
        return self._dispatch(r)

    cdef int _dispatch(self, Request request) except -1:
        cdef Response response = Response.__new__(Response)
        response._session = self
        response._request = request
        response.status = 200
        response._keep = request.keep_alive
        response._nobody = request.method is _HEAD
        if request._session is not None:
            request._response = response    # streamed: its body is dropped once answered
        self.pending.append(response)
        if not request.keep_alive and request.complete:   # (streamed: at its end)
            self.no_more = True
        try:
            self.server.handler(request, response)
        except Exception:
            _log.exception("sourcey.http.Server: handler failed on %s %s from %s",
                           request.method, request.target, self.peer)
            self._handler_failed(response)
        if len(self.pending) >= _MAX_PENDING:
            self._update_reading()
        return 0

    cdef int _handler_failed(self, Response response) except -1:
        if response._done or self.gone:
            return 0
        if response._started:
            return response._abort()
        response.status = 500
        response.reason = None
        response._headers = Headers({"Content-Type": "text/plain; charset=utf-8"})
        response._end(b"Internal Server Error\n", 22, None)
        return 0

    cdef int _parse_error(self) except -1:
        cdef int code = self.parser._p.error
        name = h1_error_name(code).decode("ascii")
        reason = h1_error_reason(code).decode("ascii")
        self.no_more = True
        if self.cur is not None and self.cur._session is not None:
            self.cur._session = None      # a streamed body cut by an error
            return self._close()
        self.cur = None
        return self._error(_ERROR_STATUS.get(name, 400), reason)

    cdef int _error(self, int status, str reason) except -1:
        """Answer a request the server refuses (after the responses before it), then
        close."""
        cdef Response response = Response.__new__(Response)
        response._session = self
        response.status = status
        response._keep = False
        response._headers = Headers({"Content-Type": "text/plain; charset=utf-8"})
        self.pending.append(response)
        body = f"{_REASONS.get(status, 'Bad Request')}: {reason}\n".encode()
        response._end(PyBytes_AS_STRING(body), <size_t>PyBytes_GET_SIZE(body), body)
        return 0

    cdef int _continue(self, Request request) except -1:
        """Answer ``Expect: 100-continue`` with an interim 100 once the head is in, no
        earlier response is pending, and the body is still to come."""
        self.continued = True
        if request.complete or request.version is not _V11 or self.no_more or self.gone:
            return 0
        expect = (<Headers>request.headers)._find("expect", None)
        if expect is not None and _same_name(<str>expect, "100-continue"):
            self._put(b"HTTP/1.1 100 Continue\r\n\r\n", 25, None)
        return 0

    # -- reading and timeouts ----------------------------------------------------------

    cdef int _update_reading(self) except -1:
        """Pause or resume reading: too many responses pending, or a streamed body the
        handler is not taking."""
        cdef bint hold = (len(self.pending) >= _MAX_PENDING or self.backlog is not None
                          or self._congested())
        cdef Request r = self.cur
        if r is not None and r._session is not None and r._holding():
            hold = True
        if self.gone or self.shut and self.phase != _P_LINGER:
            return 0
        if hold and not self.paused:
            self.paused = True
            if self.tcp is not None:
                self.tcp.stop_read()
            else:
                self.sock.pause_reading()
        elif not hold and self.paused and not (self.no_more and self.remainder is not None):
            self.paused = False
            if self.tcp is not None:
                self.tcp.start_read(_no_read_callback)
            else:
                self.sock.resume_reading()
        return 0

    cdef bint _congested(self):
        return self.out.len + self._queued() > _HIGH_WATER

    cdef size_t _queued(self):
        """Bytes in the transport's write queue (the kernel has not taken them)."""
        if self.tcp is not None:
            return self.tcp._queued()
        if self.sock is not None:
            return (<TCPSocket>self.sock)._tcp._queued()
        return 0

    cdef int _rearm(self) except -1:
        """Set the deadline when the phase changes (not on every read: a slowloris's
        dribble does not push its header deadline back)."""
        cdef int phase
        cdef double timeout = -1.0
        cdef Server server = self.server
        if self.gone or self.shut or self.phase == _P_LINGER:
            return 0
        if self.pending or self.no_more:
            phase = _P_BUSY
        elif self.cur is not None:
            phase = _P_BODY
        elif h1_parser_idle(&self.parser._p):
            phase = _P_IDLE
        else:
            phase = _P_HEAD
        if phase == self.phase:
            return 0
        self.phase = phase
        if phase == _P_IDLE:
            timeout = server._idle_ms if self.served else server._header_ms
        elif phase == _P_HEAD:
            timeout = server._header_ms
        elif phase == _P_BODY:
            timeout = server._body_ms
        self.deadline = 0.0 if timeout < 0 else self.loop._now() + timeout
        return 0

    cdef int _expire(self) except -1:
        """The deadline passed (Server's tick)."""
        cdef int phase = self.phase
        self.deadline = 0.0
        if (phase == _P_HEAD or phase == _P_BODY) and not self.pending and not self.no_more:
            self.no_more = True
            self.phase = _P_BUSY
            if phase == _P_BODY and self.cur is not None and self.cur._session is not None:
                self.cur._session = None
                return self._close()
            self.cur = None
            self._error(408, "the request was not received in time")
            self._flush()
        elif phase == _P_BODY:
            self._close()
        elif phase == _P_IDLE or phase == _P_LINGER:
            self._close()
        return 0

    # -- output ------------------------------------------------------------------------

    cdef int _put(self, const char* data, size_t length, object keep) except -1:
        """Queue output of the writing response: small pieces are copied into the
        buffer, a large one (``keep``, a bytes object) is written as it is."""
        if self.gone:
            return 0
        if length <= _COPY_MAX or keep is None:
            return _out_put(&self.out, data, length)
        self._flush()
        return self._write_obj(keep)

    cdef int _flush(self) except -1:
        cdef Py_ssize_t n
        cdef size_t length = self.out.len
        if length == 0:
            return 0
        self.out.len = 0
        if self.gone:
            return 0
        if self.tcp is None:
            return self._write_obj(PyBytes_FromStringAndSize(self.out.data, length))
        n = self.tcp._try_write_ptr(self.out.data, length)
        if n < 0:
            return self._close()
        if <size_t>n < length:
            self._write_obj(PyBytes_FromStringAndSize(self.out.data + n, length - n))
        if self.out.cap > 1 << 20:      # a burst grew it: give the memory back
            free(self.out.data)
            self.out.data = NULL
            self.out.cap = 0
        return 0

    cdef int _write_obj(self, object data) except -1:
        if self.gone:
            return 0
        try:
            if self.tcp is not None:
                self.tcp._write(data, None, None)
            else:
                self.sock.send(data)
        except Exception:
            self._close()
        return 0

    cdef int _finished(self, Response response) except -1:
        if self.pending and self.pending[0] is response:
            self._advance()
        return 0

    cdef int _advance(self) except -1:
        cdef Response r
        cdef Response nxt
        while self.pending and (<Response>self.pending[0])._done:
            r = self.pending[0]
            del self.pending[0]
            if r._aborted:
                return self._close()
            if not r._keep:
                return self._linger()
            if self.pending:
                nxt = self.pending[0]
                out = nxt._out
                nxt._out = None
                if out:
                    for piece in out:
                        self._put(PyBytes_AS_STRING(piece), <size_t>PyBytes_GET_SIZE(piece),
                                  piece)
                if nxt._resume is not None:
                    resume = nxt._resume
                    nxt._resume = None
                    resume()
        if not self.pending and (self.eof or self.server._closing):
            return self._shut()
        if not self.pending and self.cur is not None and not self.continued:
            self._continue(self.cur)
        if self.waiter is not None:
            self._wake()
        if self.paused:
            self._update_reading()
        if not self.pending and not self.corked:
            self._rearm()
        elif not self.pending:
            self.phase = _P_NONE
        return 0

    # -- closing -----------------------------------------------------------------------

    cdef int _linger(self) except -1:
        """The last response is queued: shut our side, read and drop what the client
        still sends (closing with unread input would reset the connection and could
        lose the response), close at its EOF or after a while."""
        cdef Response r
        self.no_more = True
        self.cur = None
        for r in self.pending:
            r._out = None
        self.pending = []
        if self.eof:
            return self._shut()
        if self.gone or self.shut:
            return 0
        self.shut = True
        self._flush()                   # what this read answered goes before the FIN
        if self.tcp is None:
            self.sock.close()           # TLS: close_notify after the queued data
            return 0
        try:
            self.tcp.shutdown()
        except Exception:
            return self._close()
        self.phase = _P_LINGER
        self.deadline = self.loop._now() + _LINGER_MS
        if self.paused:
            self.paused = False
            self.tcp.start_read(_no_read_callback)
        return 0

    cdef int _shut(self) except -1:
        """Close once the queued writes are out."""
        self.no_more = True
        if self.gone:
            return 0
        if self.shut:
            if self.eof:
                return self._close()
            return 0
        self.shut = True
        self._flush()                   # what this read answered goes before the FIN
        if self.tcp is None:
            self.sock.close()
            return 0
        try:
            self.tcp.shutdown(_closing_shutdown)
        except Exception:
            self._close()
        return 0

    cdef int _close(self) except -1:
        self.deadline = 0.0
        self.no_more = True
        self.pending = []
        if self.cur is not None and self.cur._session is not None:
            self.cur._session = None
        self.cur = None
        if self.gone:
            return 0
        self._flush()                   # what was answered still goes out (then the cut)
        if self.tcp is not None:
            if not self.tcp.closed:
                self.tcp.close(_conn_closed)
        else:
            self.sock.close()
        return 0

    cdef int _gone(self) except -1:
        """The transport is closed (or handed over): the server forgets the session."""
        if self.server is not None:
            self.server._session_gone(self)
        self.gone = True
        self.deadline = 0.0
        self.waiter = None
        if self.files:
            for body in list(self.files):   # file bodies close their files
                body._close()
        return 0

    cdef object _detach(self):
        """Hand the connection over after an upgrade: a sourcey.net socket and the
        bytes received after the request's head."""
        cdef _Conn tcp = self.tcp
        cdef TCPSocket sock
        remainder = self.remainder if self.remainder is not None else b""
        self.remainder = None
        self._flush()
        self.pending = []
        self.no_more = True
        if tcp is not None:
            sock = TCPSocket(self.loop)
            tcp.session = None
            sock._adopt(tcp, self.peer)
            if self.paused:
                self.paused = False
            tcp.start_read(_no_read_callback)
        else:
            sock = self.sock
            for signal, slot in self.slots:
                signal.detach(slot)
            self.slots = []
            if self.paused:
                sock.resume_reading()
        self.tcp = None
        self.sock = None
        self._gone()
        return sock, remainder


cdef bint _chunked_only(Headers headers):
    """Every transfer coding of the request is chunked: one the server does not
    implement gets 501 (RFC 9112 §6.1)."""
    for name, value in headers._items:
        if _same_name(<str>name, "transfer-encoding"):
            for coding in (<str>value).split(","):
                coding = coding.strip()
                if coding and not _same_name(coding, "chunked"):
                    return False
    return True

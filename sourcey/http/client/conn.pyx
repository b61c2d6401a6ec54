# _Conn: one client connection, a TCP handle whose read hook feeds the parser in C, with
# TLS on ssl.MemoryBIO in the same hook (included by _client.pyx).


cdef class _Conn(TCP):
    """One client connection: reads go to the parser in C (``_on_read``)."""

    cdef Client client
    cdef _Pool pool
    cdef Parser parser
    cdef _Request req        # the request in flight, or None
    cdef int state
    cdef double deadline     # loop time (ms) when the state times out; 0: never
    cdef int served          # responses received whole on this connection
    cdef bint got_bytes      # a byte of the current response arrived
    cdef bint unrefd         # idle in the pool: does not keep the loop alive
    cdef bint sending        # a chunked body is still being sent
    cdef object body_iter
    cdef list candidates     # addresses still to try
    cdef object sslobj       # TLS: ssl.SSLObject over the two BIOs, or None
    cdef object bio_in
    cdef object bio_out
    cdef bint handshaked
    cdef bint tls_eof        # the server's close_notify arrived
    cdef object body_list    # the parser's body pieces, counted so far (max_body):
    cdef Py_ssize_t body_count
    cdef Py_ssize_t body_len

    # -- connecting -------------------------------------------------------------------

    cdef int _open(self, Client client, _Pool pool, _Request req, list candidates) except -1:
        cdef _Target t = req.t
        self.client = client
        self.pool = pool
        self.req = req
        self.state = _S_CONNECTING
        self.parser = Parser("response", **client._limits)
        if client._connect_ms > 0:
            self.deadline = self.loop.now() + client._connect_ms
        client._track(self)
        if candidates is not None:
            self.candidates = candidates
            self._connect_next()
        elif t.literal:
            self.candidates = [(t.host, t.port)]
            self._connect_next()
        else:
            try:
                uv.dns.getaddrinfo(self.loop, t.host, t.port, socktype=socket.SOCK_STREAM,
                                   callback=self._resolved)
            except Exception as exc:        # a name getaddrinfo cannot take
                self._fail(exc, True)
        return 0

    def _resolved(self, result, error):
        if self.state != _S_CONNECTING or self.closed:
            return
        if error is not None or not result:
            self._fail(error_from_code(error) if error is not None else
                       OSError(f"no address for {self.req.t.host!r}"), False)
            return
        self.candidates = [r.sockaddr[:2] for r in result]
        self._connect_next()

    def _connect_next(self):
        address = self.candidates.pop(0)
        try:
            self.connect(address, _on_connected)
        except uv.error.UVError as exc:
            self._connect_failed(error_from_code(exc.args[0]))

    cdef int _connect_failed(self, exc) except -1:
        cdef _Conn other
        if self.candidates and self.req is not None:
            # The next address the name resolved to, on a fresh handle.
            other = _Conn(self.loop)
            other._open(self.client, self.pool, self.req, self.candidates)
            other.deadline = self.deadline
            self.pool.count += 1
            self.req = None
            self._close()
        else:
            self._fail(exc, True)
        return 0

    cdef int _connected(self, error) except -1:
        if self.state != _S_CONNECTING or self.closed:
            return 0
        if error is not None:
            self._connect_failed(error_from_code(error))
            return 0
        try:
            self.nodelay(True)
            self.start_read(_no_read_callback)
        except uv.error.UVError as exc:
            self._connect_failed(error_from_code(exc.args[0]))
            return 0
        if not self.req.t.tls:
            self._ready()
            return 0
        self.bio_in = ssl.MemoryBIO()
        self.bio_out = ssl.MemoryBIO()
        try:
            self.sslobj = self.client._ssl_context().wrap_bio(
                self.bio_in, self.bio_out, server_side=False,
                server_hostname=self.req.t.host)
        except (ValueError, _SSLError) as exc:
            self._fail(exc, False)
            return 0
        self._handshake()
        return 0

    cdef int _handshake(self) except -1:
        try:
            self.sslobj.do_handshake()
        except _WantRead:
            self._tls_flush()
            return 0
        except _SSLError as exc:
            self._tls_flush()
            self._fail(exc, False)
            return 0
        self.handshaked = True
        self._tls_flush()
        self._ready()
        if self.bio_in.pending and not self.closed:
            self._tls_read()
        return 0

    cdef int _ready(self) except -1:
        """Connected (and the handshake done): send the request that opened it."""
        req = self.req
        self.req = None
        if req is None:
            self.client._release(self)
        else:
            self._send(req)
        return 0

    # -- sending ------------------------------------------------------------------------

    cdef int _send(self, _Request req) except -1:
        """Put ``req`` on this (connected, idle) connection."""
        self.req = req
        self.state = _S_BUSY
        self.got_bytes = False
        if self.unrefd:
            self.unrefd = False
            self.ref = True
        if req.method == "HEAD":
            self.parser._p.flags |= H1_F_SKIP_BODY
        else:
            self.parser._p.flags &= ~H1_F_SKIP_BODY
        self.deadline = self.loop.now() + self.client._read_ms if self.client._read_ms > 0 \
            else 0.0
        self.body_list = None
        body = req.body
        try:
            if req.chunked:
                self._out(req.head)
                self.sending = True
                self.body_iter = iter(body)
                self._pump()
            elif body is None:
                self._out(req.head)
            elif len(body) < 16384:
                self._out(req.head + body)
            else:
                self._out([req.head, body], self._sent)
        except uv.error.UVError as exc:
            self._lost(error_from_code(exc.args[0]))
        return 0

    cdef int _out(self, data, callback=None) except -1:
        """Send ``data`` (bytes, or a list of bytes-like pieces), encrypted under TLS;
        ``callback(handle, error)`` once it is written."""
        cdef bytes rest
        if self.sslobj is None:
            if callback is not None:
                self._write(data, callback, None)
            elif type(data) is bytes:
                rest = data
                data = self._write_now(rest)
                if data is not None:
                    self._write(data, None, None, True)
            else:
                self._write(data, None, None)
            return 0
        if type(data) is bytes:
            self.sslobj.write(data)
        else:
            for piece in data:
                if len(piece):
                    self.sslobj.write(piece)
        self._tls_flush(callback)
        return 0

    cdef int _tls_flush(self, callback=None) except -1:
        data = self.bio_out.read()
        if data and not self.closed:
            self._write(data, callback, None)
        return 0

    def _sent(self, handle, error):
        """A large body went out: the wait for the response starts now."""
        if error is None and self.state == _S_BUSY and self.client._read_ms > 0:
            self.deadline = self.loop.now() + self.client._read_ms

    def _pump(self, handle=None, error=None):
        """Send the chunked body's pieces while the write queue is short; past
        _HIGH_WATER, continue from the write callback."""
        cdef size_t n
        if not self.sending or self.closed:
            return
        if error is not None:
            self._lost(error_from_code(error))
            return
        if self.client._read_ms > 0:        # the upload moves: no read timeout yet
            self.deadline = self.loop.now() + self.client._read_ms
        try:
            while True:
                piece = next(self.body_iter, _END)
                if piece is _END:
                    self.sending = False
                    self.body_iter = None
                    self._out(b"0\r\n\r\n")
                    return
                n = memoryview(piece).nbytes
                if n == 0:
                    continue
                self._out([b"%x\r\n" % n, piece, b"\r\n"])
                if self._queued() >= _HIGH_WATER:
                    # An empty write completes after the rest: resume from there.
                    self._write(b"", self._pump, None)
                    return
        except uv.error.UVError as exc:
            self.sending = False
            self._lost(error_from_code(exc.args[0]))
        except Exception as exc:
            # The body iterator failed: the request cannot be completed on the wire.
            self.sending = False
            self._fail(exc, False)

    # -- receiving ----------------------------------------------------------------------

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        try:
            if nread < 0:
                self._ended(nread)
            elif self.sslobj is None:
                self._feed(data, <size_t>nread)
            else:
                self.bio_in.write(PyBytes_FromStringAndSize(data, nread))
                if self.handshaked:
                    self._tls_read()
                else:
                    self._handshake()
        except Exception as exc:
            self._fail(exc, False)
        except BaseException as exc:
            self.loop._handle_exception(exc)

    cdef int _tls_read(self) except -1:
        cdef bytes piece
        read = self.sslobj.read
        while not self.closed:
            try:
                piece = read(65536)
            except _WantRead:
                break
            except _ZeroReturn:
                piece = b""
            except _SSLError as exc:
                self._fail(exc, False)
                return 0
            if not piece:
                self._tls_closed()
                return 0
            self._feed(PyBytes_AS_STRING(piece), <size_t>PyBytes_GET_SIZE(piece))
        if self.bio_out.pending and not self.closed:
            self._tls_flush()       # a key update or session ticket to answer
        return 0

    cdef int _tls_closed(self) except -1:
        """The server's close_notify: answer it, then end as at an EOF (a body delimited
        by the close is complete: nothing was cut)."""
        self.tls_eof = True
        try:
            self.sslobj.unwrap()
        except _SSLError:
            pass
        self._tls_flush()
        self._ended(libuv.UV_EOF)
        return 0

    cdef int _feed(self, const char* data, size_t n) except -1:
        cdef list out = []
        cdef _Request req = self.req
        if req is None:
            # Bytes while idle: the server answered nothing we asked for.
            self._close()
            return 0
        self.got_bytes = True
        try:
            self.parser.feed_ptr(data, n, out)
        except ParseError as err:
            if err.messages:
                self._messages(err.messages, True)
            if self.req is not None:
                self._fail(err, False)
            else:
                self._close()
            return 0
        if out:
            self._messages(out, False)
        elif self.client._read_ms > 0:
            self.deadline = self.loop.now() + self.client._read_ms
        if self.req is not None and self.parser._cur is not None:
            self._partial()
        return 0

    cdef int _partial(self) except -1:
        """The head is in, the body is arriving: stream it, or check it against max_body."""
        cdef _Request req = self.req
        cdef list pieces
        cur = self.parser._cur
        if req.on_data is not None and not (self.client.follow_redirects
                                            and cur.status in _REDIRECTS):
            if req.streamed is None:
                req.streamed = _response(cur, req.t.url, req.history)
            pieces = self.parser._body
            if pieces:
                self.parser._body = []
                for piece in pieces:
                    self.client._call_data(req, req.streamed, piece)
                    if self.req is not req:
                        return 0
            return 0
        if self._too_large():
            self._fail(ResponseTooLargeError(
                f"the response body is larger than max_body ({self.client.max_body} bytes)"),
                False)
        return 0

    cdef bint _too_large(self):
        cdef Py_ssize_t i, n
        cdef long long limit = self.client._max_body
        if limit < 0:
            return False
        if self.parser._p.body == H1_BODY_LENGTH and self.parser._p.content_length > limit:
            return True
        body = self.parser._body
        if body is not self.body_list:
            self.body_list = body
            self.body_count = 0
            self.body_len = 0
        n = len(body)
        for i in range(self.body_count, n):
            self.body_len += len(body[i])
        self.body_count = n
        return self.body_len > limit

    cdef int _messages(self, list out, bint failed) except -1:
        cdef _Request req = self.req
        cdef bint reuse
        final = None
        for m in out:
            if final is not None or req is None:
                # A second response to one request: the stream cannot be trusted.
                failed = True
                break
            if m.status < 200 and m.status != 101:
                continue                    # interim (100 Continue, 103 Early Hints)
            final = m
        if final is None:
            if failed and self.req is not None:
                return 0                    # the caller reports the error
            if failed:
                self._close()
            return 0
        if req.on_data is None and self.client._max_body >= 0 \
                and len(final.body) > self.client._max_body:
            self._fail(ResponseTooLargeError(
                f"the response body is larger than max_body ({self.client.max_body} bytes)"),
                False)
            return 0
        self.req = None
        self.served += 1
        reuse = (final.keep_alive and not final.upgrade and not req.close and not failed
                 and not self.sending and self.parser.idle and not self.tls_eof)
        self.sending = False
        self.body_iter = None
        if reuse:
            self.client._release(self)
        else:
            self._close()
        self.client._completed(req, final)
        return 0

    cdef int _ended(self, ssize_t nread) except -1:
        """EOF or a read error."""
        cdef _Request req = self.req
        if req is None or self.state != _S_BUSY:
            if req is None:
                self._close()
            else:
                self._fail(error_from_code(nread) if nread != libuv.UV_EOF else
                           ConnectionClosedError("the server closed the connection "
                                                 "during the TLS handshake"), False)
            return 0
        if nread != libuv.UV_EOF:
            self._lost(error_from_code(nread))
            return 0
        if self.parser._cur is not None and self.parser._p.body == H1_BODY_EOF \
                and self.sslobj is not None and not self.tls_eof:
            self._fail(ConnectionClosedError(
                "the server closed the TLS connection without close_notify: the body "
                "(delimited by the close) may be truncated"), False)
            return 0
        try:
            out = self.parser.feed_eof()
        except ParseError as err:
            self._fail(err, False)
            return 0
        if out:
            self._messages(out, False)
        if self.req is not None:
            self._lost(ConnectionClosedError(
                "the server closed the connection before the response"))
        return 0

    # -- ending -------------------------------------------------------------------------

    cdef int _lost(self, exc) except -1:
        """The connection broke. A request sent again on a fresh connection if it went
        out on a reused one, nothing of the response came back, and it may be repeated
        (RFC 9112 §9.3.1); otherwise it fails with ``exc``."""
        cdef _Request req = self.req
        if req is not None and self.served > 0 and not self.got_bytes and not req.retried \
                and req.method in _IDEMPOTENT and not req.chunked:
            self.req = None
            req.retried = True
            self._close()
            self.client._submit(req, True)
            return 0
        self._fail(exc, True)
        return 0

    cdef int _fail(self, exc, bint later) except -1:
        """Close the connection; its request (if any) fails with ``exc``."""
        cdef _Request req = self.req
        self.req = None
        self.sending = False
        self.body_iter = None
        self._close()
        if req is not None:
            if later:
                self.client._defer(req, exc)
            else:
                self.client._finish(req, None, exc)
        return 0

    cdef int _expire(self) except -1:
        """The deadline passed (called by Client._tick)."""
        self.deadline = 0.0
        if self.state == _S_CONNECTING:
            self._fail(ConnectTimeoutError(
                f"connecting to {self.pool.key[1]}:{self.pool.key[2]} took longer than "
                f"{self.client.connect_timeout} s"), False)
        elif self.state == _S_BUSY:
            self._fail(ReadTimeoutError(
                f"no response data from {self.pool.key[1]}:{self.pool.key[2]} for "
                f"{self.client.read_timeout} s"), False)
        else:
            self._close()
        return 0

    cdef int _idle(self) except -1:
        self.state = _S_IDLE
        self.deadline = self.loop.now() + self.client._idle_ms \
            if self.client._idle_ms > 0 else 0.0
        if not self.unrefd:
            self.unrefd = True
            self.ref = False
        return 0

    cdef int _close(self) except -1:
        if self.state == _S_CLOSED:
            return 0
        self.state = _S_CLOSED
        self.deadline = 0.0
        self.client._forget(self)
        if not self.closed:
            self.close()
        return 0


def _on_connected(_Conn conn, error):
    conn._connected(error)

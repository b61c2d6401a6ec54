# Server: listens, accepts, and keeps the sessions' deadlines with one timer.
# Included by _server.pyx.


def _accepted(Server server, listener, error):
    cdef _Conn conn
    cdef _Session session
    if error is not None:
        _log.warning("sourcey.http.Server: accept failed: %s", error)
        return
    conn = _Conn(server.loop)
    try:
        listener.accept(conn)
    except Exception:
        conn.close()
        return
    if server._closing or (server.max_connections is not None
                           and len(server._sessions) >= server.max_connections):
        conn.close()
        return
    session = _Session.__new__(_Session)
    session.tcp = conn
    conn.session = session
    server._adopt(session)


def _tls_accepted(Server server, sock):
    cdef _Session session
    if server._closing or (server.max_connections is not None
                           and len(server._sessions) >= server.max_connections):
        sock.abort()
        return
    session = _Session.__new__(_Session)
    session.sock = sock
    try:
        session.peer = sock.peer_address
    except Exception:
        session.peer = None
    if session.peer is not None:
        session.peer = tuple(session.peer)
    session.slots = [(sock.Recv, sock.Recv.attach(session._tls_recv)),
                     (sock.Error, sock.Error.attach(session._tls_error)),
                     (sock.Close, sock.Close.attach(session._tls_close)),
                     (sock.Drain, sock.Drain.attach(session._tls_drain))]
    server._adopt(session)


cdef class Server:
    """An HTTP/1.1 server: ``Server(handler, loop=None, ...)``, then ``listen(host,
    port)``.

    ``handler(request, response)`` runs for each request as soon as it is received
    whole (at its head with ``stream_bodies=True``: see :class:`Request`); it answers
    through ``response`` then or later (``write``, ``end``). Connections are kept alive
    (HTTP/1.1, or 1.0 asking for it) and pipelined requests are answered in order. A
    malformed request gets its status (400, 414, 431, 501, 505) and the connection is
    closed; a handler that raises gets a 500 if nothing was sent yet (else the
    connection is cut), and is logged to ``logging.getLogger("sourcey.http.server")``.
    ``close()`` stops accepting, lets in-flight responses finish and closes idle
    connections.

    Options (a timeout of None disables it):

    - ``max_body`` (1 MiB; None: no limit): a request whose Content-Length exceeds it is
      answered 413 before its body is read, a chunked body 413 once it grows past it;
      the connection is then closed. A streamed body past it cuts the connection.
    - ``header_timeout`` (10 s): a request head not complete this long after its first
      byte gets 408 and the close; bytes arriving do not extend it, so a client dribbling
      its head (slowloris) gets 408 too. A new connection that sends nothing for this
      long is closed without a response.
    - ``body_timeout`` (60 s): a request body with no byte arriving for this long gets
      408 (or the cut, when streamed) and the close.
    - ``idle_timeout`` (60 s): a keep-alive connection idle this long between requests
      is closed without a response.
    - ``max_connections`` (None): connections beyond it are closed at once.
    - ``max_start_line``, ``max_header_line``, ``max_headers``, ``max_head``: the
      parser's limits (see :class:`Parser`); beyond them, 414 or 431 and the close.
    - ``ssl_context``: serve HTTPS (an ``ssl.SSLContext`` for a server, certificate
      loaded), with ``handshake_timeout`` (10 s).
    - ``stream_bodies`` (False): hand requests with a body to the handler at their head.

    Timeouts are enforced by one repeating timer per server that walks its connections
    while there are any: a deadline fires up to one tick late, a tick being a quarter of
    the smallest timeout, at least 0.05 s and at most 1 s. The timer does not keep the
    loop alive by itself. A response being produced has no deadline.
    """

    def __init__(self, handler, *, Loop loop=None, max_body=1 << 20, header_timeout=10.0,
                 idle_timeout=60.0, body_timeout=60.0, max_connections=None,
                 bint stream_bodies=False, ssl_context=None, handshake_timeout=10.0,
                 max_start_line=8190, max_header_line=8190, max_headers=100,
                 max_head=32768):
        if not callable(handler):
            raise TypeError("handler must be callable")
        if max_body is not None and not 0 <= max_body < 1 << 62:
            raise ValueError("max_body must be >= 0 (and below 2**62) or None")
        if max_connections is not None and not max_connections > 0:
            raise ValueError("max_connections must be positive or None")
        for name, value in (("header_timeout", header_timeout),
                            ("idle_timeout", idle_timeout),
                            ("body_timeout", body_timeout),
                            ("handshake_timeout", handshake_timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None")
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise TypeError("ssl_context must be an ssl.SSLContext")
        self.handler = handler
        self.loop = loop if loop is not None else Loop.default_loop()
        self.max_body = None if max_body is None else int(max_body)
        self.header_timeout = None if header_timeout is None else float(header_timeout)
        self.idle_timeout = None if idle_timeout is None else float(idle_timeout)
        self.body_timeout = None if body_timeout is None else float(body_timeout)
        self.max_connections = None if max_connections is None else int(max_connections)
        self.stream_bodies = stream_bodies
        self.ssl_context = ssl_context
        self.handshake_timeout = handshake_timeout
        self._max_body = -1 if max_body is None else self.max_body
        self._header_ms = -1.0 if header_timeout is None else self.header_timeout * 1e3
        self._idle_ms = -1.0 if idle_timeout is None else self.idle_timeout * 1e3
        self._body_ms = -1.0 if body_timeout is None else self.body_timeout * 1e3
        self._limits = {"max_start_line": max_start_line, "max_header_line": max_header_line,
                        "max_headers": max_headers, "max_head": max_head}
        Parser("request", **self._limits)          # checks the limits now
        shortest = min(t for t in (self.header_timeout, self.idle_timeout,
                                   self.body_timeout, _LINGER_MS / 1e3) if t is not None)
        self._tick_interval = min(1.0, max(0.05, shortest / 4))
        self._sessions = set()

    def listen(self, host="127.0.0.1", port=0, *, backlog=511):
        """Bind and listen; returns the bound ``(host, port)`` (port 0 picks a port)."""
        if self._listener is not None:
            raise RuntimeError("the server is already listening")
        if self._closing:
            raise RuntimeError("the server is closed")
        if self.ssl_context is not None:
            listener = SSLServer(host, port, partial(_tls_accepted, self),
                                 context=self.ssl_context, loop=self.loop, backlog=backlog,
                                 handshake_timeout=self.handshake_timeout)
            self._listener = listener
            self._address = tuple(listener.address)[:2]
            return self._address
        tcp = TCP(self.loop)
        try:
            tcp.bind((host, port))
            tcp.listen(partial(_accepted, self), backlog)
        except BaseException:
            tcp.close()
            raise
        self._listener = tcp
        self._address = tuple(tcp.getsockname()[:2])
        return self._address

    @property
    def address(self):
        """The bound ``(host, port)``, None before ``listen``."""
        return self._address

    @property
    def port(self):
        return None if self._address is None else self._address[1]

    @property
    def connections(self):
        return len(self._sessions)

    cdef int _adopt(self, _Session session) except -1:
        session.server = self
        session.loop = self.loop
        self._sessions.add(session)
        if self._ticker is None:
            self._ticker = Timer(self.loop)
            self._ticker.ref = False
        if len(self._sessions) == 1:
            self._ticker.start(self._tick, self._tick_interval, self._tick_interval)
        session._start()
        return 0

    def _tick(self, timer):
        """Enforce the connections' deadlines (O(connections) per tick)."""
        cdef _Session session
        cdef double now = self.loop._now()
        for session in list(self._sessions):
            if session.deadline and now >= session.deadline:
                try:
                    session._expire()
                except Exception:
                    _log.exception("sourcey.http.Server: timeout on %s failed", session.peer)
                    session._close()

    cdef int _session_gone(self, _Session session) except -1:
        self._sessions.discard(session)
        if not self._sessions:
            self._no_sessions()
        return 0

    cdef int _no_sessions(self) except -1:
        if self._ticker is None:
            return 0
        if self._closing:
            self._ticker.close()
            self._ticker = None
        else:
            self._ticker.stop()
        return 0

    def close(self):
        """Stop accepting; close idle connections, the others after their responses."""
        cdef _Session session
        self._closing = True
        if self._listener is not None:
            self._listener.close()
        for session in list(self._sessions):
            session.no_more = True
            if not session.pending:
                session._shut()
        if not self._sessions:
            self._no_sessions()

    def __repr__(self):
        return f"<Server {self.address} connections={len(self._sessions)}>"

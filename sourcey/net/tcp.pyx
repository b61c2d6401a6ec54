# TCPSocket: a TCP connection or listener with signals (LibSourcey's net::TCPSocket).

cdef enum:
    DEFAULT_HIGH_WATER = 1024 * 1024
    DEFAULT_LOW_WATER = 256 * 1024


cdef class _TCPStream(TCP):
    """The uv.TCP under a TCPSocket: its reads go straight to the socket, in C."""

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        cdef TCPSocket owner = self.owner
        if owner is not None:
            owner._on_read(data, nread)


cdef class TCPSocket(Socket):
    """A TCP socket with signals.

    Client: ``connect(host, port, timeout=None)`` resolves names asynchronously and emits
    Connect, then Recv for each read. Server: ``bind`` and ``listen`` emit
    ``AcceptConnection(new_socket)`` for each connection; the application keeps the new
    socket (the listener keeps none). It is reading when the slot runs; its first Recv
    comes in a later loop iteration, and the slot may pause_reading.

    ``send`` never drops data: what the kernel does not take at once is queued. It
    returns False once the queue is above the high watermark, and Drain(socket) is
    emitted when it falls to the low one, so a producer can pause and resume.
    """

    transport = "TCP"

    def __init__(self, Loop loop=None):
        Socket.__init__(self, loop)
        self.AcceptConnection = Signal(self.loop, "AcceptConnection")
        self.Drain = Signal(self.loop, "Drain")
        self._high = DEFAULT_HIGH_WATER
        self._low = DEFAULT_LOW_WATER
        self.close_timeout = 5.0
        self._drain_cb = self._written
        self._closed_cb = self._tcp_closed
        self._attach(_TCPStream(self.loop))

    cdef int _attach(self, _TCPStream tcp) except -1:
        if self._tcp is not None:
            self._tcp.owner = None
        self._tcp = tcp
        tcp.owner = self
        tcp._queued_cb = self._drain_cb
        return 0

    cdef int _adopt(self, _TCPStream tcp, object peer) except -1:
        """Take over a connected, reading stream from a layer that served it (an HTTP
        connection upgraded to another protocol): it becomes this socket's transport,
        and the unused handle this socket was made with is closed."""
        unused = self._tcp
        self._attach(tcp)
        unused.close()
        self._peer = Address(*peer[:2]) if peer is not None else None
        self._state = OPEN
        self._reading = True
        return 0

    # -- connecting --------------------------------------------------------------------

    def connect(self, host, port=None, *, timeout=None):
        """Connect to ``host`` and ``port`` (or an Address, or "host:port"); names are
        resolved first. Emits Connect, or Error (ConnectionRefusedError, TimeoutError,
        socket.gaierror...) and Close."""
        address = Address.parse(host, port)
        if self._state != NEW:
            raise OSError(106, f"{type(self).__name__} is already {self!r}")  # EISCONN
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        self._state = CONNECTING
        if timeout is not None:
            self._timer = uv.Timer(self.loop)
            self._timer.start(self._connect_timed_out, timeout)
        resolve(self.loop, address, self._resolved)

    def _resolved(self, addresses, error):
        if self._state != CONNECTING:
            return
        if error is not None:
            self._fail(error)
            return
        self._candidates = list(addresses)
        self._connect_next()

    def _connect_next(self):
        address = self._candidates.pop(0)
        try:
            self._tcp.connect(address, self._connected)
        except uv.error.UVError as exc:
            # Failed at once (EAFNOSUPPORT, EADDRNOTAVAIL...): the ordinary OSError, from
            # the loop, so that slots attached after connect() returns still hear it.
            _call_soon(self.loop, self._connect_failed, (error_from_code(exc.args[0]),))

    def _connected(self, handle, code):
        if handle is not self._tcp or self._state != CONNECTING:
            return
        if code is not None:
            self._connect_failed(error_from_code(code))
            return
        try:
            self._peer = Address(*self._tcp.getpeername()[:2])
            self._tcp.nodelay(True)
        except uv.error.UVError as exc:
            # Reset as soon as connected: getpeername fails (ENOTCONN).
            self._connect_failed(
                ConnectionResetError(104, "connection reset by peer")  # ECONNRESET
                if exc.args[0] == uv.errno.UV_ENOTCONN else error_from_code(exc.args[0]))
            return
        self._stop_timer()
        self._state = OPEN
        self._start_reading()
        if self._raw is None:
            _emit_to(self.Connect, (self,))
        else:
            self._raw(None)     # the layer above emits Connect when it is ready

    def _connect_failed(self, exc):
        if self._candidates:
            # Try the next address the name resolved to, on a fresh handle.
            self._tcp.close()
            self._attach(_TCPStream(self.loop))
            self._connect_next()
        else:
            self._fail(exc)

    def _connect_timed_out(self, timer):
        self._candidates = None
        self._fail(TimeoutError(110, "connect timed out"))  # ETIMEDOUT

    cdef int _stop_timer(self) except -1:
        if self._timer is not None:
            self._timer.close()
            self._timer = None
        return 0

    # -- listening ---------------------------------------------------------------------

    def bind(self, host, port=None, *, reuseport=False, ipv6only=False):
        """Bind to an IP address and port (port 0: any free port)."""
        address = Address.parse(host, port)
        if not address.is_ip:
            raise ValueError(f"bind takes an IP address, not {address.host!r}")
        if self._state != NEW:
            raise OSError(22, f"{type(self).__name__} is already {self!r}")  # EINVAL
        flags = (uv.UV_TCP_REUSEPORT if reuseport else 0) | (uv.UV_TCP_IPV6ONLY if ipv6only else 0)
        try:
            self._tcp.bind(address, flags)
        except uv.error.UVError as exc:
            raise error_from_code(exc.args[0]) from None

    def listen(self, int backlog=511):
        """Accept connections: AcceptConnection(new_socket) for each."""
        try:
            self._tcp.listen(self._accept, backlog)
        except uv.error.UVError as exc:
            raise error_from_code(exc.args[0]) from None
        self._state = OPEN

    def _accept(self, handle, code):
        cdef TCPSocket conn
        if code is not None:
            # EMFILE and the like: report, and keep listening.
            _emit_to(self.Error, (self, error_from_code(code)))
            return
        conn = self._new_connection()
        try:
            self._tcp.accept(conn._tcp)
            conn._peer = Address(*conn._tcp.getpeername()[:2])
            conn._tcp.nodelay(True)
        except uv.error.UVError:
            # Nothing to accept after all, or a connection the peer reset while it
            # waited in the backlog (getpeername: ENOTCONN): drop it unseen.
            conn.close()
            return
        conn._state = OPEN
        # Reading starts before the slots run, so that one can pause_reading (data
        # only comes in later loop iterations, after they have attached Recv).
        conn._start_reading()
        _emit_to(self.AcceptConnection, (conn,))

    def _new_connection(self):
        """The socket an accepted connection gets (SSL servers make SSLSockets)."""
        return TCPSocket(self.loop)

    # -- reading -----------------------------------------------------------------------

    cdef int _start_reading(self) except -1:
        self._reading = True
        self._tcp.start_read(_no_read_callback)
        return 0

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        cdef Loop loop = self.loop
        cdef Signal recv
        if self._state != OPEN:         # closing: no Recv (nor EOF) after close()
            return
        try:
            if nread > 0:
                chunk = loop._take_bytes(data, nread)
                if self._raw is None:
                    recv = self.Recv
                    if recv is not None:    # public: may have been set to None
                        recv._emit3(self, chunk, self._peer)
                else:
                    self._raw(chunk)
                loop._give_back(chunk)
            elif self._raw is None:
                self._fail(error_from_code(<int>nread))
            else:
                self._raw(error_from_code(<int>nread))
        except BaseException as exc:
            loop._handle_exception(exc)

    def _set_raw_receiver(self, receiver):
        """Hand the raw byte stream to a layer above (TLS) instead of the signals:
        ``receiver(chunk)`` gets each chunk read instead of Recv, ``receiver(exc)`` the
        read failure (PeerClosedError at EOF) instead of Error and Close (the layer must
        close), and ``receiver(None)`` the connect instead of Connect. None undoes it."""
        if receiver is not None and not callable(receiver):
            raise TypeError(f"a raw receiver must be callable, not {type(receiver).__name__}")
        self._raw = receiver

    def pause_reading(self):
        """Stop reading (the peer's writes then back up): receive-side backpressure."""
        if self._reading and self._state == OPEN:
            self._reading = False
            self._tcp.stop_read()

    def resume_reading(self):
        if not self._reading and self._state == OPEN:
            self._start_reading()

    # -- writing -----------------------------------------------------------------------

    def send(self, data, peer=None):
        """Send bytes (or a list of buffers, written together). Returns True while the
        write queue is under the high watermark; False means: stop until Drain."""
        cdef Py_ssize_t n = 0
        if type(data) is bytes and self._state == OPEN and self._peer is not None:
            # The echo case: all of it written at once, nothing queued, no watermark moves.
            n = self._tcp._try_bytes(<bytes>data)
            if n > 0 and n == len(<bytes>data):
                return not self._above_high
        if self._state != OPEN:
            if self._state < OPEN:
                raise OSError(107, f"send on a {self!r}: connect first")  # ENOTCONN
            self._fail(BrokenPipeError(32, f"send on a {self!r}"))  # EPIPE
            return False
        if self._peer is None:
            raise OSError(107, f"send on a listening {type(self).__name__}")  # ENOTCONN
        try:
            # What the kernel does not take at once is queued, and every queued write
            # reports to _written (the stream's _queued_cb): the watermarks and any
            # write failure are tracked there, with no callback on the direct path.
            if type(data) is bytes:
                self._tcp._ensure_open()          # and on the loop's thread
                if n > 0:
                    data = memoryview(data)[n:]   # the rest of a partial write: no copy
                self._tcp._write(data, None, None, True)
            else:
                self._tcp._write(data, None, None)
            if not self._above_high and self._tcp._queued() > self._high:
                self._above_high = True
        except uv.error.UVError as exc:
            # EPIPE after shutdown(), and the like: a failure like any other.
            self._fail(error_from_code(exc.args[0]))
            return False
        return not self._above_high

    def _written(self, handle, code):
        if code is not None:
            if code != uv.errno.UV_ECANCELED:
                self._fail(error_from_code(code))
            return
        if self._above_high and self._tcp._queued() <= self._low:
            self._above_high = False
            _emit_to(self.Drain, (self,))

    @property
    def write_queue_size(self):
        """Bytes accepted by send and not yet handed to the kernel."""
        return self._tcp._queued()

    def set_watermarks(self, high=None, low=None):
        """The write-queue sizes at which send starts returning False (high) and Drain
        is emitted (low)."""
        high = self._high if high is None else high
        low = self._low if low is None else low
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= low <= high, not low={low}, high={high}")
        self._high, self._low = high, low

    @property
    def watermarks(self):
        return (self._high, self._low)

    def shutdown(self):
        """Send FIN after the queued data; reading goes on. Idempotent; a later send
        is a failure (BrokenPipeError on Error)."""
        if self._state == OPEN and self._tcp.writable:
            self._tcp.shutdown()

    # -- options and addresses -----------------------------------------------------------

    def set_nodelay(self, bint enable=True):
        self._tcp.nodelay(enable)

    def set_keepalive(self, bint enable=True, unsigned int delay=60):
        self._tcp.keepalive(enable, delay)

    @property
    def address(self):
        """The local Address, or None before bind/connect."""
        try:
            return Address(*self._tcp.getsockname()[:2])
        except uv.error.UVError:
            return None

    @property
    def peer_address(self):
        return self._peer

    def fileno(self):
        return self._tcp.fileno()

    # -- closing -----------------------------------------------------------------------

    def close(self):
        """Close gracefully: data already queued by send goes out first (within
        ``close_timeout`` seconds), then FIN. Close is emitted once libuv is done with
        the socket; no Recv comes after close(). Idempotent. ``abort()`` drops the queue."""
        if self._state >= CLOSING:
            return
        self._state = CLOSING
        self._stop_timer()
        if self._peer is not None and self._tcp._queued() > 0:
            try:
                self._tcp.shutdown(self._flushed)   # completes after the queued writes
            except uv.error.UVError:
                self._close_now()
                return
            self._timer = uv.Timer(self.loop)
            self._timer.start(self._flush_timed_out, self.close_timeout)
        else:
            self._close_now()

    def _flushed(self, handle, code):
        if handle is self._tcp:
            self._close_now()

    def _flush_timed_out(self, timer):
        self._close_now()

    def _close_now(self):
        """Close the TCP handle at once; what is still queued is dropped."""
        self._stop_timer()
        self._state = CLOSING
        self._tcp.close(self._closed_cb)

    def abort(self):
        """Close at once with a TCP reset (RST) instead of FIN."""
        if self._state >= CLOSING:
            return
        self._state = CLOSING
        self._stop_timer()
        self._tcp.close_reset(self._closed_cb)

    def _tcp_closed(self, handle):
        if handle is self._tcp:
            self._tcp.owner = None
            self._tcp._queued_cb = None
            self._drain_cb = self._closed_cb = None     # the bound methods' cycles
            self._closed()


def _no_read_callback(handle, data, error):
    # TCPSocket reads through _TCPStream._on_read; libuv still wants a callback set.
    pass

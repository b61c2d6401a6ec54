# TCP: a TCP socket, listening or connected.

cdef int _check_family(int family) except -1:
    if family not in (uv.AF_UNSPEC, uv.AF_INET, uv.AF_INET6):
        raise ValueError(f"family must be AF_UNSPEC, AF_INET or AF_INET6, not {family}")
    return 0


cdef class TCP(Stream):
    """A TCP handle: ``TCP(loop, family=socket.AF_UNSPEC)``.

    With AF_INET or AF_INET6 the socket is created at once; with AF_UNSPEC, at bind or
    connect.
    """

    def __init__(self, Loop loop not None, int family=uv.AF_UNSPEC):
        cdef int err
        _check_family(family)
        self._alloc(loop, uv.UV_TCP, _error.TCPError)
        err = uv.uv_tcp_init_ex(loop.uvloop, <uv.uv_tcp_t*>self._handle, family)
        if err < 0:
            self._free()
            self._raise(err)
        self._family = family

    @property
    def family(self):
        """The address family: AF_INET, AF_INET6, or AF_UNSPEC before bind/connect."""
        cdef uv.sockaddr_storage ss
        cdef int n = sizeof(ss)
        if self._family == uv.AF_UNSPEC and self._handle != NULL:
            if uv.uv_tcp_getsockname(<uv.uv_tcp_t*>self._handle, <uv.sockaddr*>&ss, &n) == 0:
                return ss.ss_family
        return self._family

    def bind(self, address, unsigned int flags=0):
        """Bind to ``(ip, port)``; flags: UV_TCP_IPV6ONLY, UV_TCP_REUSEPORT."""
        cdef uv.sockaddr_storage ss
        self._ensure_open()
        _sockaddr_from(address, &ss)
        if flags & ~(<unsigned int>(uv.UV_TCP_IPV6ONLY | uv.UV_TCP_REUSEPORT)):
            raise ValueError(f"invalid TCP bind flags: {flags:#x}")
        self._check(uv.uv_tcp_bind(<uv.uv_tcp_t*>self._handle, <uv.sockaddr*>&ss, flags))

    def connect(self, address, callback=None):
        """Connect to ``(ip, port)``; ``callback(handle, error)`` when done."""
        cdef uv.sockaddr_storage ss
        cdef StreamReq* r
        cdef int err
        self._ensure_open()
        _sockaddr_from(address, &ss)
        if callback is not None:
            _check_callable(callback, "callback")
        r = _stream_req_new(self, uv.UV_CONNECT, callback)
        err = uv.uv_tcp_connect(<uv.uv_connect_t*>r.req, <uv.uv_tcp_t*>self._handle,
                                <uv.sockaddr*>&ss, _stream_connected)
        _stream_req_started(self, r, uv.UV_CONNECT, err)

    def open(self, int fd):
        """Wrap an existing socket file descriptor (the handle takes it over)."""
        self._ensure_open()
        self._check(uv.uv_tcp_open(<uv.uv_tcp_t*>self._handle, fd))

    def getsockname(self):
        """The local address, as a tuple."""
        return _socket_name(self, False)

    def getpeername(self):
        """The peer's address, as a tuple."""
        return _socket_name(self, True)

    def nodelay(self, bint enable):
        """Set TCP_NODELAY (Nagle's algorithm off when True)."""
        self._ensure_open()
        self._check(uv.uv_tcp_nodelay(<uv.uv_tcp_t*>self._handle, enable))

    def keepalive(self, bint enable, unsigned int delay=60):
        """Set SO_KEEPALIVE, with the initial delay in seconds."""
        self._ensure_open()
        if enable and delay < 1:
            raise ValueError("keepalive delay must be at least 1 second")
        self._check(uv.uv_tcp_keepalive(<uv.uv_tcp_t*>self._handle, enable, delay))

    def simultaneous_accepts(self, bint enable):
        """Accept several connections at once (a no-op on Unix, kept for pyuv)."""
        self._ensure_open()
        self._check(uv.uv_tcp_simultaneous_accepts(<uv.uv_tcp_t*>self._handle, enable))

    def close_reset(self, callback=None):
        """Abort the connection: close with RST (SO_LINGER 0) instead of FIN, then
        ``callback(handle)``. Closing an already closed handle does nothing."""
        cdef int err
        if self._handle == NULL or uv.uv_is_closing(self._handle):
            return
        self.loop._check_thread()
        if callback is not None:
            _check_callable(callback, "callback")
        self._close_cb = callback
        self._hold()
        err = uv.uv_tcp_close_reset(<uv.uv_tcp_t*>self._handle, _on_close)
        if err < 0:
            self._close_cb = None
            self._sync_ref()
            self._raise(err)

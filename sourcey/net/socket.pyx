# Socket: the common face of the three transports (LibSourcey's net::Socket).

cdef enum:
    NEW = 0
    CONNECTING = 1
    OPEN = 2        # connected, bound or listening
    CLOSING = 3
    CLOSED = 4


cdef inline int _emit_to(Signal signal, tuple args) except -1:
    # The signal attributes are public (for ``sock.Recv += slot``), so one may have been
    # set to None: that is a signal without slots, not a crash.
    if signal is not None:
        signal._emit(args)
    return 0


cdef object _call_soon(Loop loop, object fn, tuple args):
    """Call ``fn(*args)`` from the loop, on its next iteration."""
    timer = uv.Timer(loop)

    def fire(t):
        t.close()
        fn(*args)

    timer.start(fire, 0.0)


cdef class Socket:
    """The common face of TCPSocket, SSLSocket and UDPSocket.

    Signals: ``Connect(socket)``, ``Recv(socket, data, peer)``, ``Error(socket, exc)`` and
    ``Close(socket)``. Every failure arrives once on Error (an OSError subclass such as
    ConnectionRefusedError, or ssl.SSLError), and then the socket closes and emits Close,
    once. Closing from inside a slot, Recv's included, is safe: Close comes after libuv
    has let go of the handle.
    """

    transport = None

    def __init__(self, Loop loop=None):
        if self.loop is not None:
            raise RuntimeError(f"{type(self).__name__} is already initialised")
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.Connect = Signal(self.loop, "Connect")
        self.Recv = Signal(self.loop, "Recv")
        self.Error = Signal(self.loop, "Error")
        self.Close = Signal(self.loop, "Close")

    @property
    def closed(self):
        """True once the socket is closing or closed."""
        return self._state >= CLOSING

    @property
    def connected(self):
        return self._state == OPEN

    cdef int _fail(self, object exc) except -1:
        """Report a failure once on Error, then close."""
        if self.error is None:
            self.error = exc
            _emit_to(self.Error, (self, exc))
        self.close()
        return 0

    def _report_failure(self, exc):
        """``_fail`` for Python subclasses (SSLSocket): Error once, then close."""
        self._fail(exc)

    cdef int _closed(self) except -1:
        if self._state == CLOSED:
            return 0
        self._state = CLOSED
        _emit_to(self.Close, (self,))
        return 0

    def close(self):
        raise NotImplementedError

    def add_receiver(self, receiver, int priority=0):
        """Attach an adapter's on_socket_connect/recv/error/close to this socket's
        signals, at ``priority`` (higher first)."""
        add_receiver(self, receiver, priority)

    def remove_receiver(self, receiver):
        return remove_receiver(self, receiver)

    def replace_adapter(self, old, new):
        """Swap the receiver ``old`` for ``new`` at the same priority (for example an
        HTTP adapter for a WebSocket one, on upgrade)."""
        replace_adapter(self, old, new)

    def __repr__(self):
        states = ("new", "connecting", "open", "closing", "closed")
        return f"<{type(self).__name__} {states[self._state]}>"

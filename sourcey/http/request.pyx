# Request: what the handler receives, built once per request from the parser's head.
# Included by _server.pyx.

# Streamed body bytes held for a handler that has not asked for them yet; past this,
# reading pauses until it does (the client then waits: backpressure, not memory).
cdef Py_ssize_t _HOLD = 64 * 1024


cdef class Request:
    """A request as received.

    ``method``, ``target``, ``path`` and ``query`` (the target split at the first
    ``?``, not decoded), ``version`` (``"1.0"``/``"1.1"``), ``headers``
    (:class:`Headers`, values decoded as Latin-1), ``peer`` (the client's ``(ip,
    port)``), ``keep_alive``, ``upgrade`` (the client asks to switch protocols: see
    :meth:`Response.upgrade`) and ``complete`` (the whole body is in).

    The body: by default the handler runs once the whole body is in, and ``body`` holds
    it (bytes). With ``Server(stream_bodies=True)`` the handler runs as soon as the head
    is in and ``body`` is None; it takes the body with :meth:`stream` (piece by piece)
    or :meth:`read` (whole), and may :meth:`pause` and :meth:`resume` reading. Bytes that
    arrive before it asks are held, up to 64 KiB; then reading pauses until it asks.
    Other attributes may be set freely (``request.user = ...``).
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("Request objects are made by the server")

    @property
    def path(self):
        return self.target.partition("?")[0]

    @property
    def query(self):
        return self.target.partition("?")[2]

    @property
    def body(self):
        return self._body

    def stream(self, on_data, on_end=None):
        """Receive the body piece by piece: ``on_data(request, chunk)`` for each piece
        (bytes), then ``on_end(request)``. Pieces already received come at once."""
        cdef list parts
        if not callable(on_data) or (on_end is not None and not callable(on_end)):
            raise TypeError("on_data and on_end must be callable")
        if self._on_data is not None or self._on_end is not None:
            raise RuntimeError("the body is already being read")
        self._on_data = on_data
        self._on_end = on_end if on_end is not None else _ignore_end
        parts = self._parts
        self._parts = None
        self._buffered = 0
        if parts:
            for chunk in parts:
                on_data(self, chunk)
        if self.complete:
            self._deliver_end()
        elif self._session is not None:
            self._session._update_reading()

    def read(self, callback):
        """Receive the whole body: ``callback(request, body)`` once it is in (``body``
        is then also set). It is bounded by the server's ``max_body``."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        collected = []
        self.stream(lambda req, chunk: collected.append(chunk),
                    lambda req: req._read_done(collected, callback))

    def _read_done(self, list collected, callback):
        self._body = b"".join(collected)
        callback(self, self._body)

    def pause(self):
        """Stop reading from the client until :meth:`resume` (backpressure)."""
        self._paused = True
        if self._session is not None:
            self._session._update_reading()

    def resume(self):
        self._paused = False
        if self._session is not None:
            self._session._update_reading()

    cdef int _feed(self, bytes data) except -1:
        if self._on_data is not None:
            self._on_data(self, data)
            return 0
        if self._parts is None:
            self._parts = []
        self._parts.append(data)
        self._buffered += len(data)
        if self._buffered > _HOLD and self._session is not None:
            self._session._update_reading()
        return 0

    cdef int _finish(self) except -1:
        self.complete = True
        if self._on_end is not None:
            self._deliver_end()
        return 0

    def _deliver_end(self):
        on_end = self._on_end
        self._on_end = _ignore_end
        self._on_data = _ignore_data
        on_end(self)

    cdef bint _holding(self):
        """Reading must pause: the held body is full, or the application asked."""
        return self._paused or (self._on_data is None and self._buffered > _HOLD)

    def __repr__(self):
        return f"<Request {self.method} {self.target} HTTP/{self.version}>"


def _ignore_end(request):
    pass


def _ignore_data(request, chunk):
    pass

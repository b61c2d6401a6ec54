# Poll: readiness of a file descriptor that something else reads and writes.

cdef void _poll_fire(uv.uv_poll_t* handle, int status, int events) noexcept:
    _enter(handle.loop)
    cdef Poll self
    if handle.data == NULL:
        return
    self = <Poll>handle.data
    try:
        if status < 0:
            self._callback(self, 0, status)
        else:
            self._callback(self, events, None)
    except BaseException as exc:
        self.loop._handle_exception(exc)
    self._sync_ref()


cdef class Poll(Handle):
    """``Poll(loop, fd)``: ``start(events, callback)`` with events UV_READABLE,
    UV_WRITABLE, UV_DISCONNECT, UV_PRIORITIZED; ``callback(handle, events, error)``."""

    def __init__(self, Loop loop not None, int fd):
        cdef int err
        if fd < 0:
            raise ValueError(f"invalid file descriptor: {fd}")
        self._alloc(loop, uv.UV_POLL, _error.PollError)
        err = uv.uv_poll_init(loop.uvloop, <uv.uv_poll_t*>self._handle, fd)
        if err < 0:
            self._free()
            self._raise(err)
        self._fd = fd

    cdef void _on_closed(self) noexcept:
        self._callback = None

    def start(self, int events, callback):
        cdef int allowed = uv.UV_READABLE | uv.UV_WRITABLE | uv.UV_DISCONNECT | uv.UV_PRIORITIZED
        self._ensure_open()
        _check_callable(callback, "callback")
        if events & ~allowed or not events:
            raise ValueError(f"invalid poll events: {events:#x}")
        self._callback = callback
        self._check(uv.uv_poll_start(<uv.uv_poll_t*>self._handle, events, _poll_fire))
        self._sync_ref()

    def stop(self):
        self._ensure_open()
        self._check(uv.uv_poll_stop(<uv.uv_poll_t*>self._handle))
        self._sync_ref()

    def fileno(self):
        """The file descriptor being watched."""
        self._ensure_open()
        return self._fd

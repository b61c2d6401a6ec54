# Signal: libuv's signal watcher; the signal is delivered on the loop's thread.

cdef void _signal_fire(uv.uv_signal_t* handle, int signum) noexcept:
    _enter(handle.loop)
    cdef Signal self
    if handle.data == NULL:
        return
    self = <Signal>handle.data
    try:
        self._callback(self, signum)
    except BaseException as exc:
        self.loop._handle_exception(exc)
    self._sync_ref()


cdef class Signal(Handle):
    """``Signal(loop)``: ``start(callback, signum)`` calls ``callback(handle, signum)``
    on the loop's thread each time the signal arrives."""

    def __init__(self, Loop loop not None):
        cdef int err
        self._alloc(loop, uv.UV_SIGNAL, _error.SignalError)
        err = uv.uv_signal_init(loop.uvloop, <uv.uv_signal_t*>self._handle)
        if err < 0:
            self._free()
            self._raise(err)

    cdef void _on_closed(self) noexcept:
        self._callback = None

    def start(self, callback, int signum):
        self._ensure_open()
        _check_callable(callback, "callback")
        self._callback = callback
        self._check(uv.uv_signal_start(<uv.uv_signal_t*>self._handle, _signal_fire, signum))
        self._sync_ref()

    def start_oneshot(self, callback, int signum):
        """Like start, but stop after the first signal."""
        self._ensure_open()
        _check_callable(callback, "callback")
        self._callback = callback
        self._check(uv.uv_signal_start_oneshot(<uv.uv_signal_t*>self._handle, _signal_fire,
                                               signum))
        self._sync_ref()

    def stop(self):
        self._ensure_open()
        self._check(uv.uv_signal_stop(<uv.uv_signal_t*>self._handle))
        self._sync_ref()

    @property
    def signum(self):
        """The signal being watched (0 if none)."""
        if self._handle == NULL or not uv.uv_is_active(self._handle):
            return 0
        return (<uv.uv_signal_t*>self._handle).signum

# Timer: times are seconds, as floats (libuv counts whole milliseconds).

cdef uint64_t _to_ms(double seconds, str what) except? 0:
    if not (seconds >= 0.0) or seconds == float("inf"):
        raise ValueError(f"{what} must be a finite number of seconds >= 0, not {seconds!r}")
    if seconds > 1e12:
        raise OverflowError(f"{what} is too large: {seconds!r}")
    return <uint64_t>(seconds * 1000.0 + 0.5)


cdef void _timer_fire(uv.uv_timer_t* handle) noexcept:
    _enter(handle.loop)
    cdef Timer self
    if handle.data == NULL:
        return
    self = <Timer>handle.data
    try:
        self._callback(self)
    except BaseException as exc:
        self.loop._handle_exception(exc)
    self._sync_ref()


cdef class Timer(Handle):
    """A timer: ``start(callback, timeout, repeat=0.0)``, in seconds; ``callback(timer)``."""

    def __init__(self, Loop loop not None):
        cdef int err
        self._alloc(loop, uv.UV_TIMER, _error.TimerError)
        err = uv.uv_timer_init(loop.uvloop, <uv.uv_timer_t*>self._handle)
        if err < 0:
            self._free()
            self._raise(err)

    cdef void _on_closed(self) noexcept:
        self._callback = None

    def start(self, callback, double timeout, double repeat=0.0):
        """Call ``callback(timer)`` after ``timeout`` seconds, then every ``repeat``
        seconds if it is not 0."""
        cdef uint64_t t, r
        self._ensure_open()
        _check_callable(callback, "callback")
        t = _to_ms(timeout, "timeout")
        r = _to_ms(repeat, "repeat")
        self._callback = callback
        self._check(uv.uv_timer_start(<uv.uv_timer_t*>self._handle, _timer_fire, t, r))
        self._sync_ref()

    def stop(self):
        self._ensure_open()
        self._check(uv.uv_timer_stop(<uv.uv_timer_t*>self._handle))
        self._sync_ref()

    def again(self):
        """Restart a repeating timer with its repeat as the timeout (TimerError if the
        timer was never started)."""
        self._ensure_open()
        self._check(uv.uv_timer_again(<uv.uv_timer_t*>self._handle))
        self._sync_ref()

    @property
    def repeat(self):
        """The repeat interval in seconds (0.0: none)."""
        if self._handle == NULL:
            return 0.0
        return uv.uv_timer_get_repeat(<uv.uv_timer_t*>self._handle) / 1000.0

    @repeat.setter
    def repeat(self, double value):
        self._ensure_open()
        uv.uv_timer_set_repeat(<uv.uv_timer_t*>self._handle, _to_ms(value, "repeat"))

    @property
    def due_in(self):
        """Seconds until the timer fires (0.0 if it is not running)."""
        if self._handle == NULL or not uv.uv_is_active(self._handle):
            return 0.0
        return uv.uv_timer_get_due_in(<uv.uv_timer_t*>self._handle) / 1000.0

cdef class Idle(_Watcher):
    """``Idle(loop)``: ``start(callback)`` calls ``callback(handle)`` every iteration,
    and the loop does not block for I/O while it is active."""

    def __init__(self, Loop loop not None):
        self._init(loop, uv.UV_IDLE, _error.IdleError)

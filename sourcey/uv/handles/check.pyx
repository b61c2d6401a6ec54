cdef class Check(_Watcher):
    """``Check(loop)``: ``start(callback)`` calls ``callback(handle)`` every iteration,
    just after the loop polled for I/O."""

    def __init__(self, Loop loop not None):
        self._init(loop, uv.UV_CHECK, _error.CheckError)

cdef class Prepare(_Watcher):
    """``Prepare(loop)``: ``start(callback)`` calls ``callback(handle)`` every iteration,
    just before the loop blocks for I/O."""

    def __init__(self, Loop loop not None):
        self._init(loop, uv.UV_PREPARE, _error.PrepareError)

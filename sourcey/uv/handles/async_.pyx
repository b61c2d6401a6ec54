# Async: wakes the loop from any thread. send() is the one call allowed off the loop's
# thread; it and close() both run under the GIL, so a send never races a close.
#
# An Async is active from birth, so it does not hold itself alive while active (that
# would make it immortal): whoever calls send() holds a reference anyway.


cdef void _async_fire(uv.uv_async_t* handle) noexcept:
    _enter(handle.loop)
    cdef Async self
    if handle.data == NULL:
        return
    self = <Async>handle.data
    if self._callback is None:
        return
    try:
        self._callback(self)
    except BaseException as exc:
        self.loop._handle_exception(exc)


cdef class Async(Handle):
    """``Async(loop, callback)``: ``send()`` from any thread makes the loop call
    ``callback(handle)``. Sends before the callback runs coalesce into one call."""

    def __init__(self, Loop loop not None, callback=None):
        cdef int err
        if callback is not None:
            _check_callable(callback, "callback")
        self._alloc(loop, uv.UV_ASYNC, _error.AsyncError)
        err = uv.uv_async_init(loop.uvloop, <uv.uv_async_t*>self._handle, _async_fire)
        if err < 0:
            self._free()
            self._raise(err)
        self._callback = callback

    cdef void _on_closed(self) noexcept:
        self._callback = None

    def send(self):
        """Wake the loop; safe from any thread."""
        if self._handle == NULL or uv.uv_is_closing(self._handle):
            raise _error.HandleClosedError(uv.UV_EBADF, "Async is closed")
        self._check(uv.uv_async_send(<uv.uv_async_t*>self._handle))

    cdef int _send_nogil(self) noexcept nogil:
        if self._handle == NULL or uv.uv_is_closing(self._handle):
            return uv.UV_EBADF
        return uv.uv_async_send(<uv.uv_async_t*>self._handle)

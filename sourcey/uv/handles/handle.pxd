cdef class Handle:
    cdef uv.uv_handle_t* _handle
    cdef readonly Loop loop
    cdef object _close_cb
    cdef object _error_cls        # the pyuv exception class for this handle type
    cdef bint _held               # we own a reference to self: libuv may still call back
    cdef int _pins                # queued writes sending this handle (IPC)
    cdef uv.uv_handle_t* _zombie  # closed, but pinned: freed at the last _unpin
    cdef dict __dict__
    cdef object __weakref__

    cdef int _alloc(self, Loop loop, uv.uv_handle_type kind, object error_cls) except -1
    cdef void _free(self) noexcept
    cdef void _unpin(self) noexcept
    cdef int _ensure_open(self) except -1
    cdef int _raise(self, int err) except -1
    cdef int _check(self, int err) except -1
    cdef void _hold(self) noexcept
    cdef void _release(self) noexcept
    cdef void _sync_ref(self) noexcept
    cdef void _on_closed(self) noexcept

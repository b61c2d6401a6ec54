# Idle, Prepare and Check share their shape: start(callback), stop(), callback(handle).
cdef class _Watcher(Handle):
    cdef object _callback

    cdef int _init(self, Loop loop, uv.uv_handle_type kind, object error_cls) except -1

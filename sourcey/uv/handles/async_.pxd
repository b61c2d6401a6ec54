cdef class Async(Handle):
    cdef object _callback

    # send() for C callers (sourcey.stream's queue): no Python objects, no exception,
    # the GIL may be released. Returns 0 or a libuv error (UV_EBADF once closing). The
    # caller must keep close() from racing it: hold the GIL, or close only after the
    # last sender stopped.
    cdef int _send_nogil(self) noexcept nogil

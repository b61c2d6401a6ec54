cdef class Stream(Handle):
    cdef object _read_cb
    cdef object _listen_cb
    cdef object _queued_cb        # for writes queued without a callback (layers above)

    # The read path: called with the loop's read buffer for every read (nread > 0) and
    # for EOF/errors (nread < 0). The default makes bytes and calls the read callback;
    # C consumers (HTTP parser, WebSocket framing) override it and parse in place.
    cdef void _on_read(self, const char* data, ssize_t nread) noexcept
    # tried: the caller already tried the write (_write_now); queue what is left.
    cdef int _write(self, object data, object callback, Handle send_handle,
                    bint tried=*) except -1
    cdef size_t _queued(self) noexcept
    cdef Py_ssize_t _try_write_ptr(self, const char* data, size_t length) noexcept
    cdef object _write_now(self, bytes data)
    # The echo case without raising: bytes written at once (0: take the general path).
    cdef Py_ssize_t _try_bytes(self, bytes data) noexcept
    cdef int _accept(self, Handle client) except -1

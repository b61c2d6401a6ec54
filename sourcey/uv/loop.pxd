# The part of a Loop that C callbacks read without the GIL: uv_loop_t.data points here.
ctypedef struct LoopData:
    PyObject* owner           # the Loop object (borrowed: the Loop owns the uv_loop_t)
    char* read_buf            # one stream read buffer per loop
    size_t read_buf_len
    char* udp_buf             # one datagram buffer per loop, large enough for recvmmsg
    size_t udp_buf_len
    PyThreadState* saved      # set while the loop thread has released the GIL


cdef class Loop:
    cdef uv.uv_loop_t* uvloop
    cdef LoopData data
    cdef bint _is_default
    cdef bint _running
    cdef pthread_t _thread        # the thread running the loop (valid while _running)
    cdef object _spare            # a bytes object the read path may refill (sy_bytes.h)
    cdef object _stop_exc         # KeyboardInterrupt or SystemExit to re-raise from run()
    cdef uv.uv_poll_t* _wakeup    # watches Python's signal wakeup fd while running
    cdef uv.uv_prepare_t* _unlock  # releases the GIL just before the loop polls
    cdef uv.uv_async_t* _reaper   # closes handles collected on another thread
    cdef list _orphans            # their uv handles (as addresses), for _reaper
    cdef int _wakeup_fds[2]
    cdef dict __dict__
    cdef object __weakref__

    cdef int _check_thread(self) except -1
    cdef double _now(self) noexcept           # uv_now: the loop's cached time in ms
    cdef void _handle_exception(self, BaseException exc) noexcept
    cdef void _report_raised(self) noexcept    # the exception set: to _handle_exception
    cdef int _ensure_udp_buf(self) except -1
    cdef int _install_wakeup(self) except -1
    # The read path's bytes: a new object, or the spare one refilled (sy_bytes.h).
    cdef object _take_bytes(self, const char* data, ssize_t n)
    cdef void _give_back(self, object chunk) noexcept

# Loop: one uv_loop_t, run on one thread at a time (DESIGN.md §3).

cdef enum:
    READ_BUF_LEN = 65536
    UDP_DGRAM_MAX = 65536
    UDP_MMSG_WIDTH = 20     # libuv reads at most this many datagrams per recvmmsg

cdef bint _making_default = False
cdef Loop _default = None


# The GIL, held lazily (DESIGN.md §3): run() calls uv_run holding it; the last prepare
# callback of each iteration releases it just before libuv blocks in epoll_wait, and the
# first callback that needs Python after the poll takes it back (_enter). A busy
# iteration with many events then costs one GIL round trip, not one per callback.
# Every libuv callback that touches Python calls _enter first.

cdef inline void _enter(uv.uv_loop_t* loop) noexcept nogil:
    cdef LoopData* data = <LoopData*>loop.data
    cdef PyThreadState* state = data.saved
    if state != NULL:
        data.saved = NULL
        PyEval_RestoreThread(state)


cdef inline object _loop_take_bytes(Loop loop, const char* data, ssize_t n):
    # Loop._take_bytes, inline for the read paths in this module.
    chunk = loop._spare
    loop._spare = None
    if sy_bytes_refill(<PyObject*>chunk, data, n) < 0:
        chunk = PyBytes_FromStringAndSize(data, n)
    return chunk


cdef inline object _loop_refill(Loop loop, const char* data, ssize_t n):
    # The spare bytes object refilled with data, or None (no new object: cannot raise).
    # Checked before any other reference to it is taken: the refill needs it unique.
    if sy_bytes_refill(<PyObject*>loop._spare, data, n) < 0:
        return None
    chunk = loop._spare
    loop._spare = None
    return chunk


cdef inline void _loop_vcall(Loop loop, object callback, PyObject** args,
                             Py_ssize_t n) noexcept:
    # A read path's callback: no try block, a vectorcall (args[-1] is scratch), an
    # exception reported after it, through the loop's excepthook.
    cdef PyObject* result = sy_vcall(<PyObject*>callback, args, n)
    if result == NULL:
        loop._report_raised()
    else:
        Py_DECREF(<object>result)


cdef void _unlock_gil(uv.uv_prepare_t* handle) noexcept nogil:
    cdef LoopData* data = <LoopData*>handle.loop.data
    if data.saved == NULL:
        data.saved = PyEval_SaveThread()


cdef void _on_wakeup(uv.uv_poll_t* handle, int status, int events) noexcept:
    _enter(handle.loop)
    # Python's C signal handler wrote to the wakeup fd: drain it and run the Python-level
    # handlers, so Ctrl-C stops a loop that is blocked in epoll_wait.
    cdef Loop loop = <Loop>(<LoopData*>handle.loop.data).owner
    cdef char buf[64]
    while os_read(loop._wakeup_fds[0], buf, sizeof(buf)) > 0:
        pass
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        loop._handle_exception(exc)


cdef void _free_closed(uv.uv_handle_t* handle) noexcept nogil:
    PyMem_RawFree(handle)


cdef void _reap(uv.uv_async_t* handle) noexcept:
    # Handles whose Python object was collected on another thread while the loop ran:
    # close them here, on the loop's thread.
    _enter(handle.loop)
    cdef Loop loop = <Loop>(<LoopData*>handle.loop.data).owner
    cdef uv.uv_handle_t* h
    orphans, loop._orphans = loop._orphans, []
    for addr in orphans:
        h = <uv.uv_handle_t*><size_t>addr
        if not uv.uv_is_closing(h):
            uv.uv_close(h, _free_orphan)


cdef extern from * nogil:
    """
    /* Pool threads must not enter a finalized interpreter (DESIGN.md §3). */
    static int sy_finalizing = 0;
    static int sy_entering = 0;
    static int sy_work_enter(void) {
        __atomic_add_fetch(&sy_entering, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&sy_finalizing, __ATOMIC_SEQ_CST) || !Py_IsInitialized()) {
            __atomic_sub_fetch(&sy_entering, 1, __ATOMIC_SEQ_CST);
            return 0;
        }
        return 1;
    }
    static void sy_work_entered(void) {
        __atomic_sub_fetch(&sy_entering, 1, __ATOMIC_SEQ_CST);
    }
    static void sy_mark_finalizing(void) {
        __atomic_store_n(&sy_finalizing, 1, __ATOMIC_SEQ_CST);
    }
    static int sy_entering_now(void) {
        return __atomic_load_n(&sy_entering, __ATOMIC_SEQ_CST);
    }
    """
    int sy_work_enter()
    void sy_work_entered()
    void sy_mark_finalizing()
    int sy_entering_now()
    int usleep(unsigned int)


def _at_exit():
    # Runs before the interpreter is torn down: from now on pool threads skip Python.
    # Wait (briefly) for the ones between the check and taking the GIL.
    cdef int _tick
    sy_mark_finalizing()
    with nogil:
        for _tick in range(10000):
            if sy_entering_now() == 0:
                break
            usleep(100)


import atexit as _atexit
_atexit.register(_at_exit)


cdef void _close_any(uv.uv_handle_t* handle, void* arg) noexcept nogil:
    # Loop teardown: any handle still open has no Python object left to call back.
    if not uv.uv_is_closing(handle):
        handle.data = NULL
        uv.uv_close(handle, _free_orphan)     # user handles only: counted


cdef void _collect_handle(uv.uv_handle_t* handle, void* arg) noexcept with gil:
    if handle.data != NULL:
        (<list>arg).append(<object>handle.data)


@cython.final
cdef class WorkRequest:
    """A function queued on libuv's thread pool by ``Loop.queue_work``."""
    cdef uv.uv_work_t* _req
    cdef Loop _loop
    cdef object _work_cb
    cdef object _done_cb
    cdef object _exc

    def cancel(self):
        """Cancel the request if it has not started yet; True if it was cancelled."""
        if self._req == NULL:
            return False
        return uv.uv_cancel(<uv.uv_req_t*>self._req) == 0

    @property
    def active(self):
        return self._req != NULL


cdef void _work_run(uv.uv_work_t* req) noexcept nogil:
    if sy_work_enter():
        _work_call(req)


cdef void _work_call(uv.uv_work_t* req) noexcept with gil:
    sy_work_entered()
    cdef WorkRequest wr = <WorkRequest>req.data
    try:
        wr._work_cb()
    except BaseException as exc:
        wr._exc = exc


cdef void _work_done(uv.uv_work_t* req, int status) noexcept:
    _enter(req.loop)
    cdef WorkRequest wr = <WorkRequest>req.data
    cdef Loop loop = wr._loop
    wr._req = NULL
    PyMem_RawFree(req)
    SY_REQ_FREE(uv.UV_WORK)
    done_cb, exc = wr._done_cb, wr._exc
    wr._done_cb = wr._work_cb = wr._exc = None
    Py_DECREF(wr)
    if exc is not None:
        loop._handle_exception(exc)
    if done_cb is not None:
        try:
            done_cb(None if status == 0 else status)
        except BaseException as exc:
            loop._handle_exception(exc)


cdef class Loop:
    """An event loop. ``Loop()`` makes a new one, ``Loop.default_loop()`` the shared one.

    A loop runs on one thread at a time: while it runs, only that thread may use it and
    its handles (``Async.send`` excepted). When it is not running, any thread may set it
    up or run it.
    """

    def __cinit__(self, *args, **kwargs):
        cdef int err
        self._wakeup_fds[0] = self._wakeup_fds[1] = -1
        if _making_default:
            self.uvloop = uv.uv_default_loop()
            if self.uvloop == NULL:
                raise MemoryError("uv_default_loop failed")
            self._is_default = True
        else:
            self.uvloop = <uv.uv_loop_t*>PyMem_RawMalloc(uv.uv_loop_size())
            if self.uvloop == NULL:
                raise MemoryError()
            err = uv.uv_loop_init(self.uvloop)
            if err < 0:
                PyMem_RawFree(self.uvloop)
                self.uvloop = NULL
                raise _make_error(_error.LoopError, err)
        self.data.owner = <PyObject*>self
        self.data.read_buf = <char*>PyMem_RawMalloc(READ_BUF_LEN)
        if self.data.read_buf == NULL:
            raise MemoryError()
        self.data.read_buf_len = READ_BUF_LEN
        self.uvloop.data = &self.data
        # Started first and never restarted, so it runs after every user Prepare
        # (libuv runs the newest prepare handles first).
        self._unlock = <uv.uv_prepare_t*>PyMem_RawMalloc(uv.uv_handle_size(uv.UV_PREPARE))
        if self._unlock == NULL:
            raise MemoryError()
        uv.uv_prepare_init(self.uvloop, self._unlock)
        self._unlock.data = NULL
        uv.uv_prepare_start(self._unlock, _unlock_gil)
        uv.uv_unref(<uv.uv_handle_t*>self._unlock)
        self._orphans = []
        self._reaper = <uv.uv_async_t*>PyMem_RawMalloc(uv.uv_handle_size(uv.UV_ASYNC))
        if self._reaper == NULL:
            raise MemoryError()
        uv.uv_async_init(self.uvloop, self._reaper, _reap)
        self._reaper.data = NULL
        uv.uv_unref(<uv.uv_handle_t*>self._reaper)

    def __dealloc__(self):
        cdef int i, _attempt
        if self.uvloop == NULL:
            return
        if self._unlock != NULL:
            uv.uv_close(<uv.uv_handle_t*>self._unlock, _free_closed)
            self._unlock = NULL
        if self._reaper != NULL:
            uv.uv_close(<uv.uv_handle_t*>self._reaper, _free_closed)
            self._reaper = NULL
        if self._wakeup != NULL:
            uv.uv_close(<uv.uv_handle_t*>self._wakeup, _free_closed)
            self._wakeup = NULL
        for i in range(2):
            if self._wakeup_fds[i] >= 0:
                os_close(self._wakeup_fds[i])
        # Handles still open here belong to Python objects that are gone: close them and
        # let libuv finish, then free the loop.
        uv.uv_walk(self.uvloop, _close_any, NULL)
        for _attempt in range(16):
            uv.uv_run(self.uvloop, uv.UV_RUN_NOWAIT)
            if uv.uv_loop_close(self.uvloop) == 0:
                break
        else:
            # Something in libuv is still busy: leak the loop rather than free it under it.
            self.uvloop = NULL
        if self.uvloop != NULL:
            self.uvloop.data = NULL
            if not self._is_default:
                PyMem_RawFree(self.uvloop)
        PyMem_RawFree(self.data.read_buf)
        PyMem_RawFree(self.data.udp_buf)

    @classmethod
    def default_loop(cls):
        """The process-wide default loop (libuv's ``uv_default_loop``)."""
        global _default, _making_default
        if _default is None:
            _making_default = True
            try:
                _default = Loop()
            finally:
                _making_default = False
        return _default

    cdef int _check_thread(self) except -1:
        if self._running and pthread_self() != self._thread:
            raise _error.ThreadError(
                uv.UV_EINVAL, "the loop is running on another thread: only Async.send() "
                              "may be called from a thread other than the loop's")
        return 0

    cdef void _handle_exception(self, BaseException exc) noexcept:
        """Route an exception raised by a callback: stop on KeyboardInterrupt/SystemExit,
        otherwise hand it to excepthook and go on."""
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            if self._stop_exc is None:
                self._stop_exc = exc
            uv.uv_stop(self.uvloop)
            return
        try:
            self.excepthook(type(exc), exc, exc.__traceback__)
        except BaseException as hook_exc:
            if isinstance(hook_exc, (KeyboardInterrupt, SystemExit)):
                if self._stop_exc is None:
                    self._stop_exc = hook_exc
                uv.uv_stop(self.uvloop)
            else:
                _print_unraisable(hook_exc, "in Loop.excepthook")

    cdef void _report_raised(self) noexcept:
        """_handle_exception for the exception a call left set (sy_vcall returned NULL)."""
        try:
            sy_raised()
        except BaseException as exc:
            self._handle_exception(exc)

    def excepthook(self, typ, value, tb):
        """Called with an exception a callback raised; prints it to sys.stderr.

        Assign another three-argument function to ``loop.excepthook`` (or override it in
        a subclass) to handle them otherwise. The loop goes on either way.
        """
        sys.stderr.write("Unhandled exception in callback\n")
        traceback.print_exception(typ, value, tb, file=sys.stderr)

    cdef object _take_bytes(self, const char* data, ssize_t n):
        return _loop_take_bytes(self, data, n)

    cdef void _give_back(self, object chunk) noexcept:
        # Kept as the spare; refilled next time only if nobody else holds it by then.
        self._spare = chunk

    cdef int _ensure_udp_buf(self) except -1:
        if self.data.udp_buf == NULL:
            self.data.udp_buf = <char*>PyMem_RawMalloc(UDP_DGRAM_MAX * UDP_MMSG_WIDTH)
            if self.data.udp_buf == NULL:
                raise MemoryError()
            self.data.udp_buf_len = UDP_DGRAM_MAX * UDP_MMSG_WIDTH
        return 0

    cdef int _install_wakeup(self) except -1:
        # Only the main thread runs Python signal handlers, and only it may set the fd:
        # returns 1 if this run (on the main thread) is to watch the wakeup fd, else 0.
        cdef int err
        if threading.current_thread() is not threading.main_thread():
            return 0
        if self._wakeup == NULL:
            if make_socketpair(self._wakeup_fds) < 0:
                raise OSError(errno_(), "socketpair failed")
            self._wakeup = <uv.uv_poll_t*>PyMem_RawMalloc(uv.uv_handle_size(uv.UV_POLL))
            if self._wakeup == NULL:
                raise MemoryError()
            err = uv.uv_poll_init(self.uvloop, self._wakeup, self._wakeup_fds[0])
            if err < 0:
                PyMem_RawFree(self._wakeup)
                self._wakeup = NULL
                raise _make_error(_error.LoopError, err)
            self._wakeup.data = NULL
            uv.uv_poll_start(self._wakeup, uv.UV_READABLE, _on_wakeup)
            uv.uv_unref(<uv.uv_handle_t*>self._wakeup)
        return 1

    def run(self, int mode=uv.UV_RUN_DEFAULT):
        """Run the loop: ``UV_RUN_DEFAULT`` until no active handles or requests remain,
        ``UV_RUN_ONCE`` one iteration (blocking for I/O), ``UV_RUN_NOWAIT`` one iteration
        without blocking. Returns True if there is more to do.

        KeyboardInterrupt and SystemExit raised in a callback stop the loop and propagate
        from here.
        """
        cdef int r
        if mode not in (uv.UV_RUN_DEFAULT, uv.UV_RUN_ONCE, uv.UV_RUN_NOWAIT):
            raise ValueError(f"invalid run mode: {mode}")
        if self._running:
            raise _error.LoopError(uv.UV_EBUSY, "the loop is already running")
        old_fd = None
        if self._install_wakeup():
            old_fd = _signal.set_wakeup_fd(self._wakeup_fds[1], warn_on_full_buffer=False)
        self._thread = pthread_self()
        self._running = True
        self._stop_exc = None
        try:
            r = uv.uv_run(self.uvloop, <uv.uv_run_mode>mode)
        finally:
            _enter(self.uvloop)
            self._running = False
            if old_fd is not None:
                _signal.set_wakeup_fd(old_fd)
        if self._stop_exc is not None:
            exc, self._stop_exc = self._stop_exc, None
            raise exc
        return r != 0

    def stop(self):
        """Stop the loop at the end of this iteration; ``run()`` then returns."""
        self._check_thread()
        uv.uv_stop(self.uvloop)

    def now(self):
        """The loop's cached time in milliseconds (an int, as pyuv and libuv give it)."""
        return uv.uv_now(self.uvloop)

    cdef double _now(self) noexcept:
        return <double>uv.uv_now(self.uvloop)

    def time(self):
        """The loop's cached time in seconds, as a float."""
        return uv.uv_now(self.uvloop) / 1000.0

    def update_time(self):
        """Refresh the loop's cached time from the clock."""
        self._check_thread()
        uv.uv_update_time(self.uvloop)

    def fileno(self):
        """The file descriptor of the polling backend (epoll)."""
        return uv.uv_backend_fd(self.uvloop)

    def get_timeout(self):
        """The poll timeout in milliseconds: -1 for none, 0 for no blocking."""
        return uv.uv_backend_timeout(self.uvloop)

    @property
    def alive(self):
        """True if the loop has active, referenced handles or requests."""
        return uv.uv_loop_alive(self.uvloop) != 0

    @property
    def running(self):
        """True while ``run()`` is executing."""
        return self._running

    @property
    def handles(self):
        """The handles of this loop that are not closed yet."""
        cdef list out = []
        uv.uv_walk(self.uvloop, _collect_handle, <void*>out)
        return out

    @property
    def default(self):
        return self._is_default

    def fork(self):
        """Reinitialise the loop in a forked child (libuv's ``uv_loop_fork``)."""
        cdef int err
        self._running = False
        err = uv.uv_loop_fork(self.uvloop)
        if err < 0:
            raise _make_error(_error.LoopError, err)

    def queue_work(self, work_callback, done_callback=None):
        """Run ``work_callback()`` on libuv's thread pool, then ``done_callback(error)``
        on this loop's thread; ``error`` is None, or UV_ECANCELED after ``cancel()``.
        An exception in ``work_callback`` goes to ``excepthook`` on the loop's thread.
        """
        cdef WorkRequest wr
        cdef int err
        self._check_thread()
        _check_callable(work_callback, "work_callback")
        if done_callback is not None:
            _check_callable(done_callback, "done_callback")
        wr = WorkRequest.__new__(WorkRequest)
        wr._req = <uv.uv_work_t*>PyMem_RawMalloc(uv.uv_req_size(uv.UV_WORK))
        if wr._req == NULL:
            raise MemoryError()
        wr._loop = self
        wr._work_cb = work_callback
        wr._done_cb = done_callback
        wr._req.data = <void*>wr
        err = uv.uv_queue_work(self.uvloop, wr._req, _work_run, _work_done)
        if err < 0:
            PyMem_RawFree(wr._req)
            wr._req = NULL
            raise _make_error(_error.ThreadPoolError, err)
        SY_REQ_ALLOC(uv.UV_WORK)
        Py_INCREF(wr)
        return wr

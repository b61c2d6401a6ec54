# Handle: the base of every libuv handle type (DESIGN.md §3, lifetime).
#
# The uv_handle_t lives apart from the Python object, in memory that only libuv's close
# callback frees. While libuv may still call back (the handle is active, or closing), the
# object holds a reference to itself, so Python never frees an object libuv points to.


cdef void _free_orphan(uv.uv_handle_t* handle) noexcept nogil:
    SY_HANDLE_FREE(handle.type)
    PyMem_RawFree(handle)


cdef void _on_close(uv.uv_handle_t* handle) noexcept:
    _enter(handle.loop)
    cdef Handle self
    if handle.data == NULL:
        _free_orphan(handle)
        return
    self = <Handle>handle.data
    self._free()
    callback, self._close_cb = self._close_cb, None
    self._on_closed()
    if callback is not None:
        try:
            callback(self)
        except BaseException as exc:
            self.loop._handle_exception(exc)
    self._release()


cdef class Handle:
    """Base class of all handles: ``close``, ``closed``, ``active``, ``ref``, ``loop``.

    Handles accept arbitrary attributes. A handle that is active keeps itself alive; an
    inactive open handle that becomes garbage is closed with a ``ResourceWarning``.
    """

    def __cinit__(self, *args, **kwargs):
        self._error_cls = _error.HandleError

    cdef int _alloc(self, Loop loop, uv.uv_handle_type kind, object error_cls) except -1:
        if self._handle != NULL:
            raise RuntimeError(f"{type(self).__name__} is already initialised")
        if loop is None:
            raise TypeError("loop must be a sourcey.uv.Loop, not None")
        loop._check_thread()
        self._handle = <uv.uv_handle_t*>PyMem_RawMalloc(uv.uv_handle_size(kind))
        if self._handle == NULL:
            raise MemoryError()
        memset(self._handle, 0, uv.uv_handle_size(kind))
        self._handle.type = kind
        self._handle.data = <void*>self
        self.loop = loop
        self._error_cls = error_cls
        SY_HANDLE_ALLOC(kind)
        return 0

    cdef void _free(self) noexcept:
        if self._handle != NULL:
            self._handle.data = NULL
            if self._pins > 0:
                # A queued IPC write still names this handle: libuv reads it when the
                # write goes out (and fails it with EBADF), so keep the memory until then.
                self._zombie = self._handle
            else:
                SY_HANDLE_FREE(self._handle.type)
                PyMem_RawFree(self._handle)
            self._handle = NULL

    cdef void _unpin(self) noexcept:
        self._pins -= 1
        if self._pins == 0 and self._zombie != NULL:
            SY_HANDLE_FREE(self._zombie.type)
            PyMem_RawFree(self._zombie)
            self._zombie = NULL

    cdef int _ensure_open(self) except -1:
        if self._handle == NULL or uv.uv_is_closing(self._handle):
            raise _error.HandleClosedError(uv.UV_EBADF, f"{type(self).__name__} is closed")
        if self.loop._running and pthread_self() != self.loop._thread:
            self.loop._check_thread()
        return 0

    cdef int _raise(self, int err) except -1:
        raise _make_error(self._error_cls, err)

    cdef int _check(self, int err) except -1:
        if err < 0:
            raise _make_error(self._error_cls, err)
        return 0

    cdef void _hold(self) noexcept:
        if not self._held:
            self._held = True
            Py_INCREF(self)

    cdef void _release(self) noexcept:
        if self._held:
            self._held = False
            Py_DECREF(self)

    cdef void _sync_ref(self) noexcept:
        # Hold ourselves while libuv may call back: active (or closing) handles.
        if self._handle != NULL and (uv.uv_is_active(self._handle)
                                     or uv.uv_is_closing(self._handle)):
            self._hold()
        else:
            self._release()

    cdef void _on_closed(self) noexcept:
        # Subclasses drop their callbacks here, breaking cycles once libuv is done.
        pass

    def close(self, callback=None):
        """Close the handle, then call ``callback(handle)``. Closing twice does nothing."""
        if self._handle == NULL or uv.uv_is_closing(self._handle):
            return
        self.loop._check_thread()
        if callback is not None:
            _check_callable(callback, "callback")
        self._close_cb = callback
        self._hold()
        uv.uv_close(self._handle, _on_close)

    def __del__(self):
        if self._handle == NULL or uv.uv_is_closing(self._handle):
            return
        loop = self.loop
        self._handle.data = NULL
        if loop is not None and not (loop._running and pthread_self() != loop._thread):
            uv.uv_close(self._handle, _free_orphan)
        elif loop is not None:
            # Collected on another thread while the loop runs: libuv may not be touched
            # from here, so hand the handle to the loop's thread to close.
            loop._orphans.append(<size_t>self._handle)
            uv.uv_async_send(loop._reaper)
        self._handle = NULL
        if not sys.is_finalizing():
            warnings.warn(f"unclosed {type(self).__name__} handle was garbage collected",
                          ResourceWarning, source=self)

    @property
    def closed(self):
        """True once ``close()`` was called (closing or closed)."""
        return self._handle == NULL or uv.uv_is_closing(self._handle) != 0

    @property
    def active(self):
        """True while the handle is doing something (reading, listening, timing...)."""
        return self._handle != NULL and uv.uv_is_active(self._handle) != 0

    @property
    def ref(self):
        """Whether this handle keeps the loop alive while it is active."""
        return self._handle != NULL and uv.uv_has_ref(self._handle) != 0

    @ref.setter
    def ref(self, value):
        self._ensure_open()
        if value:
            uv.uv_ref(self._handle)
        else:
            uv.uv_unref(self._handle)

    def fileno(self):
        """The handle's file descriptor."""
        cdef uv.uv_os_fd_t fd
        self._ensure_open()
        self._check(uv.uv_fileno(self._handle, &fd))
        return fd

    @property
    def send_buffer_size(self):
        """The socket's SO_SNDBUF (Linux reports twice the value set)."""
        cdef int value = 0
        self._ensure_open()
        self._check(uv.uv_send_buffer_size(self._handle, &value))
        return value

    @send_buffer_size.setter
    def send_buffer_size(self, int value):
        self._ensure_open()
        if value <= 0:
            raise ValueError("send_buffer_size must be positive")
        self._check(uv.uv_send_buffer_size(self._handle, &value))

    @property
    def receive_buffer_size(self):
        """The socket's SO_RCVBUF (Linux reports twice the value set)."""
        cdef int value = 0
        self._ensure_open()
        self._check(uv.uv_recv_buffer_size(self._handle, &value))
        return value

    @receive_buffer_size.setter
    def receive_buffer_size(self, int value):
        self._ensure_open()
        if value <= 0:
            raise ValueError("receive_buffer_size must be positive")
        self._check(uv.uv_recv_buffer_size(self._handle, &value))

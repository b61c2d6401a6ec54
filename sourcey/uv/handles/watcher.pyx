# Idle, Prepare and Check: a callback once per loop iteration, at three points of it.

cdef void _watcher_fire(uv.uv_handle_t* handle) noexcept:
    _enter(handle.loop)
    cdef _Watcher self
    if handle.data == NULL:
        return
    self = <_Watcher>handle.data
    try:
        self._callback(self)
    except BaseException as exc:
        self.loop._handle_exception(exc)
    self._sync_ref()


cdef void _idle_fire(uv.uv_idle_t* handle) noexcept:
    _watcher_fire(<uv.uv_handle_t*>handle)


cdef void _prepare_fire(uv.uv_prepare_t* handle) noexcept:
    _watcher_fire(<uv.uv_handle_t*>handle)


cdef void _check_fire(uv.uv_check_t* handle) noexcept:
    _watcher_fire(<uv.uv_handle_t*>handle)


cdef class _Watcher(Handle):

    cdef int _init(self, Loop loop, uv.uv_handle_type kind, object error_cls) except -1:
        cdef int err
        self._alloc(loop, kind, error_cls)
        if kind == uv.UV_IDLE:
            err = uv.uv_idle_init(loop.uvloop, <uv.uv_idle_t*>self._handle)
        elif kind == uv.UV_PREPARE:
            err = uv.uv_prepare_init(loop.uvloop, <uv.uv_prepare_t*>self._handle)
        else:
            err = uv.uv_check_init(loop.uvloop, <uv.uv_check_t*>self._handle)
        if err < 0:
            self._free()
            self._raise(err)
        return 0

    cdef void _on_closed(self) noexcept:
        self._callback = None

    def start(self, callback):
        """Call ``callback(handle)`` once per loop iteration until ``stop()``."""
        cdef int err
        self._ensure_open()
        _check_callable(callback, "callback")
        self._callback = callback
        kind = self._handle.type
        if kind == uv.UV_IDLE:
            err = uv.uv_idle_start(<uv.uv_idle_t*>self._handle, _idle_fire)
        elif kind == uv.UV_PREPARE:
            err = uv.uv_prepare_start(<uv.uv_prepare_t*>self._handle, _prepare_fire)
        else:
            err = uv.uv_check_start(<uv.uv_check_t*>self._handle, _check_fire)
        self._check(err)
        self._sync_ref()

    def stop(self):
        cdef int err
        self._ensure_open()
        kind = self._handle.type
        if kind == uv.UV_IDLE:
            err = uv.uv_idle_stop(<uv.uv_idle_t*>self._handle)
        elif kind == uv.UV_PREPARE:
            err = uv.uv_prepare_stop(<uv.uv_prepare_t*>self._handle)
        else:
            err = uv.uv_check_stop(<uv.uv_check_t*>self._handle)
        self._check(err)
        self._sync_ref()

# Stream: the read and write paths shared by TCP and Pipe (DESIGN.md §4).
#
# Read: libuv reads into the loop's one read buffer; _on_read turns it into bytes for
# the Python callback, or a C subclass parses it in place.
# Write: a lone bytes object with nothing queued and no callback is tried at once with
# uv_try_write and needs no request at all; anything left is queued with uv_write, its
# buffers held (exported, not copied) until the write callback.

ctypedef struct WriteReq:
    uv.uv_write_t req
    PyObject* handle          # strong: the Stream
    PyObject* callback        # strong or NULL
    PyObject* keep            # strong or NULL: the bytes object being written
    BufferSet* buffers        # exported buffers, or NULL
    PyObject* send_handle     # strong and pinned, or NULL: the handle an IPC write sends


ctypedef struct StreamReq:   # connect and shutdown
    uv.uv_req_t* req
    PyObject* handle
    PyObject* callback


cdef enum:
    MAX_STACK_BUFS = 16


cdef void _stream_alloc(uv.uv_handle_t* handle, size_t suggested, uv.uv_buf_t* buf) noexcept nogil:
    cdef LoopData* data = <LoopData*>handle.loop.data
    buf.base = data.read_buf
    buf.len = data.read_buf_len


cdef void _stream_read(uv.uv_stream_t* stream, ssize_t nread, const uv.uv_buf_t* buf) noexcept:
    _enter(stream.loop)
    cdef Stream self
    if stream.data == NULL or nread == 0:
        return
    self = <Stream>stream.data
    self._on_read(buf.base, nread)
    if nread < 0:
        # libuv stopped reading at EOF or an error. A callback that stopped or closed
        # the stream on data did its own _sync_ref.
        self._sync_ref()


cdef void _write_req_free(WriteReq* w) noexcept:
    if w.send_handle != NULL:
        (<Handle>w.send_handle)._unpin()
        Py_DECREF(<object>w.send_handle)
    Py_XDECREF(w.handle)
    Py_XDECREF(w.callback)
    Py_XDECREF(w.keep)
    _buffers_free(w.buffers)
    PyMem_RawFree(w)


cdef void _stream_written(uv.uv_write_t* req, int status) noexcept:
    _enter(req.handle.loop)
    cdef WriteReq* w = <WriteReq*>req
    cdef Stream self = <Stream>w.handle
    callback = <object>w.callback if w.callback != NULL else None
    _write_req_free(w)
    SY_REQ_FREE(uv.UV_WRITE)
    if callback is not None:
        try:
            callback(self, None if status == 0 else status)
        except BaseException as exc:
            self.loop._handle_exception(exc)
    self._sync_ref()


cdef StreamReq* _stream_req_new(Stream handle, uv.uv_req_type kind, object callback) except NULL:
    cdef StreamReq* r = <StreamReq*>PyMem_RawMalloc(sizeof(StreamReq))
    if r == NULL:
        raise MemoryError()
    r.req = <uv.uv_req_t*>PyMem_RawMalloc(uv.uv_req_size(kind))
    if r.req == NULL:
        PyMem_RawFree(r)
        raise MemoryError()
    r.req.data = r
    r.handle = <PyObject*>handle
    Py_INCREF(handle)
    r.callback = NULL
    if callback is not None:
        r.callback = <PyObject*>callback
        Py_INCREF(callback)
    SY_REQ_ALLOC(kind)
    return r


cdef void _stream_req_done(uv.uv_req_t* req, uv.uv_req_type kind, int status) noexcept:
    cdef StreamReq* r = <StreamReq*>req.data
    cdef Stream self = <Stream>r.handle
    callback = <object>r.callback if r.callback != NULL else None
    Py_DECREF(self)
    Py_XDECREF(r.callback)
    PyMem_RawFree(r.req)
    PyMem_RawFree(r)
    SY_REQ_FREE(kind)
    if callback is not None:
        try:
            callback(self, None if status == 0 else status)
        except BaseException as exc:
            self.loop._handle_exception(exc)
    self._sync_ref()


cdef int _stream_req_started(Stream self, StreamReq* r, uv.uv_req_type kind,
                             int err) except -1:
    """After handing ``r`` to libuv: on failure undo _stream_req_new and raise."""
    if err < 0:
        Py_DECREF(<object>r.handle)
        Py_XDECREF(r.callback)
        PyMem_RawFree(r.req)
        PyMem_RawFree(r)
        SY_REQ_FREE(kind)
        self._raise(err)
    self._sync_ref()
    return 0


cdef void _stream_connected(uv.uv_connect_t* req, int status) noexcept:
    _enter(req.handle.loop)
    _stream_req_done(<uv.uv_req_t*>req, uv.UV_CONNECT, status)


cdef void _stream_shut(uv.uv_shutdown_t* req, int status) noexcept:
    _enter(req.handle.loop)
    _stream_req_done(<uv.uv_req_t*>req, uv.UV_SHUTDOWN, status)


cdef void _stream_connection(uv.uv_stream_t* server, int status) noexcept:
    _enter(server.loop)
    cdef Stream self
    if server.data == NULL:
        return
    self = <Stream>server.data
    callback = self._listen_cb
    if callback is not None:
        try:
            callback(self, None if status == 0 else status)
        except BaseException as exc:
            self.loop._handle_exception(exc)
    self._sync_ref()


cdef inline Py_ssize_t _stream_try_bytes(Stream self, bytes data) noexcept:
    # The echo case, inline and without raising: if the stream is open, on its loop's
    # thread and has nothing queued, write what the kernel takes of ``data`` at once.
    # Returns the bytes written; 0 when not tried or nothing went: the caller then takes
    # the general path, which queues the rest or raises the right error.
    cdef uv.uv_stream_t* stream = <uv.uv_stream_t*>self._handle
    cdef uv.uv_buf_t buf
    cdef int n
    if stream == NULL or stream.write_queue_size != 0 or PyBytes_GET_SIZE(data) == 0:
        return 0
    if self.loop._running and pthread_self() != self.loop._thread:
        return 0
    if uv.uv_is_closing(<uv.uv_handle_t*>stream):
        return 0
    buf.base = PyBytes_AS_STRING(data)
    buf.len = <size_t>PyBytes_GET_SIZE(data)
    n = uv.uv_try_write(stream, &buf, 1)
    return n if n > 0 else 0


cdef class Stream(Handle):
    """Base of TCP and Pipe: reading, writing, shutdown, listen/accept."""

    cdef void _on_closed(self) noexcept:
        self._read_cb = None
        self._listen_cb = None
        self._queued_cb = None

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        cdef PyObject* args[4]
        callback = self._read_cb
        if callback is None:
            return
        if nread > 0:
            # The hot path: no try block, a vectorcall, errors reported after it.
            chunk = _loop_refill(self.loop, data, nread)
            if chunk is None:
                try:
                    chunk = PyBytes_FromStringAndSize(data, nread)
                except BaseException as exc:
                    self.loop._handle_exception(exc)
                    return
            args[0] = NULL
            args[1] = <PyObject*>self
            args[2] = <PyObject*>chunk
            args[3] = <PyObject*>None
            _loop_vcall(self.loop, callback, &args[1], 3)
            self.loop._spare = chunk      # Loop._give_back, inline
            return
        try:
            callback(self, None, <int>nread)
        except BaseException as exc:
            self.loop._handle_exception(exc)

    def listen(self, callback, int backlog=511):
        """Listen for connections; ``callback(handle, error)`` on each, then ``accept``."""
        self._ensure_open()
        _check_callable(callback, "callback")
        self._check(uv.uv_listen(<uv.uv_stream_t*>self._handle, backlog, _stream_connection))
        self._listen_cb = callback
        self._sync_ref()

    def accept(self, Stream client not None):
        """Accept a pending connection into ``client``, a new handle on the same loop."""
        self._accept(client)

    cdef int _accept(self, Handle client) except -1:
        self._ensure_open()
        client._ensure_open()
        if client.loop is not self.loop:
            raise ValueError("client must belong to the same loop")
        return self._check(uv.uv_accept(<uv.uv_stream_t*>self._handle,
                                        <uv.uv_stream_t*>client._handle))

    def start_read(self, callback):
        """Start reading: ``callback(handle, data, error)``; data is None at EOF (error
        UV_EOF) or on an error. Calling it again while reading replaces the callback."""
        cdef int err
        self._ensure_open()
        _check_callable(callback, "callback")
        self._read_cb = callback
        err = uv.uv_read_start(<uv.uv_stream_t*>self._handle, _stream_alloc, _stream_read)
        if err < 0 and err != uv.UV_EALREADY:
            self._read_cb = None
            self._raise(err)
        self._sync_ref()

    def stop_read(self):
        """Stop reading."""
        self._ensure_open()
        self._check(uv.uv_read_stop(<uv.uv_stream_t*>self._handle))
        self._sync_ref()

    def write(self, data, callback=None):
        """Write a bytes-like object or a list of them; ``callback(handle, error)`` when
        done. The buffers are held, not copied, until then."""
        cdef Py_ssize_t n
        if callback is None and type(data) is bytes:
            n = _stream_try_bytes(self, <bytes>data)
            if n > 0 and n == PyBytes_GET_SIZE(data):
                return
            self._ensure_open()
            self._write(memoryview(data)[n:] if n > 0 else data, None, None, True)
        else:
            self._write(data, callback, None)

    cdef Py_ssize_t _try_bytes(self, bytes data) noexcept:
        """The echo case for the layers above: see _stream_try_bytes."""
        return _stream_try_bytes(self, data)

    cdef object _write_now(self, bytes data):
        """The echo case, kept short: write one bytes object at once if nothing is
        queued. Returns None when it all went, else what is left to queue (the bytes, or
        a memoryview of the rest: still no copy). The stream must be open."""
        cdef uv.uv_stream_t* stream = <uv.uv_stream_t*>self._handle
        cdef uv.uv_buf_t buf
        cdef int n
        if stream.write_queue_size == 0 and PyBytes_GET_SIZE(data) > 0:
            buf.base = PyBytes_AS_STRING(data)
            buf.len = <size_t>PyBytes_GET_SIZE(data)
            n = uv.uv_try_write(stream, &buf, 1)
            if n == <int>buf.len:
                return None
            if n > 0:
                return memoryview(data)[n:]
        return data

    cdef int _write(self, object data, object callback, Handle send_handle,
                    bint tried=False) except -1:
        cdef uv.uv_stream_t* stream
        cdef uv.uv_buf_t stack_bufs[MAX_STACK_BUFS]
        cdef uv.uv_buf_t* bufs
        cdef uv.uv_buf_t* heap_bufs = NULL
        cdef unsigned int nbufs
        cdef WriteReq* w
        cdef BufferSet* bs = NULL
        cdef Py_ssize_t size
        cdef int err
        self._ensure_open()
        if callback is not None:
            _check_callable(callback, "callback")
        stream = <uv.uv_stream_t*>self._handle
        nbufs = 1
        bufs = stack_bufs
        if type(data) is bytes:
            bufs[0].base = PyBytes_AS_STRING(data)
            bufs[0].len = <size_t>PyBytes_GET_SIZE(data)
            size = <Py_ssize_t>bufs[0].len
        else:
            bs = _buffers_get(data)
            if bs.n > MAX_STACK_BUFS:
                heap_bufs = <uv.uv_buf_t*>PyMem_RawMalloc(bs.n * sizeof(uv.uv_buf_t))
                if heap_bufs == NULL:
                    _buffers_free(bs)
                    raise MemoryError()
                bufs = heap_bufs
            size = _buffers_fill(bs, bufs)
            nbufs = <unsigned int>bs.n
        try:
            if send_handle is not None and size == 0:
                raise ValueError("a handle is sent with at least one byte of data")
            if (callback is None and send_handle is None and not tried
                    and stream.write_queue_size == 0):
                err = uv.uv_try_write(stream, bufs, nbufs) if size > 0 else 0
                if err == size:
                    return 0
                if err > 0:
                    nbufs = _bufs_advance(&bufs, nbufs, <size_t>err)
            if nbufs == 0:       # an empty list: still report through the callback
                bufs[0].base = NULL
                bufs[0].len = 0
                nbufs = 1
            if callback is None:
                callback = self._queued_cb
            w = <WriteReq*>PyMem_RawMalloc(sizeof(WriteReq))
            if w == NULL:
                raise MemoryError()
            w.req.data = NULL
            w.handle = <PyObject*>self
            Py_INCREF(self)
            w.callback = NULL
            if callback is not None:
                w.callback = <PyObject*>callback
                Py_INCREF(callback)
            w.keep = NULL
            if bs == NULL:
                w.keep = <PyObject*>data
                Py_INCREF(data)
            w.buffers = bs
            w.send_handle = NULL
            if send_handle is not None:
                w.send_handle = <PyObject*>send_handle
                Py_INCREF(send_handle)
                send_handle._pins += 1
            if send_handle is None:
                err = uv.uv_write(&w.req, stream, bufs, nbufs, _stream_written)
            else:
                err = uv.uv_write2(&w.req, stream, bufs, nbufs,
                                   <uv.uv_stream_t*>send_handle._handle, _stream_written)
            if err < 0:
                bs = NULL          # now owned by w
                _write_req_free(w)
                self._raise(err)
            bs = NULL
            SY_REQ_ALLOC(uv.UV_WRITE)
            self._sync_ref()
        finally:
            _buffers_free(bs)
            PyMem_RawFree(heap_bufs)
        return 0

    cdef Py_ssize_t _try_write_ptr(self, const char* data, size_t length) noexcept:
        """For C producers (the HTTP server's response buffer): write what the kernel
        takes now, without a Python object. Returns the bytes written, 0 when the write
        would block or others are queued (the caller queues the rest with _write), or a
        negative libuv error."""
        cdef uv.uv_buf_t buf
        cdef int n
        if self._handle == NULL or length == 0:
            return 0
        if (<uv.uv_stream_t*>self._handle).write_queue_size != 0:
            return 0
        buf.base = <char*>data
        buf.len = length
        n = uv.uv_try_write(<uv.uv_stream_t*>self._handle, &buf, 1)
        if n == uv.UV_EAGAIN:
            return 0
        return n

    cdef size_t _queued(self) noexcept:
        if self._handle == NULL:
            return 0
        return uv.uv_stream_get_write_queue_size(<uv.uv_stream_t*>self._handle)

    def try_write(self, data):
        """Write what can be written now without blocking; returns the bytes written.
        Raises (UV_EAGAIN included) if nothing could be written."""
        cdef uv.uv_buf_t stack_bufs[MAX_STACK_BUFS]
        cdef uv.uv_buf_t* bufs = stack_bufs
        cdef BufferSet* bs
        cdef int err
        self._ensure_open()
        bs = _buffers_get(data)
        try:
            if bs.n == 0:        # libuv asserts nbufs > 0: an empty list writes nothing
                return 0
            if bs.n > MAX_STACK_BUFS:
                bufs = <uv.uv_buf_t*>PyMem_RawMalloc(bs.n * sizeof(uv.uv_buf_t))
                if bufs == NULL:
                    raise MemoryError()
            _buffers_fill(bs, bufs)
            err = uv.uv_try_write(<uv.uv_stream_t*>self._handle, bufs, <unsigned int>bs.n)
        finally:
            if bufs != stack_bufs:
                PyMem_RawFree(bufs)
            _buffers_free(bs)
        if err < 0:
            self._raise(err)
        return err

    def shutdown(self, callback=None):
        """Shut the write side after queued writes; ``callback(handle, error)``."""
        cdef StreamReq* r
        cdef int err
        self._ensure_open()
        if callback is not None:
            _check_callable(callback, "callback")
        r = _stream_req_new(self, uv.UV_SHUTDOWN, callback)
        err = uv.uv_shutdown(<uv.uv_shutdown_t*>r.req, <uv.uv_stream_t*>self._handle, _stream_shut)
        _stream_req_started(self, r, uv.UV_SHUTDOWN, err)

    def set_blocking(self, bint blocking):
        """Make writes blocking (libuv's uv_stream_set_blocking)."""
        self._ensure_open()
        self._check(uv.uv_stream_set_blocking(<uv.uv_stream_t*>self._handle, blocking))

    @property
    def readable(self):
        return self._handle != NULL and uv.uv_is_readable(<uv.uv_stream_t*>self._handle) != 0

    @property
    def writable(self):
        return self._handle != NULL and uv.uv_is_writable(<uv.uv_stream_t*>self._handle) != 0

    @property
    def write_queue_size(self):
        """Bytes queued for writing and not yet handed to the kernel."""
        if self._handle == NULL:
            return 0
        return uv.uv_stream_get_write_queue_size(<uv.uv_stream_t*>self._handle)

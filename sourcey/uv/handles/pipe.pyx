# Pipe: a Unix domain socket (a leading NUL names an abstract socket), optionally IPC.

cdef bytes _pipe_name(object name):
    if isinstance(name, str):
        name = (<str>name).encode("utf-8", "surrogateescape")
    elif not isinstance(name, bytes):
        raise TypeError(f"pipe name must be str or bytes, not {type(name).__name__}")
    if not name:
        raise ValueError("pipe name must not be empty")
    if b"\0" in name[1:]:
        raise ValueError("pipe name must not contain NUL (except a leading one)")
    return name


cdef object _pipe_name_result(char* buf, size_t n):
    return buf[:n].decode("utf-8", "surrogateescape")


cdef class Pipe(Stream):
    """A Unix domain socket: ``Pipe(loop, ipc=False)``. With ``ipc=True`` it can send
    and receive handles (``write(data, callback, send_handle)`` and ``accept``)."""

    def __init__(self, Loop loop not None, bint ipc=False):
        cdef int err
        self._alloc(loop, uv.UV_NAMED_PIPE, _error.PipeError)
        err = uv.uv_pipe_init(loop.uvloop, <uv.uv_pipe_t*>self._handle, ipc)
        if err < 0:
            self._free()
            self._raise(err)
        self._ipc = ipc

    @property
    def ipc(self):
        return self._ipc

    def bind(self, name):
        """Bind to a path (or an abstract name starting with NUL)."""
        cdef bytes b = _pipe_name(name)
        self._ensure_open()
        self._check(uv.uv_pipe_bind2(<uv.uv_pipe_t*>self._handle, b, len(b),
                                     uv.UV_PIPE_NO_TRUNCATE))

    def connect(self, name, callback=None):
        """Connect to a bound pipe; ``callback(handle, error)`` when done."""
        cdef bytes b = _pipe_name(name)
        cdef StreamReq* r
        cdef int err
        self._ensure_open()
        if callback is not None:
            _check_callable(callback, "callback")
        r = _stream_req_new(self, uv.UV_CONNECT, callback)
        err = uv.uv_pipe_connect2(<uv.uv_connect_t*>r.req, <uv.uv_pipe_t*>self._handle,
                                  b, len(b), uv.UV_PIPE_NO_TRUNCATE, _stream_connected)
        _stream_req_started(self, r, uv.UV_CONNECT, err)

    def open(self, int fd):
        """Wrap an existing file descriptor (a pipe or a Unix socket)."""
        self._ensure_open()
        self._check(uv.uv_pipe_open(<uv.uv_pipe_t*>self._handle, fd))

    def pending_instances(self, int count):
        """The number of pending pipe instances (meaningful on Windows only)."""
        self._ensure_open()
        uv.uv_pipe_pending_instances(<uv.uv_pipe_t*>self._handle, count)

    def pending_count(self):
        """How many received handles wait to be accepted."""
        self._ensure_open()
        return uv.uv_pipe_pending_count(<uv.uv_pipe_t*>self._handle)

    def pending_handle_type(self):
        """The type of the next received handle (UV_TCP, UV_UDP, UV_NAMED_PIPE), or
        UV_UNKNOWN_HANDLE if there is none."""
        self._ensure_open()
        return <int>uv.uv_pipe_pending_type(<uv.uv_pipe_t*>self._handle)

    def accept(self, Handle client not None):
        """Accept a connection, or on an IPC pipe a received TCP/UDP/Pipe handle."""
        self._accept(client)

    def write(self, data, callback=None, Handle send_handle=None):
        """Write data; on an IPC pipe, ``send_handle`` (a TCP, UDP or Pipe) travels with it."""
        if send_handle is not None:
            if not self._ipc:
                raise ValueError("send_handle needs a pipe created with ipc=True")
            send_handle._ensure_open()
        self._write(data, callback, send_handle)

    def chmod(self, int flags):
        """Make the bound pipe readable/writable by everyone: UV_READABLE, UV_WRITABLE."""
        self._ensure_open()
        self._check(uv.uv_pipe_chmod(<uv.uv_pipe_t*>self._handle, flags))

    def getsockname(self):
        """The name this pipe is bound to."""
        cdef char buf[512]
        cdef size_t n = sizeof(buf)
        self._ensure_open()
        self._check(uv.uv_pipe_getsockname(<uv.uv_pipe_t*>self._handle, buf, &n))
        return _pipe_name_result(buf, n)

    def getpeername(self):
        """The name of the pipe this one is connected to."""
        cdef char buf[512]
        cdef size_t n = sizeof(buf)
        self._ensure_open()
        self._check(uv.uv_pipe_getpeername(<uv.uv_pipe_t*>self._handle, buf, &n))
        return _pipe_name_result(buf, n)

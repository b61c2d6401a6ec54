# UDP: datagrams, received into the loop's datagram buffer (with recvmmsg if asked).

ctypedef struct SendReq:
    uv.uv_udp_send_t req
    PyObject* handle          # strong: the UDP
    PyObject* callback        # strong or NULL
    PyObject* keep            # strong or NULL: the bytes object sent
    BufferSet* buffers        # exported buffers, or NULL


cdef void _udp_alloc(uv.uv_handle_t* handle, size_t suggested, uv.uv_buf_t* buf) noexcept nogil:
    cdef LoopData* data = <LoopData*>handle.loop.data
    buf.base = data.udp_buf
    buf.len = data.udp_buf_len


cdef void _udp_recv(uv.uv_udp_t* handle, ssize_t nread, const uv.uv_buf_t* buf,
                    const uv.sockaddr* addr, unsigned flags) noexcept:
    _enter(handle.loop)
    cdef UDP self
    # nread == 0 with no address: nothing was read, or (MMSG_FREE) the end of a batch.
    if (handle.data == NULL or (nread == 0 and addr == NULL) or flags & uv.UV_UDP_MMSG_FREE
            or uv.uv_is_closing(<uv.uv_handle_t*>handle)):
        return
    self = <UDP>handle.data
    if (nread >= 0 and addr != NULL and not flags & uv.UV_UDP_PARTIAL
            and self._on_datagram(buf.base, <size_t>nread, addr)):
        return
    callback = self._recv_cb
    if callback is not None:
        if nread >= 0 and (flags & uv.UV_UDP_PARTIAL) == 0:
            _udp_deliver(self, callback, nread, buf, addr)
        else:
            try:
                if nread < 0:
                    callback(self, None, 0, None, <int>nread)
                else:
                    callback(self, _udp_peer(self, addr), uv.UV_UDP_PARTIAL,
                             _loop_take_bytes(self.loop, buf.base, nread), None)
            except BaseException as exc:
                self.loop._handle_exception(exc)
    # _sync_ref, inline for the common case: still receiving and held.
    if not self._held or not uv.uv_is_active(<uv.uv_handle_t*>handle):
        self._sync_ref()


cdef inline void _udp_deliver(UDP self, object callback, ssize_t nread,
                              const uv.uv_buf_t* buf, const uv.sockaddr* addr) noexcept:
    # A whole datagram to the callback: no try block, a vectorcall, errors reported after
    # it. The datagram refills the bytes object of an earlier one nobody kept.
    cdef PyObject* args[6]
    data = _loop_refill(self.loop, buf.base, nread)
    try:
        if data is None:
            data = PyBytes_FromStringAndSize(buf.base, nread)
        peer = _udp_peer(self, addr)
    except BaseException as exc:
        self.loop._handle_exception(exc)
        return
    args[0] = NULL
    args[1] = <PyObject*>self
    args[2] = <PyObject*>peer
    args[3] = <PyObject*>_ZERO
    args[4] = <PyObject*>data
    args[5] = <PyObject*>None
    _loop_vcall(self.loop, callback, &args[1], 5)
    self.loop._spare = data


cdef object _ZERO = 0       # the flags of a whole datagram


cdef inline object _udp_peer(UDP self, const uv.sockaddr* addr):
    # UDP._peer_tuple's hit for IPv4, inline: the same sender as last time.
    cdef const uv.sockaddr_in* a
    cdef const uv.sockaddr_in* last
    if self._peer_obj is not None and addr != NULL and addr.sa_family == uv.AF_INET:
        a = <const uv.sockaddr_in*>addr
        last = <const uv.sockaddr_in*>&self._peer_key
        if (last.sin_family == uv.AF_INET and a.sin_port == last.sin_port
                and a.sin_addr.s_addr == last.sin_addr.s_addr):
            return self._peer_obj
    return self._peer_tuple(addr)


cdef inline bint _udp_try_reply(UDP self, object address, bytes data) noexcept:
    # UDP.send's echo case, inline and without raising: ``address`` is the tuple the last
    # receive handed out, the handle is open, on its loop's thread, with nothing queued.
    # True if the datagram went; False: take the general path (it queues, or raises).
    cdef uv.uv_udp_t* handle = <uv.uv_udp_t*>self._handle
    cdef uv.uv_buf_t buf
    if address is not self._peer_obj or handle == NULL or handle.send_queue_count != 0:
        return False
    if self.loop._running and pthread_self() != self.loop._thread:
        return False
    if uv.uv_is_closing(<uv.uv_handle_t*>handle):
        return False
    buf.base = PyBytes_AS_STRING(data)
    buf.len = <size_t>PyBytes_GET_SIZE(data)
    return uv.uv_udp_try_send(handle, &buf, 1, <uv.sockaddr*>&self._peer_key) >= 0


cdef void _udp_sent(uv.uv_udp_send_t* req, int status) noexcept:
    _enter(req.handle.loop)
    cdef SendReq* s = <SendReq*>req
    cdef UDP self = <UDP>s.handle
    callback = <object>s.callback if s.callback != NULL else None
    Py_DECREF(self)
    Py_XDECREF(s.callback)
    Py_XDECREF(s.keep)
    _buffers_free(s.buffers)
    PyMem_RawFree(s)
    SY_REQ_FREE(uv.UV_UDP_SEND)
    if callback is not None:
        try:
            callback(self, None if status == 0 else status)
        except BaseException as exc:
            self.loop._handle_exception(exc)
    self._sync_ref()


cdef class UDP(Handle):
    """A UDP socket: ``UDP(loop, family=socket.AF_UNSPEC, *, recvmmsg=False)``.

    ``recvmmsg=True`` reads up to 20 waiting datagrams per system call: fewer calls under
    a sustained flood, but every datagram of a batch waits for the whole batch to be read,
    which costs latency (and, for a few datagrams in flight, throughput) otherwise.
    """

    def __init__(self, Loop loop not None, int family=uv.AF_UNSPEC, *, bint recvmmsg=False):
        cdef int err
        _check_family(family)
        self._alloc(loop, uv.UV_UDP, _error.UDPError)
        err = uv.uv_udp_init_ex(loop.uvloop, <uv.uv_udp_t*>self._handle,
                                <unsigned int>family | (uv.UV_UDP_RECVMMSG if recvmmsg else 0))
        if err < 0:
            self._free()
            self._raise(err)
        self._family = family

    cdef void _on_closed(self) noexcept:
        self._recv_cb = None
        self._peer_obj = None

    cdef bint _on_datagram(self, const char* data, size_t nread,
                           const uv.sockaddr* addr) noexcept:
        """The C receive hook (see udp.pxd): by default every datagram goes to the
        receive callback."""
        return False

    cdef int _try_send_c(self, const uv.uv_buf_t* bufs, unsigned int nbufs,
                         const uv.sockaddr* addr) noexcept:
        """uv_udp_try_send from C (see udp.pxd); a send queue in use counts as busy,
        so datagrams are not reordered past it."""
        if self._handle == NULL or uv.uv_is_closing(<uv.uv_handle_t*>self._handle):
            return uv.UV_EBADF
        if (<uv.uv_udp_t*>self._handle).send_queue_count != 0:
            return uv.UV_EAGAIN
        return uv.uv_udp_try_send(<uv.uv_udp_t*>self._handle, bufs, nbufs, addr)

    cdef object _peer_tuple(self, const uv.sockaddr* addr):
        # Echo-style traffic comes from the same few peers: reuse the last tuple.
        cdef Py_ssize_t n = _sockaddr_len(addr)
        if n == 0:
            return None
        if self._peer_obj is not None and memcmp(&self._peer_key, addr, n) == 0:
            return self._peer_obj
        memset(&self._peer_key, 0, sizeof(self._peer_key))
        memcpy(&self._peer_key, addr, n)
        self._peer_obj = _sockaddr_to(addr)
        return self._peer_obj

    cdef uv.sockaddr* _sockaddr(self, object address, uv.sockaddr_storage* ss) except? NULL:
        # Replying to the tuple a receive just handed out needs no parsing.
        if address is None:
            return NULL
        if address is self._peer_obj:
            return <uv.sockaddr*>&self._peer_key
        _sockaddr_from(address, ss)
        return <uv.sockaddr*>ss

    @property
    def family(self):
        cdef uv.sockaddr_storage ss
        cdef int n = sizeof(ss)
        if self._family == uv.AF_UNSPEC and self._handle != NULL:
            if uv.uv_udp_getsockname(<uv.uv_udp_t*>self._handle, <uv.sockaddr*>&ss, &n) == 0:
                return ss.ss_family
        return self._family

    def bind(self, address, unsigned int flags=0):
        """Bind to ``(ip, port)``; flags: UV_UDP_REUSEADDR, UV_UDP_REUSEPORT,
        UV_UDP_IPV6ONLY."""
        cdef uv.sockaddr_storage ss
        self._ensure_open()
        _sockaddr_from(address, &ss)
        if flags & ~(<unsigned int>(uv.UV_UDP_REUSEADDR | uv.UV_UDP_IPV6ONLY
                                    | uv.UV_UDP_REUSEPORT)):
            raise ValueError(f"invalid UDP bind flags: {flags:#x}")
        self._check(uv.uv_udp_bind(<uv.uv_udp_t*>self._handle, <uv.sockaddr*>&ss, flags))

    def connect(self, address):
        """Fix the peer: later sends may pass ``None`` as the address. ``None`` here
        disconnects."""
        cdef uv.sockaddr_storage ss
        cdef int err
        self._ensure_open()
        if address is None:
            err = uv.uv_udp_connect(<uv.uv_udp_t*>self._handle, NULL)
        else:
            _sockaddr_from(address, &ss)
            err = uv.uv_udp_connect(<uv.uv_udp_t*>self._handle, <uv.sockaddr*>&ss)
        if err < 0:
            self._raise(err)

    def open(self, int fd):
        """Wrap an existing UDP socket file descriptor."""
        self._ensure_open()
        self._check(uv.uv_udp_open(<uv.uv_udp_t*>self._handle, fd))

    def getsockname(self):
        """The local address, as a tuple."""
        return _socket_name(self, False)

    def getpeername(self):
        """The peer's address, as a tuple."""
        return _socket_name(self, True)

    def start_recv(self, callback):
        """Receive: ``callback(handle, (ip, port), flags, data, error)``."""
        cdef int err
        self._ensure_open()
        _check_callable(callback, "callback")
        self.loop._ensure_udp_buf()
        self._recv_cb = callback
        err = uv.uv_udp_recv_start(<uv.uv_udp_t*>self._handle, _udp_alloc, _udp_recv)
        if err < 0 and err != uv.UV_EALREADY:
            self._recv_cb = None
            self._raise(err)
        self._sync_ref()

    def stop_recv(self):
        self._ensure_open()
        self._check(uv.uv_udp_recv_stop(<uv.uv_udp_t*>self._handle))
        self._sync_ref()

    def send(self, address, data, callback=None):
        """Send a datagram (a bytes-like object or a list of them, gathered) to
        ``address``; ``callback(handle, error)`` when sent. Without a callback the send
        is tried at once and queued only if the socket would block."""
        cdef uv.sockaddr_storage ss
        cdef uv.sockaddr* addr = NULL
        cdef uv.uv_buf_t stack_bufs[MAX_STACK_BUFS]
        cdef uv.uv_buf_t* bufs = stack_bufs
        cdef unsigned int nbufs = 1
        cdef BufferSet* bs = NULL
        cdef SendReq* s
        cdef int err
        if callback is None and type(data) is bytes and address is not None:
            # The echo case: a reply to the last sender, sent at once.
            if _udp_try_reply(self, address, <bytes>data):
                return
        self._ensure_open()
        addr = self._sockaddr(address, &ss)
        if callback is not None:
            _check_callable(callback, "callback")
        if type(data) is bytes:
            bufs[0].base = PyBytes_AS_STRING(data)
            bufs[0].len = <size_t>PyBytes_GET_SIZE(data)
        else:
            bs = _buffers_get(data)
            if bs.n > MAX_STACK_BUFS or bs.n == 0:
                _buffers_free(bs)
                raise ValueError(f"a datagram takes 1 to {MAX_STACK_BUFS} buffers")
            _buffers_fill(bs, bufs)
            nbufs = <unsigned int>bs.n
        try:
            if callback is None and (<uv.uv_udp_t*>self._handle).send_queue_count == 0:
                err = uv.uv_udp_try_send(<uv.uv_udp_t*>self._handle, bufs, nbufs, addr)
                if err >= 0:
                    return
                if err != uv.UV_EAGAIN:
                    self._raise(err)
            s = <SendReq*>PyMem_RawMalloc(sizeof(SendReq))
            if s == NULL:
                raise MemoryError()
            s.handle = <PyObject*>self
            Py_INCREF(self)
            s.callback = NULL
            if callback is not None:
                s.callback = <PyObject*>callback
                Py_INCREF(callback)
            s.keep = NULL
            if bs == NULL:
                s.keep = <PyObject*>data
                Py_INCREF(data)
            s.buffers = bs
            bs = NULL
            err = uv.uv_udp_send(&s.req, <uv.uv_udp_t*>self._handle, bufs, nbufs, addr, _udp_sent)
            if err < 0:
                Py_DECREF(self)
                Py_XDECREF(s.callback)
                Py_XDECREF(s.keep)
                _buffers_free(s.buffers)
                PyMem_RawFree(s)
                self._raise(err)
            SY_REQ_ALLOC(uv.UV_UDP_SEND)
            self._sync_ref()
        finally:
            _buffers_free(bs)

    def try_send(self, address, data):
        """Send a datagram now or raise (UV_EAGAIN if the socket would block)."""
        cdef uv.sockaddr_storage ss
        cdef uv.sockaddr* addr = NULL
        cdef uv.uv_buf_t stack_bufs[MAX_STACK_BUFS]
        cdef BufferSet* bs
        cdef int err
        self._ensure_open()
        addr = self._sockaddr(address, &ss)
        if type(data) is bytes:
            stack_bufs[0].base = PyBytes_AS_STRING(data)
            stack_bufs[0].len = <size_t>PyBytes_GET_SIZE(data)
            err = uv.uv_udp_try_send(<uv.uv_udp_t*>self._handle, stack_bufs, 1, addr)
        else:
            bs = _buffers_get(data)
            try:
                if bs.n > MAX_STACK_BUFS or bs.n == 0:
                    raise ValueError(f"a datagram takes 1 to {MAX_STACK_BUFS} buffers")
                _buffers_fill(bs, stack_bufs)
                err = uv.uv_udp_try_send(<uv.uv_udp_t*>self._handle, stack_bufs,
                                         <unsigned int>bs.n, addr)
            finally:
                _buffers_free(bs)
        if err < 0:
            self._raise(err)
        return err

    def set_membership(self, str multicast_address not None, int membership,
                       str interface=None):
        """Join (UV_JOIN_GROUP) or leave (UV_LEAVE_GROUP) a multicast group."""
        self._ensure_open()
        if membership not in (uv.UV_JOIN_GROUP, uv.UV_LEAVE_GROUP):
            raise ValueError("membership must be UV_JOIN_GROUP or UV_LEAVE_GROUP")
        mcast = _ip_literal(multicast_address)
        iface = _ip_literal(interface) if interface is not None else None
        self._check(uv.uv_udp_set_membership(<uv.uv_udp_t*>self._handle, mcast,
                                             <char*>iface if iface is not None else NULL,
                                             <uv.uv_membership>membership))

    def set_multicast_ttl(self, int ttl):
        _check_range(ttl, 0, 255, "ttl")
        self._ensure_open()
        self._check(uv.uv_udp_set_multicast_ttl(<uv.uv_udp_t*>self._handle, ttl))

    def set_multicast_loop(self, bint enable):
        self._ensure_open()
        self._check(uv.uv_udp_set_multicast_loop(<uv.uv_udp_t*>self._handle, enable))

    def set_broadcast(self, bint enable):
        self._ensure_open()
        self._check(uv.uv_udp_set_broadcast(<uv.uv_udp_t*>self._handle, enable))

    def set_ttl(self, int ttl):
        _check_range(ttl, 1, 255, "ttl")
        self._ensure_open()
        self._check(uv.uv_udp_set_ttl(<uv.uv_udp_t*>self._handle, ttl))

    def set_multicast_interface(self, str interface=None):
        """The interface multicast goes out of (None: the system's choice)."""
        iface = _ip_literal(interface) if interface is not None else None
        self._ensure_open()
        self._check(uv.uv_udp_set_multicast_interface(
            <uv.uv_udp_t*>self._handle, <char*>iface if iface is not None else NULL))

    @property
    def send_queue_size(self):
        """Bytes waiting in the send queue."""
        if self._handle == NULL:
            return 0
        return uv.uv_udp_get_send_queue_size(<uv.uv_udp_t*>self._handle)

    @property
    def send_queue_count(self):
        """Datagrams waiting in the send queue."""
        if self._handle == NULL:
            return 0
        return uv.uv_udp_get_send_queue_count(<uv.uv_udp_t*>self._handle)

    @property
    def using_recvmmsg(self):
        return self._handle != NULL and uv.uv_udp_using_recvmmsg(<uv.uv_udp_t*>self._handle) != 0

# Name resolution on libuv's thread pool: getaddrinfo and getnameinfo, asynchronous with
# a callback, or synchronous (blocking, with the GIL released) without one.

AddrinfoResult = collections.namedtuple(
    "AddrinfoResult", "family socktype proto canonname sockaddr")
NameinfoResult = collections.namedtuple("NameinfoResult", "host service")


cdef class DNSRequest:
    """A pending getaddrinfo/getnameinfo; ``cancel()`` stops it if it has not started."""
    cdef uv.uv_req_t* _req
    cdef Loop _loop
    cdef object _callback
    cdef uv.uv_req_type _kind

    def cancel(self):
        if self._req == NULL:
            return False
        return uv.uv_cancel(self._req) == 0

    @property
    def active(self):
        return self._req != NULL


cdef DNSRequest _dns_request(Loop loop, uv.uv_req_type kind, object callback):
    cdef DNSRequest r = DNSRequest.__new__(DNSRequest)
    r._req = <uv.uv_req_t*>PyMem_RawMalloc(uv.uv_req_size(kind))
    if r._req == NULL:
        raise MemoryError()
    r._req.data = <void*>r
    r._loop = loop
    r._callback = callback
    r._kind = kind
    return r


cdef object _dns_finish(uv.uv_req_t* req):
    """Free a finished request; returns its DNSRequest (the caller's reference)."""
    cdef DNSRequest r = <DNSRequest>req.data
    PyMem_RawFree(req)
    r._req = NULL
    SY_REQ_FREE(r._kind)
    Py_DECREF(r)
    return r


cdef list _addrinfo_list(const uv.addrinfo* ai):
    cdef list out = []
    while ai != NULL:
        addr = _sockaddr_to(ai.ai_addr)
        if addr is not None:
            canon = ai.ai_canonname.decode("utf-8", "replace") if ai.ai_canonname != NULL else ""
            out.append(AddrinfoResult(ai.ai_family, ai.ai_socktype, ai.ai_protocol, canon, addr))
        ai = ai.ai_next
    return out


cdef void _gai_done(uv.uv_getaddrinfo_t* req, int status, uv.addrinfo* res) noexcept:
    _enter(req.loop)
    cdef DNSRequest r = _dns_finish(<uv.uv_req_t*>req)
    result = None
    try:
        if status == 0:
            result = _addrinfo_list(res)
    finally:
        uv.uv_freeaddrinfo(res)
    try:
        r._callback(result, None if status == 0 else status)
    except BaseException as exc:
        r._loop._handle_exception(exc)
    r._callback = None


cdef void _gni_done(uv.uv_getnameinfo_t* req, int status, const char* host,
                    const char* service) noexcept:
    _enter(req.loop)
    cdef DNSRequest r = _dns_finish(<uv.uv_req_t*>req)
    result = None
    if status == 0:
        result = NameinfoResult(host.decode("utf-8", "replace"), service.decode("utf-8", "replace"))
    try:
        r._callback(result, None if status == 0 else status)
    except BaseException as exc:
        r._loop._handle_exception(exc)
    r._callback = None


def getaddrinfo(Loop loop not None, host, port=None, int family=0, int socktype=0,
                int protocol=0, int flags=0, callback=None):
    """Resolve ``host`` and ``port`` (an int, a service name, or None) like
    ``socket.getaddrinfo``. With ``callback(result, error)`` it returns a DNSRequest;
    without, it blocks (GIL released) and returns the list, or raises DNSError."""
    cdef uv.addrinfo hints
    cdef DNSRequest r
    cdef const char* c_host = NULL
    cdef const char* c_port = NULL
    cdef uv.uv_getaddrinfo_t sync_req
    cdef int err
    loop._check_thread()
    if host is not None:
        if isinstance(host, str):
            host = (<str>host).encode("idna")
        if not isinstance(host, bytes) or b"\0" in host:
            raise TypeError("host must be a str or bytes without NUL, or None")
        c_host = host
    if port is not None:
        if isinstance(port, int) and not isinstance(port, bool):
            _check_range(port, 0, 65535, "port")
            port = str(port).encode("ascii")
        elif isinstance(port, str):
            port = (<str>port).encode("ascii")
        if not isinstance(port, bytes) or b"\0" in port:
            raise TypeError("port must be an int, a service name, or None")
        c_port = port
    if c_host == NULL and c_port == NULL:
        raise ValueError("host and port cannot both be None")
    memset(&hints, 0, sizeof(hints))
    hints.ai_family = family
    hints.ai_socktype = socktype
    hints.ai_protocol = protocol
    hints.ai_flags = flags
    if callback is None:
        with nogil:
            err = uv.uv_getaddrinfo(loop.uvloop, &sync_req, NULL, c_host, c_port, &hints)
        if err < 0:
            raise _make_error(_error.DNSError, err)
        try:
            return _addrinfo_list(sync_req.addrinfo)
        finally:
            uv.uv_freeaddrinfo(sync_req.addrinfo)
    _check_callable(callback, "callback")
    r = _dns_request(loop, uv.UV_GETADDRINFO, callback)
    err = uv.uv_getaddrinfo(loop.uvloop, <uv.uv_getaddrinfo_t*>r._req, _gai_done,
                            c_host, c_port, &hints)
    if err < 0:
        PyMem_RawFree(r._req)
        r._req = NULL
        raise _make_error(_error.DNSError, err)
    SY_REQ_ALLOC(uv.UV_GETADDRINFO)
    Py_INCREF(r)
    return r


def getnameinfo(Loop loop not None, address, int flags=0, callback=None):
    """Look up ``address`` (an (ip, port) tuple) like ``socket.getnameinfo``; returns
    or passes ``(host, service)``."""
    cdef uv.sockaddr_storage ss
    cdef DNSRequest r
    cdef uv.uv_getnameinfo_t* req
    cdef int err
    loop._check_thread()
    _sockaddr_from(address, &ss)
    if callback is None:
        req = <uv.uv_getnameinfo_t*>PyMem_RawMalloc(uv.uv_req_size(uv.UV_GETNAMEINFO))
        if req == NULL:
            raise MemoryError()
        try:
            with nogil:
                err = uv.uv_getnameinfo(loop.uvloop, req, NULL, <uv.sockaddr*>&ss, flags)
            if err < 0:
                raise _make_error(_error.DNSError, err)
            return NameinfoResult(req.host.decode("utf-8", "replace"),
                                  req.service.decode("utf-8", "replace"))
        finally:
            PyMem_RawFree(req)
    _check_callable(callback, "callback")
    r = _dns_request(loop, uv.UV_GETNAMEINFO, callback)
    err = uv.uv_getnameinfo(loop.uvloop, <uv.uv_getnameinfo_t*>r._req, _gni_done,
                            <uv.sockaddr*>&ss, flags)
    if err < 0:
        PyMem_RawFree(r._req)
        r._req = NULL
        raise _make_error(_error.DNSError, err)
    SY_REQ_ALLOC(uv.UV_GETNAMEINFO)
    Py_INCREF(r)
    return r

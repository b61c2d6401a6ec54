# Socket addresses: pyuv's tuples, (ip, port) for IPv4 and (ip, port[, flowinfo,
# scope_id]) for IPv6, to and from sockaddr. Hosts are IP literals; names go through dns.

cdef int _sockaddr_from(object address, uv.sockaddr_storage* out) except -1:
    cdef int err
    cdef long port
    cdef uv.sockaddr_in6* sin6
    if not isinstance(address, tuple) or not 2 <= len(address) <= 4:
        raise TypeError("address must be a tuple (ip, port[, flowinfo, scope_id]), "
                        f"not {address!r}")
    host, port_obj = address[0], address[1]
    if not isinstance(host, str):
        raise TypeError(f"address ip must be a str, not {type(host).__name__}")
    if not isinstance(port_obj, int) or isinstance(port_obj, bool):
        raise TypeError(f"address port must be an int, not {type(port_obj).__name__}")
    if not 0 <= port_obj <= 65535:
        raise ValueError(f"port must be 0-65535, not {port_obj}")
    port = port_obj
    if not host:
        host = "0.0.0.0"
    host_b = _ip_literal(host)
    memset(out, 0, sizeof(uv.sockaddr_storage))
    if len(address) == 2 and uv.uv_ip4_addr(host_b, <int>port, <uv.sockaddr_in*>out) == 0:
        return 0
    err = uv.uv_ip6_addr(host_b, <int>port, <uv.sockaddr_in6*>out)
    if err < 0:
        raise ValueError(f"invalid IP address: {host!r}")
    sin6 = <uv.sockaddr_in6*>out
    if len(address) > 2:
        _check_range(address[2], 0, 0xFFFFF, "flowinfo")
        sin6.sin6_flowinfo = htonl(<unsigned int>address[2])
    if len(address) > 3:
        _check_range(address[3], 0, 0xFFFFFFFF, "scope_id")
        sin6.sin6_scope_id = <unsigned int>address[3]
    return 0


cdef bytes _ip_literal(str ip):
    if "\0" in ip or not ip.isascii():
        raise ValueError(f"invalid IP address: {ip!r}")
    return ip.encode("ascii")


cdef object _sockaddr_to(const uv.sockaddr* addr):
    cdef char ip[64]
    cdef const uv.sockaddr_in6* sin6
    if addr == NULL:
        return None
    if addr.sa_family == uv.AF_INET:
        uv.uv_ip4_name(<const uv.sockaddr_in*>addr, ip, sizeof(ip))
        return (ip.decode("ascii"), uv.ntohs((<const uv.sockaddr_in*>addr).sin_port))
    if addr.sa_family == uv.AF_INET6:
        sin6 = <const uv.sockaddr_in6*>addr
        uv.uv_ip6_name(sin6, ip, sizeof(ip))
        return (ip.decode("ascii"), uv.ntohs(sin6.sin6_port), ntohl(sin6.sin6_flowinfo),
                sin6.sin6_scope_id)
    return None


cdef object _socket_name(Handle handle, bint peer):
    """getsockname/getpeername of a TCP or UDP handle, as a tuple."""
    cdef uv.sockaddr_storage ss
    cdef int n = sizeof(ss)
    cdef int err
    handle._ensure_open()
    if handle._handle.type == uv.UV_TCP:
        if peer:
            err = uv.uv_tcp_getpeername(<uv.uv_tcp_t*>handle._handle, <uv.sockaddr*>&ss, &n)
        else:
            err = uv.uv_tcp_getsockname(<uv.uv_tcp_t*>handle._handle, <uv.sockaddr*>&ss, &n)
    elif peer:
        err = uv.uv_udp_getpeername(<uv.uv_udp_t*>handle._handle, <uv.sockaddr*>&ss, &n)
    else:
        err = uv.uv_udp_getsockname(<uv.uv_udp_t*>handle._handle, <uv.sockaddr*>&ss, &n)
    handle._check(err)
    return _sockaddr_to(<uv.sockaddr*>&ss)


cdef Py_ssize_t _sockaddr_len(const uv.sockaddr* addr) noexcept nogil:
    if addr.sa_family == uv.AF_INET:
        return sizeof(uv.sockaddr_in)
    if addr.sa_family == uv.AF_INET6:
        return sizeof(uv.sockaddr_in6)
    return 0

cdef class UDP(Handle):
    cdef object _recv_cb
    cdef int _family
    cdef uv.sockaddr_in6 _peer_key    # the last sender (v4 or v6), for _peer_obj
    cdef object _peer_obj             # its (ip, port) tuple, reused while it repeats

    cdef object _peer_tuple(self, const uv.sockaddr* addr)
    cdef uv.sockaddr* _sockaddr(self, object address, uv.sockaddr_storage* ss) except? NULL

    # The receive path's C hook: called for every datagram (empty ones too; a sender)
    # before the receive callback, with the loop's datagram buffer. True: consumed here,
    # the callback is not called. The default returns False; C consumers (the TURN
    # relay) override it to forward datagrams without a Python call.
    cdef bint _on_datagram(self, const char* data, size_t nread,
                           const uv.sockaddr* addr) noexcept
    # A send from C: uv_udp_try_send of bufs[0..nbufs) to addr (NULL: the connected
    # peer). The bytes sent, or a negative libuv error (UV_EAGAIN: it would block,
    # nothing is queued; the handle is closed: UV_EBADF).
    cdef int _try_send_c(self, const uv.uv_buf_t* bufs, unsigned int nbufs,
                         const uv.sockaddr* addr) noexcept

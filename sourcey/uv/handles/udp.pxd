cdef class UDP(Handle):
    cdef object _recv_cb
    cdef int _family
    cdef uv.sockaddr_in6 _peer_key    # the last sender (v4 or v6), for _peer_obj
    cdef object _peer_obj             # its (ip, port) tuple, reused while it repeats

    cdef object _peer_tuple(self, const uv.sockaddr* addr)
    cdef uv.sockaddr* _sockaddr(self, object address, uv.sockaddr_storage* ss) except? NULL

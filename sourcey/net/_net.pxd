# sourcey.net._net: the sockets, in Cython so the receive path goes from libuv's read
# buffer to the Recv slots without a Python frame in between.

from sourcey.signals cimport Signal
from sourcey.uv._core cimport TCP, UDP, Loop


cdef class Socket:
    cdef readonly Loop loop
    cdef public Signal Connect
    cdef public Signal Recv
    cdef public Signal Error
    cdef public Signal Close
    cdef readonly object error         # the first failure, or None
    cdef int _state
    cdef dict __dict__
    cdef object __weakref__

    cdef int _fail(self, object exc) except -1
    cdef int _closed(self) except -1


cdef class TCPSocket(Socket):
    cdef _TCPStream _tcp
    cdef public Signal AcceptConnection
    cdef public Signal Drain
    cdef object _peer
    cdef object _candidates           # addresses left to try while connecting
    cdef object _timer                # the connect timeout
    cdef object _drain_cb             # bound once: write callback while queueing
    cdef object _closed_cb
    cdef object _raw                  # a layer fed the raw bytes instead of Recv (TLS)
    cdef size_t _high
    cdef size_t _low
    cdef public double close_timeout  # close() waits this long for queued data to go
    cdef bint _above_high
    cdef bint _reading

    cdef int _attach(self, _TCPStream tcp) except -1
    cdef int _adopt(self, _TCPStream tcp, object peer) except -1
    cdef void _on_read(self, const char* data, ssize_t nread) noexcept
    cdef int _start_reading(self) except -1
    cdef int _stop_timer(self) except -1


cdef class _TCPStream(TCP):
    cdef TCPSocket owner


cdef class UDPSocket(Socket):
    cdef UDP _udp
    cdef object _last_tuple
    cdef object _last_peer

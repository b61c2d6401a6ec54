cdef class Poll(Handle):
    cdef object _callback
    cdef int _fd

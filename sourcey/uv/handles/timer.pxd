cdef class Timer(Handle):
    cdef object _callback

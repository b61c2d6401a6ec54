cdef class Async(Handle):
    cdef object _callback

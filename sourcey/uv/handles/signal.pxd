cdef class Signal(Handle):
    cdef object _callback

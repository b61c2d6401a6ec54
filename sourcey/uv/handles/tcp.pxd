cdef class TCP(Stream):
    cdef int _family

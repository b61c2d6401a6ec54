cdef class Pipe(Stream):
    cdef bint _ipc

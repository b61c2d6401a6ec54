cdef class Idle(_Watcher):
    pass

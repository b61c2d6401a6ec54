cdef class Prepare(_Watcher):
    pass

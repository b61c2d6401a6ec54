cdef class Check(_Watcher):
    pass

from sourcey.uv._core cimport Loop


cdef class Signal:
    cdef Loop _loop
    cdef public str name
    cdef tuple _slots
    cdef Py_ssize_t _next_id
    cdef object __weakref__

    # Layers written in Cython emit with a prebuilt args tuple, skipping *args parsing.
    cdef bint _emit(self, tuple args) except -1
    cdef int _report(self, BaseException exc) except -1

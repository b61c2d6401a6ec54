from cpython.object cimport PyObject

from sourcey.uv._core cimport Loop


cdef class Signal:
    cdef Loop _loop
    cdef public str name
    cdef tuple _slots
    cdef Py_ssize_t _next_id
    cdef object __weakref__

    # Layers written in Cython emit with a prebuilt args tuple, skipping *args parsing.
    cdef bint _emit(self, tuple args) except -1
    # The same for three arguments (Recv's), with no tuple: the read path's emit.
    cdef bint _emit3(self, object a, object b, object c) except -1
    # args[0..nargs) with args[-1] writable (PY_VECTORCALL_ARGUMENTS_OFFSET).
    cdef bint _emitv(self, PyObject** args, Py_ssize_t nargs) except -1
    cdef int _report(self, BaseException exc) except -1
    cdef int _report_raised(self) except -1

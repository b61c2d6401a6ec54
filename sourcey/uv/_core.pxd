# Declarations of sourcey.uv._core: the loop and every handle type. The layers above
# cimport this file to extend the handles from C (for example to hand the read buffer
# straight to a protocol parser) without linking libuv themselves.

from cpython.object cimport PyObject
from libc.stdint cimport uint64_t

from sourcey.uv cimport libuv as uv


cdef extern from "Python.h" nogil:
    ctypedef struct PyThreadState:
        pass
    PyThreadState* PyEval_SaveThread()
    void PyEval_RestoreThread(PyThreadState*)


cdef extern from "<pthread.h>" nogil:
    ctypedef unsigned long pthread_t
    pthread_t pthread_self()


include "loop.pxd"
include "handles/handle.pxd"
include "handles/stream.pxd"
include "handles/tcp.pxd"
include "handles/pipe.pxd"
include "handles/udp.pxd"
include "handles/timer.pxd"
include "handles/async_.pxd"
include "handles/watcher.pxd"
include "handles/idle.pxd"
include "handles/prepare.pxd"
include "handles/check.pxd"
include "handles/signal.pxd"
include "handles/poll.pxd"

# cython: language_level=3
# sourcey.uv._core: the whole libuv binding in one extension module, so libuv is linked
# once. Each handle type has its own file under handles/ (included below).

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from libc.string cimport memcmp, memcpy, memset

import collections
import signal as _signal
import sys
import threading
import traceback
import warnings

from sourcey.uv import error as _error


cdef extern from "sy_counters.h" nogil:
    const int sy_counters_enabled
    void SY_HANDLE_ALLOC(int kind)
    void SY_HANDLE_FREE(int kind)
    void SY_REQ_ALLOC(int kind)
    void SY_REQ_FREE(int kind)
    long sy_handle_count(int kind)
    long sy_req_count(int kind)


cdef extern from "sy_bytes.h":
    int sy_bytes_refill(PyObject* b, const char* data, Py_ssize_t n)


cdef extern from "<arpa/inet.h>" nogil:
    unsigned int htonl(unsigned int)
    unsigned int ntohl(unsigned int)


cdef extern from * nogil:
    """
    #include <errno.h>
    #include <sys/socket.h>
    #include <unistd.h>
    static int make_socketpair(int fds[2]) {
        return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds);
    }
    static int errno_(void) { return errno; }
    """
    int make_socketpair(int fds[2])
    int errno_()
    ssize_t os_read "read"(int fd, void* buf, size_t n)
    int os_close "close"(int fd)


cdef extern from *:
    """
    /* A callback from the read paths, by vectorcall; args[-1] is writable scratch
     * (PY_VECTORCALL_ARGUMENTS_OFFSET). A new reference, or NULL with the exception set:
     * the caller reports it with Loop._report_raised. */
    static inline PyObject* sy_vcall(PyObject* fn, PyObject** args, Py_ssize_t n) {
        size_t nargsf = (size_t)n | PY_VECTORCALL_ARGUMENTS_OFFSET;
        vectorcallfunc f = PyVectorcall_Function(fn);
        if (f != NULL)
            return f(fn, args, nargsf, NULL);
        return PyObject_Vectorcall(fn, args, nargsf, NULL);
    }
    /* Hands Cython the exception already set, as a function that failed. */
    static inline int sy_raised(void) { return -1; }
    """
    PyObject* sy_vcall(PyObject* fn, PyObject** args, Py_ssize_t nargs)
    int sy_raised() except -1


include "errors.pyx"
include "address.pyx"
include "buffers.pyx"
include "loop.pyx"
include "handles/handle.pyx"
include "handles/stream.pyx"
include "handles/tcp.pyx"
include "handles/pipe.pyx"
include "handles/udp.pyx"
include "handles/timer.pyx"
include "handles/async_.pyx"
include "handles/watcher.pyx"
include "handles/idle.pyx"
include "handles/prepare.pyx"
include "handles/check.pyx"
include "handles/signal.pyx"
include "handles/poll.pyx"
include "dns.pyx"
include "util.pyx"


LIBUV_VERSION = uv.uv_version_string().decode("ascii")
DEBUG = bool(sy_counters_enabled)

UV_RUN_DEFAULT = uv.UV_RUN_DEFAULT
UV_RUN_ONCE = uv.UV_RUN_ONCE
UV_RUN_NOWAIT = uv.UV_RUN_NOWAIT

UV_UNKNOWN_HANDLE = uv.UV_UNKNOWN_HANDLE
UV_ASYNC = uv.UV_ASYNC
UV_CHECK = uv.UV_CHECK
UV_FS_EVENT = uv.UV_FS_EVENT
UV_FS_POLL = uv.UV_FS_POLL
UV_HANDLE = uv.UV_HANDLE
UV_IDLE = uv.UV_IDLE
UV_NAMED_PIPE = uv.UV_NAMED_PIPE
UV_POLL = uv.UV_POLL
UV_PREPARE = uv.UV_PREPARE
UV_PROCESS = uv.UV_PROCESS
UV_STREAM = uv.UV_STREAM
UV_TCP = uv.UV_TCP
UV_TIMER = uv.UV_TIMER
UV_TTY = uv.UV_TTY
UV_UDP = uv.UV_UDP
UV_SIGNAL = uv.UV_SIGNAL
UV_FILE = uv.UV_FILE

UV_TCP_IPV6ONLY = uv.UV_TCP_IPV6ONLY
UV_TCP_REUSEPORT = uv.UV_TCP_REUSEPORT

UV_UDP_IPV6ONLY = uv.UV_UDP_IPV6ONLY
UV_UDP_PARTIAL = uv.UV_UDP_PARTIAL
UV_UDP_REUSEADDR = uv.UV_UDP_REUSEADDR
UV_UDP_REUSEPORT = uv.UV_UDP_REUSEPORT
UV_JOIN_GROUP = uv.UV_JOIN_GROUP
UV_LEAVE_GROUP = uv.UV_LEAVE_GROUP

UV_READABLE = uv.UV_READABLE
UV_WRITABLE = uv.UV_WRITABLE
UV_DISCONNECT = uv.UV_DISCONNECT
UV_PRIORITIZED = uv.UV_PRIORITIZED

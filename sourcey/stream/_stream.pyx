# cython: language_level=3
# sourcey.stream._stream: Packet, the adapters, the queues and PacketStream (one file
# each, included here so they share one module and call each other from C).

cimport cython
from cpython.buffer cimport PyObject_CheckBuffer
from cpython.mem cimport PyMem_RawCalloc, PyMem_RawFree
from cpython.ref cimport Py_DECREF, Py_INCREF

from sourcey.uv._core cimport pthread_self

import threading

from sourcey.stream.errors import QueueFullError, StreamClosedError, StreamError, StreamStateError
from sourcey.stream.state import State

include "packet.pyx"
include "adapters.pyx"
include "queues.pyx"
include "stream.pyx"

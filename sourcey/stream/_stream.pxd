# sourcey.stream._stream: PacketStream, its adapters and its queues (DESIGN.md §4-5).
# The hot path (write -> processors -> queue -> emitter) stays in C and Cython.

from libc.stdint cimport uint64_t

from sourcey.signals cimport Signal
from sourcey.uv._core cimport Async, Loop


cdef extern from "packet_queue.h" nogil:
    ctypedef struct sy_pq_stats:
        uint64_t enqueued
        uint64_t delivered
        uint64_t dropped
        uint64_t rejected
        uint64_t blocked_waits
        size_t high_water
        size_t depth

    ctypedef struct sy_pq:
        pass

    enum:
        SY_PQ_BLOCK
        SY_PQ_DROP_OLDEST
        SY_PQ_ERROR
        SY_PQ_OK
        SY_PQ_WAKE
        SY_PQ_FULL
        SY_PQ_CLOSED
        SY_PQ_BUSY
        SY_PQ_WOULD_BLOCK
        SY_PQ_TRYLOCK
        SY_PQ_NOWAIT
        SY_PQ_WAIT
        SY_PQ_REFUSE

    int sy_pq_init(sy_pq* q, void** slots, size_t capacity, int policy)
    void sy_pq_destroy(sy_pq* q)
    int sy_pq_push(sy_pq* q, void* item, void** evicted, int flags)
    long sy_pq_pop(sy_pq* q, void** out, size_t max, int flags)
    void sy_pq_close(sy_pq* q)
    int sy_pq_is_closed(sy_pq* q)
    void sy_pq_get_stats(sy_pq* q, sy_pq_stats* out)
    uint64_t sy_pq_now_ns()


cdef class Packet:
    cdef public object data
    cdef public object info
    cdef public object opaque
    cdef public int flags


cdef class PacketAdapter:
    cdef PacketStream _stream
    cdef object __weakref__


cdef class PacketSource(PacketAdapter):
    pass


cdef class PacketProcessor(PacketAdapter):
    cdef Py_ssize_t _index           # this processor's place in the frozen chain
    cdef int _order
    cdef bint _filters               # accepts() is overridden: call it
    cdef bint _is_queue              # a queue: NO_MODIFY packets still pass through it

    cpdef accepts(self, packet)
    cpdef process(self, packet)
    cdef int _forward(self, Packet packet) except -1


cdef class PacketQueue(PacketProcessor):
    cdef sy_pq _q
    cdef void** _slots
    cdef bint _ready                 # _q initialised (and so destroyed at dealloc)
    cdef readonly str policy
    cdef readonly Py_ssize_t capacity
    cdef uint64_t _discarded         # released unsent at close or after the stream stopped

    cdef int _push(self, Packet packet) except -1
    cdef int _wake(self) except -1
    cdef bint _would_deadlock(self)
    cdef int _shut(self) except -1
    cdef int _state_changed(self, int state) except -1
    cdef int _deliver(self, void** items, long n) except -1
    cdef int _discard_queued(self) except -1


cdef class SyncPacketQueue(PacketQueue):
    cdef readonly Loop loop
    cdef Async _async
    cdef uint64_t _budget_ns
    cdef uint64_t _rearms
    cdef uint64_t _drains

    cdef int _drain(self) except -1
    cdef int _close_handle(self) except -1


cdef class AsyncPacketQueue(PacketQueue):
    cdef object _thread
    cdef object _ident


cdef class PacketStream:
    cdef readonly str name
    cdef int _state
    cdef public bint close_on_error
    cdef Signal _emitter
    cdef Signal _Error
    cdef Signal _Close
    cdef Signal _StateChange
    cdef tuple _chain                # processors in order, the output queue last
    cdef list _procs                 # attached processors, in attach order
    cdef SyncPacketQueue _output     # synchronize_output's queue, or None
    cdef list _sources               # (adapter or signal, owned, sync_state, slot id)
    cdef readonly object error       # the first fault, or None
    cdef uint64_t _written
    cdef uint64_t _emitted
    cdef uint64_t _paused_drops
    cdef uint64_t _discarded
    cdef uint64_t _faults
    cdef object __weakref__

    cdef int _run(self, Py_ssize_t start, Packet packet) except -1
    cdef int _sink(self, Packet packet) except -1
    cdef int _fault(self, object exc) except -1
    cdef int _set_state(self, int state) except -1
    cdef int _check_mutable(self) except -1
    cdef int _rebuild(self) except -1
    cdef int _report(self, object exc) except -1

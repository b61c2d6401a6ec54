# The queues: a processor whose downstream runs on another thread. SyncPacketQueue
# delivers on a loop's thread (woken by an Async), AsyncPacketQueue on a worker thread
# (woken by the queue's condition variable). The queue itself is C (packet_queue.c).

cdef enum:
    BATCH = 256          # packets moved per pop: one lock round trip per batch

_POLICIES = {"block": SY_PQ_BLOCK, "drop_oldest": SY_PQ_DROP_OLDEST, "error": SY_PQ_ERROR}


cdef inline bint _deliverable(PacketStream stream):
    return stream is not None and (stream._state == ACTIVE or stream._state == PAUSED
                                   or stream._state == STOPPING)


cdef class PacketQueue(PacketProcessor):
    """A bounded queue in the chain: ``process`` retains the packet and queues it; the
    stages after the queue run on its consumer's thread. ``capacity`` packets at most;
    when full, ``policy`` decides: ``"block"`` waits for room, ``"drop_oldest"`` evicts
    the oldest packet, ``"error"`` raises QueueFullError in the writer. Every outcome is
    counted in ``stats``. Packets still queued when the stream stops or closes are
    released and counted as ``discarded``."""

    def __cinit__(self, *args, Py_ssize_t capacity=16384, str policy="block", **kwargs):
        cdef int err
        self._is_queue = True
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {', '.join(_POLICIES)}, not {policy!r}")
        self.capacity = capacity
        self.policy = policy
        self._slots = <void**>PyMem_RawCalloc(<size_t>capacity, sizeof(void*))
        if self._slots == NULL:
            raise MemoryError()
        err = sy_pq_init(&self._q, self._slots, <size_t>capacity, _POLICIES[policy])
        if err != 0:
            raise OSError(err, "cannot create the packet queue's lock")
        self._ready = True

    def __dealloc__(self):
        cdef void* items[BATCH]
        cdef long n, k
        if self._ready:
            # Nobody else can hold a reference now: release what is left.
            while True:
                n = sy_pq_pop(&self._q, items, BATCH, 0)
                if n <= 0:
                    break
                for k in range(n):
                    Py_DECREF(<object>items[k])
            sy_pq_destroy(&self._q)
        PyMem_RawFree(self._slots)

    cpdef process(self, packet):
        self._push(<Packet?>packet)

    cdef int _push(self, Packet packet) except -1:
        cdef void* evicted = NULL
        cdef void* item = <void*>packet
        cdef int rc
        if type(packet.data) is not bytes:
            packet.retain()
        Py_INCREF(packet)  # the queue's reference, handed to the consumer by pop
        rc = sy_pq_push(&self._q, item, &evicted, SY_PQ_TRYLOCK | SY_PQ_NOWAIT)
        if rc == SY_PQ_WOULD_BLOCK and self._would_deadlock():
            rc = sy_pq_push(&self._q, item, &evicted, SY_PQ_REFUSE)
        elif rc == SY_PQ_BUSY or rc == SY_PQ_WOULD_BLOCK:
            with nogil:
                rc = sy_pq_push(&self._q, item, &evicted, 0)
        if evicted != NULL:
            Py_DECREF(<object>evicted)
        if rc == SY_PQ_WAKE:
            self._wake()
        if rc >= 0:
            return 0
        Py_DECREF(packet)
        if rc == SY_PQ_FULL:
            raise QueueFullError(f"the queue is full ({self.capacity} packets)")
        raise StreamClosedError("the queue is closed")

    cdef bint _would_deadlock(self):
        return False

    cdef int _wake(self) except -1:
        return 0

    cdef int _shut(self) except -1:
        sy_pq_close(&self._q)
        return 0

    cdef int _state_changed(self, int state) except -1:
        return 0

    cdef int _deliver(self, void** items, long n) except -1:
        # Each item carries the queue's reference: every one is released, delivered or
        # not; the first exception a stage let through is raised after the batch.
        cdef long k
        cdef object packet
        cdef object first = None
        for k in range(n):
            packet = <object>items[k]
            Py_DECREF(packet)
            items[k] = NULL
            if not _deliverable(self._stream):
                self._discarded += 1
                continue
            try:
                self._forward(<Packet>packet)
            except StreamError:
                pass  # a queue further down refused it, and counted it
            except BaseException as exc:
                if first is None:
                    first = exc
        if first is not None:
            raise first
        return 0

    cdef int _discard_queued(self) except -1:
        cdef void* items[BATCH]
        cdef long n, k
        while True:
            n = sy_pq_pop(&self._q, items, BATCH, 0)
            if n <= 0:
                return 0
            for k in range(n):
                Py_DECREF(<object>items[k])
            self._discarded += <uint64_t>n

    def close(self):
        """Refuse new packets and release the queued ones (called by the stream's
        ``close``)."""
        self._shut()
        self._discard_queued()

    @property
    def closed(self):
        return sy_pq_is_closed(&self._q) != 0

    @property
    def stats(self):
        """The counters: ``enqueued``, ``delivered``, ``dropped`` (drop_oldest),
        ``rejected`` (error policy), ``blocked_waits``, ``discarded`` (released unsent
        at stop or close), ``high_water`` and ``depth`` (packets queued now)."""
        cdef sy_pq_stats s
        sy_pq_get_stats(&self._q, &s)
        return {
            "enqueued": s.enqueued, "delivered": s.delivered, "dropped": s.dropped,
            "rejected": s.rejected, "blocked_waits": s.blocked_waits,
            "discarded": self._discarded, "high_water": s.high_water, "depth": s.depth,
        }


cdef class SyncPacketQueue(PacketQueue):
    """``SyncPacketQueue(loop, capacity=16384, policy="block", budget=0.005)``: the
    stages after it run on ``loop``'s thread. The loop drains the queue in batches for
    at most ``budget`` seconds per wake-up; when the budget runs out with packets left,
    the queue wakes the loop again (counted in ``rearms``), so it never stalls and other
    callbacks get their turn. A writer on the loop's own thread never blocks on a full
    queue (that would deadlock): it gets QueueFullError."""

    def __init__(self, Loop loop not None, *, Py_ssize_t capacity=16384, str policy="block",
                 double budget=0.005):
        if budget <= 0:
            raise ValueError(f"budget must be positive, not {budget}")
        self.loop = loop
        self._budget_ns = <uint64_t>(budget * 1e9)
        self._async = Async(loop, self._on_wake)

    def _on_wake(self, handle):
        self._drain()

    cdef int _drain(self) except -1:
        cdef void* items[BATCH]
        cdef long n
        cdef sy_pq_stats s
        cdef uint64_t deadline = sy_pq_now_ns() + self._budget_ns
        self._drains += 1
        try:
            while True:
                n = sy_pq_pop(&self._q, items, BATCH, 0)
                if n <= 0:
                    break
                self._deliver(items, n)
                if sy_pq_now_ns() >= deadline:
                    sy_pq_get_stats(&self._q, &s)
                    if s.depth > 0:
                        # pop left the wake-up pending: producers will not send one.
                        self._rearms += 1
                        self._async._send_nogil()
                    break
        finally:
            if sy_pq_is_closed(&self._q):
                self._discard_queued()
                self._close_handle()
        return 0

    cdef bint _would_deadlock(self):
        return self.loop._running and pthread_self() == self.loop._thread

    cdef int _wake(self) except -1:
        self._async._send_nogil()
        return 0

    cdef int _close_handle(self) except -1:
        if self._async.closed:
            return 0
        if self.loop._running and pthread_self() != self.loop._thread:
            # Only the loop's thread may close its handle: the drain does it.
            self._async._send_nogil()
        else:
            self._async.close()
        return 0

    def close(self):
        PacketQueue.close(self)
        self._close_handle()

    @property
    def budget(self):
        """Seconds a drain may run before it yields to the loop and re-arms."""
        return self._budget_ns / 1e9

    @property
    def stats(self):
        """PacketQueue.stats, plus ``drains`` (wake-ups served) and ``rearms`` (drains
        that ran out of budget and woke the loop again)."""
        d = PacketQueue.stats.__get__(self)
        d["drains"] = self._drains
        d["rearms"] = self._rearms
        return d


cdef class AsyncPacketQueue(PacketQueue):
    """``AsyncPacketQueue(capacity=16384, policy="block")``: the stages after it run on
    a worker thread of its own, which sleeps on the queue's condition variable (no
    polling). The worker starts with the stream and ends when the stream closes (so
    close the stream: an open one keeps its worker waiting)."""

    def __init__(self, *, Py_ssize_t capacity=16384, str policy="block"):
        # capacity and policy were taken by PacketQueue.__cinit__.
        self._thread = None

    cdef int _state_changed(self, int state) except -1:
        if state == ACTIVE and self._thread is None and not sy_pq_is_closed(&self._q):
            self._thread = threading.Thread(target=self._work, daemon=True,
                                            name=f"AsyncPacketQueue-{id(self):x}")
            self._thread.start()
        return 0

    def _work(self):
        cdef void* items[BATCH]
        cdef long n
        self._ident = threading.get_ident()
        while True:
            with nogil:
                n = sy_pq_pop(&self._q, items, BATCH, SY_PQ_WAIT)
            if n <= 0:
                return  # closed and empty
            try:
                self._deliver(items, n)
            except BaseException as exc:
                if self._stream is not None:
                    self._stream._report(exc)

    def close(self):
        PacketQueue.close(self)
        thread = self._thread
        if thread is not None and threading.get_ident() != self._ident:
            thread.join()
        self._thread = None

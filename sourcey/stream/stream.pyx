# PacketStream: sources -> ordered processors -> emitter (DESIGN.md §5).

cdef enum:
    NONE = 0
    LOCKED = 1
    ACTIVE = 2
    PAUSED = 3
    STOPPING = 4
    STOPPED = 5
    CLOSED = 6
    ERROR = 7


cdef inline bint _is_packet_like(object value):
    return type(value) is Packet or type(value) is bytes or PyObject_CheckBuffer(value)


cdef class PacketStream:
    """``PacketStream(name="", loop=None)``: packets written from any thread go through
    the processors, in order, to the ``emitter`` signal (its slots get the Packet).

        stream = PacketStream("video")
        stream.attach(Encoder(), order=1)          # runs on the writer's thread
        stream.synchronize_output(loop)            # the emitter fires on loop's thread
        stream.emitter += lambda packet: broadcast(packet.data)
        stream.start()
        stream.write(frame)                        # from any thread

    States (``State``): ``NONE`` -> ``LOCKED`` -> ``ACTIVE`` <-> ``PAUSED`` ->
    ``STOPPING`` -> ``STOPPED`` (startable again), and ``CLOSED`` for good. A processor
    that raises puts the stream into ``ERROR``: the ``Error`` signal fires with
    ``(stream, exc)`` (on the thread where it raised) and, with ``close_on_error`` (the
    default), the stream closes.
    Every change reaches each adapter's ``on_stream_state_change`` hook, then the
    ``StateChange`` signal ``(stream, state, old_state)``. ``Close`` fires with
    ``(stream,)``. The topology (sources, processors, output) is frozen from ``LOCKED``
    to ``STOPPING``: changing it then raises StreamStateError.

    ``loop`` is where exceptions from the signals' slots go (its excepthook); without
    one, ``synchronize_output``'s loop is taken.
    """

    def __cinit__(self, *args, **kwargs):
        # Here, not in __init__: a subclass that skips __init__ still gets a sound stream.
        self.name = ""
        self.close_on_error = True
        self._emitter = Signal(None, "emitter")
        self._Error = Signal(None, "Error")
        self._Close = Signal(None, "Close")
        self._StateChange = Signal(None, "StateChange")
        self._chain = ()
        self._procs = []
        self._sources = []

    def __init__(self, str name="", Loop loop=None):
        self.name = name
        for sig in (self._emitter, self._Error, self._Close, self._StateChange):
            (<Signal>sig)._loop = loop

    @property
    def emitter(self):
        """The sink: its slots get each Packet that passed the whole chain."""
        return self._emitter

    @emitter.setter
    def emitter(self, value):
        # Only for ``stream.emitter += slot``, which assigns the same Signal back.
        self._emitter = _same_signal(self._emitter, value)

    @property
    def Error(self):
        """Fires with ``(stream, exc)`` when a processor raises."""
        return self._Error

    @Error.setter
    def Error(self, value):
        # Only for ``stream.Error += slot``, which assigns the same Signal back.
        self._Error = _same_signal(self._Error, value)

    @property
    def Close(self):
        """Fires with ``(stream,)`` once, when the stream closes."""
        return self._Close

    @Close.setter
    def Close(self, value):
        # Only for ``stream.Close += slot``, which assigns the same Signal back.
        self._Close = _same_signal(self._Close, value)

    @property
    def StateChange(self):
        """Fires with ``(stream, state, old_state)`` on every change."""
        return self._StateChange

    @StateChange.setter
    def StateChange(self, value):
        # Only for ``stream.StateChange += slot``, which assigns the same Signal back.
        self._StateChange = _same_signal(self._StateChange, value)

    # -- topology

    cdef int _check_mutable(self) except -1:
        if self._state == CLOSED:
            raise StreamClosedError(f"{self!r} is closed")
        if LOCKED <= self._state <= STOPPING:
            raise StreamStateError(
                f"the topology of {self!r} is frozen while it is {State(self._state).name}"
                f": stop it first")
        return 0

    cdef int _rebuild(self) except -1:
        cdef PacketProcessor proc
        cdef Py_ssize_t i
        chain = sorted(self._procs, key=_order_of)
        if self._output is not None:
            chain.append(self._output)
        for i, proc in enumerate(chain):
            proc._index = i
            proc._filters = getattr(type(proc), "accepts") is not _BASE_ACCEPTS
        self._chain = tuple(chain)
        return 0

    def attach(self, PacketProcessor processor not None, int order=0):
        """Add ``processor`` at ``order`` (lowest runs first; equal orders run in attach
        order)."""
        self._check_mutable()
        if processor._stream is not None:
            raise ValueError(f"{processor!r} is already attached to {processor._stream!r}")
        processor._stream = self
        processor._order = order
        self._procs.append(processor)
        self._rebuild()

    def detach(self, PacketProcessor processor not None):
        """Remove ``processor``; returns True if it was attached here."""
        self._check_mutable()
        if processor not in self._procs:
            return False
        self._procs.remove(processor)
        processor._stream = None
        processor._index = -1
        self._rebuild()
        return True

    def attach_source(self, source, bint owned=True, bint sync_state=False):
        """Feed the stream from ``source``: a PacketSource (its ``emit`` writes here) or
        a Signal (each emit writes its first Packet or bytes-like argument). An owned
        source is ``close()``d with the stream; with ``sync_state`` its ``start()`` and
        ``stop()`` follow the stream's."""
        self._check_mutable()
        if isinstance(source, PacketSource):
            if (<PacketSource>source)._stream is not None:
                raise ValueError(f"{source!r} is already attached to a stream")
            (<PacketSource>source)._stream = self
            self._sources.append((source, owned, sync_state, None))
        elif isinstance(source, Signal):
            slot = (<Signal>source).attach(self._on_signal)
            self._sources.append((source, owned, sync_state, slot))
        else:
            raise TypeError(f"a source is a PacketSource or a Signal, not "
                            f"{type(source).__name__}")

    def detach_source(self, source):
        """Stop taking packets from ``source``; returns True if it was attached here."""
        self._check_mutable()
        for entry in self._sources:
            if entry[0] is source:
                self._sources.remove(entry)
                _release_source(entry, False)
                return True
        return False

    def _on_signal(self, *args):
        for value in args:
            if _is_packet_like(value):
                self.write(value)
                return
        raise TypeError("the source signal emitted no Packet or bytes-like argument")

    def synchronize_output(self, Loop loop not None, *, Py_ssize_t capacity=16384,
                           str policy="block", double budget=0.005):
        """Deliver the output (the emitter, and nothing before it) on ``loop``'s thread
        through a SyncPacketQueue placed after every processor; returns the queue. Call
        it on the loop's thread."""
        self._check_mutable()
        if self._output is not None:
            raise StreamStateError(f"{self!r} is already synchronised to a loop")
        queue = SyncPacketQueue(loop, capacity=capacity, policy=policy, budget=budget)
        queue._stream = self
        self._output = queue
        self._rebuild()
        for sig in (self._emitter, self._Error, self._Close, self._StateChange):
            if (<Signal>sig)._loop is None:
                (<Signal>sig)._loop = loop
        return queue

    @property
    def processors(self):
        """The processors (queues included), in the order packets meet them."""
        return list(self._chain)

    @property
    def sources(self):
        return [entry[0] for entry in self._sources]

    @property
    def output(self):
        """The SyncPacketQueue of ``synchronize_output``, or None."""
        return self._output

    # -- state

    @property
    def state(self):
        return State(self._state)

    @property
    def active(self):
        return self._state == ACTIVE

    @property
    def closed(self):
        return self._state == CLOSED

    cdef int _set_state(self, int state) except -1:
        cdef int old = self._state
        if state == old:
            return 0
        self._state = state
        new_s, old_s = State(state), State(old)
        for entry in list(self._sources):
            if isinstance(entry[0], PacketAdapter):
                self._hook(entry[0], new_s, old_s)
        for proc in self._chain:
            if (<PacketProcessor>proc)._is_queue:
                (<PacketQueue>proc)._state_changed(state)
            self._hook(proc, new_s, old_s)
        self._StateChange._emit((self, new_s, old_s))
        return 0

    def _hook(self, adapter, new_s, old_s):
        try:
            adapter.on_stream_state_change(self, new_s, old_s)
        except Exception as exc:
            self._report(exc)

    cdef int _report(self, object exc) except -1:
        return self._Error._report(exc)

    def _sync_sources(self, str method):
        for entry in list(self._sources):
            if entry[2] and isinstance(entry[0], PacketSource):
                getattr(entry[0], method)()

    def lock(self):
        """Freeze the topology without starting (``NONE``/``STOPPED`` -> ``LOCKED``)."""
        if self._state == LOCKED:
            return
        if self._state != NONE and self._state != STOPPED:
            self._refuse("lock")
        self._set_state(LOCKED)

    def start(self):
        """Start (or restart after ``stop``): ``ACTIVE``, then the ``sync_state``
        sources start. A started stream is left as it is; a paused one resumes."""
        if self._state == ACTIVE:
            return
        if self._state == PAUSED:
            self.resume()
            return
        if self._state not in (NONE, LOCKED, STOPPED):
            self._refuse("start")
        if self._state != LOCKED:
            self._set_state(LOCKED)
        self._set_state(ACTIVE)
        self._sync_sources("start")

    def pause(self):
        """Stop taking packets for a while: writes are counted (``paused_drops``) and
        dropped; packets already queued are still delivered."""
        if self._state == PAUSED:
            return
        if self._state != ACTIVE:
            self._refuse("pause")
        self._set_state(PAUSED)

    def resume(self):
        """Take packets again after ``pause``."""
        if self._state == ACTIVE:
            return
        if self._state != PAUSED:
            self._refuse("resume")
        self._set_state(ACTIVE)

    def stop(self):
        """``STOPPING``: the ``sync_state`` sources stop; then ``STOPPED``. Later writes
        raise; packets still queued are discarded (counted). ``start`` again resumes."""
        if self._state in (NONE, STOPPED, CLOSED, ERROR):
            return
        self._set_state(STOPPING)
        try:
            self._sync_sources("stop")
        finally:
            if self._state == STOPPING:
                self._set_state(STOPPED)

    def reset(self):
        """Back to ``NONE`` from ``LOCKED``, ``STOPPED`` or ``ERROR`` (the error is
        forgotten), ready to be changed and started again."""
        if self._state in (ACTIVE, PAUSED, STOPPING, CLOSED):
            self._refuse("reset")
        self.error = None
        self._set_state(NONE)

    def close(self):
        """Stop, then close for good: queues refuse and release their packets, sources
        are detached (owned ones closed), ``Close`` fires. Idempotent; safe from the
        emitter's own slots."""
        cdef PacketProcessor proc
        if self._state == CLOSED:
            return
        try:
            if self._state in (LOCKED, ACTIVE, PAUSED):
                self.stop()
            elif self._state == ERROR:
                self._sync_sources("stop")
        finally:
            # Shut every queue first: a worker blocked pushing into a full queue further
            # down wakes up before anyone waits for it.
            for proc in self._chain:
                if proc._is_queue:
                    (<PacketQueue>proc)._shut()
            self._set_state(CLOSED)
            for proc in self._chain:
                if proc._is_queue:
                    proc.close()
            sources, self._sources = self._sources, []
            for entry in sources:
                _release_source(entry, True)
            self._Close._emit((self,))

    def _refuse(self, str what):
        if self._state == CLOSED:
            raise StreamClosedError(f"cannot {what} {self!r}: it is closed")
        raise StreamStateError(f"cannot {what} {self!r} while it is "
                               f"{State(self._state).name}")

    # -- packets

    def write(self, data, int flags=0, info=None, opaque=None):
        """Send ``data`` (a Packet, sent as it is; or bytes-like data, made a Packet
        with ``flags``, ``info`` and ``opaque``) through the stream. Any thread may call
        it. The processors before the first queue run on the calling thread; ``data``
        is borrowed until then (see Packet). Returns True, or False when the stream is
        paused (the packet is counted in ``paused_drops``). Raises StreamClosedError on
        a closed stream, StreamStateError on one that is not started, and
        QueueFullError when a queue with the ``"error"`` policy is full."""
        cdef Packet packet
        cdef int state = self._state
        if state != ACTIVE:
            if state == PAUSED:
                self._paused_drops += 1
                return False
            if state == CLOSED:
                raise StreamClosedError(f"write to a closed stream {self!r}")
            raise StreamStateError(f"write to {self!r} while it is {State(state).name}: "
                                   f"start it first")
        if type(data) is Packet:
            packet = <Packet>data
        else:
            packet = _new_packet(_check_data(data), flags, info, opaque)
        self._written += 1
        self._run(0, packet)
        return True

    cdef int _run(self, Py_ssize_t start, Packet packet) except -1:
        # The packet goes to the first processor from ``start`` that takes it; that one
        # calls emit() to come back here for the rest of the chain.
        cdef tuple chain = self._chain
        cdef Py_ssize_t i = start
        cdef Py_ssize_t n = len(chain)
        cdef PacketProcessor proc
        while i < n:
            proc = <PacketProcessor>chain[i]
            if proc._is_queue:
                return (<PacketQueue>proc)._push(packet)
            if packet.flags & NO_MODIFY:
                i += 1
                continue
            try:
                if proc._filters and not proc.accepts(packet):
                    i += 1
                    continue
                proc.process(packet)
            except StreamError:
                raise  # the stream's own refusal (a full or closed queue): the writer's
            except Exception as exc:
                self._fault(exc)
            return 0
        return self._sink(packet)

    cdef int _sink(self, Packet packet) except -1:
        if not (self._state == ACTIVE or self._state == PAUSED or self._state == STOPPING):
            self._discarded += 1
            return 0
        self._emitted += 1
        self._emitter._emit((packet,))
        if packet.flags & FINAL and (self._state == ACTIVE or self._state == PAUSED):
            self.stop()
        return 0

    cdef int _fault(self, object exc) except -1:
        self._faults += 1
        if self._state == CLOSED:
            self._report(exc)
            return 0
        if self.error is None:
            self.error = exc
        self._set_state(ERROR)
        self._Error._emit((self, exc))
        if self.close_on_error:
            self.close()
        return 0

    @property
    def stats(self):
        """The stream's counters: ``written`` (accepted by write), ``emitted`` (reached
        the emitter), ``paused_drops``, ``discarded`` (reached the end after a stop) and
        ``faults`` (processor exceptions). The queues have their own ``stats``."""
        return {"written": self._written, "emitted": self._emitted,
                "paused_drops": self._paused_drops, "discarded": self._discarded,
                "faults": self._faults}

    def __repr__(self):
        return f"<PacketStream {self.name!r} {State(self._state).name}>"


def _order_of(PacketProcessor proc):
    return proc._order


def _release_source(tuple entry, bint closing):
    source, owned, _sync_state, slot = entry
    if slot is not None:
        source.detach(slot)
    else:
        (<PacketSource>source)._stream = None
        if closing and owned:
            source.close()


cdef Signal _same_signal(Signal current, object value):
    if value is not current:
        raise AttributeError("a stream's signals cannot be replaced; attach slots to them")
    return current

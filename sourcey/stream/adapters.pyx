# The adapters a PacketStream connects: sources feed it, processors transform it.


cdef class PacketAdapter:
    """What sources and processors share: the ``stream`` they belong to and the hook
    every state change of that stream reaches."""

    @property
    def stream(self):
        """The PacketStream this adapter is attached to, or None."""
        return self._stream

    def on_stream_state_change(self, stream, state, old_state):
        """Called on every state change of the stream (``state`` and ``old_state`` are
        ``State`` values), on the thread that changed it. Override to react: a capture
        source pauses itself, an encoder flushes on ``STOPPING``..."""


cdef class PacketSource(PacketAdapter):
    """Feeds packets into the stream it is attached to: ``emit(data)`` is
    ``stream.write(data)``, so it may be called from any thread (a capture loop, a file
    reader). With ``sync_state=True`` the stream calls ``start()`` and ``stop()`` as it
    starts and stops; an owned source (``owned=True``) is ``close()``d with the stream."""

    def emit(self, data, int flags=0, info=None, opaque=None):
        """Write a packet (or bytes-like data) into the stream; see PacketStream.write."""
        if self._stream is None:
            raise StreamStateError("the source is not attached to a stream")
        return self._stream.write(data, flags, info, opaque)

    def start(self):
        """Start producing (called by a stream with ``sync_state=True``)."""

    def stop(self):
        """Stop producing (called by a stream with ``sync_state=True``)."""

    def close(self):
        """Release resources (called when an owning stream closes)."""


cdef class PacketProcessor(PacketAdapter):
    """One stage of a stream: ``process(packet)`` does the work and calls
    ``emit(packet)`` for each packet it passes on (none, to drop it; several, to split
    it). Processors run in ``order`` (lowest first), on the thread that brought the
    packet: the writer's, or the worker's/loop's behind a queue. A processor called from
    several writer threads at once must be thread-safe, or sit behind an
    ``AsyncPacketQueue``.

    ``accepts(packet)`` returning False carries the packet past this processor to the
    next stage unchanged. A processor that keeps a packet after ``process`` returns calls
    ``packet.retain()`` (see Packet). An exception from ``process`` or ``accepts`` puts
    the stream into ``ERROR`` (and closes it if ``close_on_error``)."""

    def __cinit__(self, *args, **kwargs):
        self._index = -1

    @property
    def order(self):
        """The place in the chain given to ``PacketStream.attach``."""
        return self._order

    cpdef accepts(self, packet):
        """True if this processor handles ``packet``; False passes it by."""
        return True

    cpdef process(self, packet):
        """Handle one packet; the default passes it on unchanged."""
        self._forward(<Packet?>packet)

    def emit(self, packet):
        """Pass ``packet`` (a Packet, or bytes-like data) to the next stage."""
        if type(packet) is not Packet:
            packet = _new_packet(_check_data(packet), 0, None, None)
        self._forward(<Packet>packet)

    cdef int _forward(self, Packet packet) except -1:
        if self._stream is None or self._index < 0:
            raise StreamStateError("the processor is not attached to a stream")
        return self._stream._run(self._index + 1, packet)


# The inherited accepts(): a processor that keeps it is not asked (it takes everything).
_BASE_ACCEPTS = getattr(PacketProcessor, "accepts")

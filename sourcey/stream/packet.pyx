# Packet: the unit a PacketStream carries.

NO_MODIFY = 1
FINAL = 2


cdef inline object _check_data(object data):
    if type(data) is bytes or PyObject_CheckBuffer(data):
        return data
    raise TypeError(f"packet data must be bytes-like, not {type(data).__name__}")


@cython.freelist(64)
cdef class Packet:
    """``Packet(data, flags=0, info=None, opaque=None)``: bytes-like ``data`` with
    metadata. ``info`` is for the stream's processors (a dict, a frame header...),
    ``opaque`` for the application. ``flags``: ``NO_MODIFY`` carries the packet past the
    processors (queues still carry it), ``FINAL`` stops the stream once the emitter had it.

    Retention: ``data`` is the writer's object, borrowed while the packet travels
    synchronously through the processors on the writer's thread. Whatever keeps a packet
    beyond that (a queue, a processor that stores it) calls ``retain()``, which copies
    mutable data into ``bytes``; ``bytes`` is immutable and kept by reference. So the
    writer may reuse its buffer as soon as ``write`` returns.
    """

    NO_MODIFY = NO_MODIFY
    FINAL = FINAL

    def __init__(self, data=b"", int flags=0, info=None, opaque=None):
        self.data = _check_data(data)
        self.flags = flags
        self.info = info
        self.opaque = opaque

    def retain(self):
        """Make ``data`` safe to keep (copied to ``bytes`` unless it is ``bytes``);
        returns the packet."""
        if type(self.data) is not bytes:
            self.data = bytes(self.data)
        return self

    def copy(self, data=None):
        """A new packet with the same flags and metadata, and ``data`` (default: the
        same data)."""
        return _new_packet(self.data if data is None else _check_data(data),
                           self.flags, self.info, self.opaque)

    @property
    def final(self):
        return (self.flags & FINAL) != 0

    @property
    def no_modify(self):
        return (self.flags & NO_MODIFY) != 0

    def __len__(self):
        return len(self.data)

    def __bytes__(self):
        return bytes(self.data)

    def __repr__(self):
        return f"<Packet {len(self.data)} bytes flags={self.flags}>"


cdef inline Packet _new_packet(object data, int flags, object info, object opaque):
    cdef Packet p = Packet.__new__(Packet)
    p.data = data
    p.flags = flags
    p.info = info
    p.opaque = opaque
    return p

"""The exceptions of sourcey.stream."""


class StreamError(RuntimeError):
    """Base class of the errors a PacketStream raises itself."""


class StreamStateError(StreamError):
    """The call is not allowed in the stream's current state (for example ``write`` to
    a stream that was never started, or ``attach`` while the topology is frozen)."""


class StreamClosedError(StreamStateError):
    """The stream (or the queue) is closed: it takes no more packets."""


class QueueFullError(StreamError):
    """A queue with the ``"error"`` overflow policy is full: the packet was refused
    (and counted in the queue's ``rejected`` counter)."""

"""sourcey.stream: LibSourcey's PacketStream — packets from any thread, through ordered
processors, to an emitter, optionally synchronised to a loop (DESIGN.md §4-5).

``PacketStream`` is the pipeline; ``PacketSource`` and ``PacketProcessor`` are what it
connects; ``SyncPacketQueue`` (``synchronize_output``) and ``AsyncPacketQueue`` move the
rest of the chain to a loop's thread or to a worker thread, through a bounded C queue
with a counted overflow policy.
"""

from ._stream import (
    FINAL,
    NO_MODIFY,
    AsyncPacketQueue,
    Packet,
    PacketAdapter,
    PacketProcessor,
    PacketQueue,
    PacketSource,
    PacketStream,
    SyncPacketQueue,
)
from .errors import QueueFullError, StreamClosedError, StreamError, StreamStateError
from .state import State

__all__ = [
    "FINAL", "NO_MODIFY",
    "AsyncPacketQueue", "Packet", "PacketAdapter", "PacketProcessor", "PacketQueue",
    "PacketSource", "PacketStream", "QueueFullError", "State", "StreamClosedError",
    "StreamError", "StreamStateError", "SyncPacketQueue",
]

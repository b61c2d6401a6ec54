"""sourcey.stream: LibSourcey's PacketStream — packets from any thread, through ordered
processors, to an emitter, optionally synchronised to a loop (DESIGN.md §4-5).

``PacketStream`` is the pipeline; ``PacketSource`` and ``PacketProcessor`` are what it
connects; ``SyncPacketQueue`` (``synchronize_output``) and ``AsyncPacketQueue`` move the
rest of the chain to a loop's thread or to a worker thread, through a bounded C queue
with a counted overflow policy.

For the output: ``ChunkedPacketizer`` and ``MultipartPacketizer`` frame packets as HTTP
chunks or ``multipart/x-mixed-replace`` parts; ``Broadcaster`` sends each frame to many
``ClientSink``s (``ResponseSink``: a streaming ``sourcey.http`` response;
``WebSocketSink``: a ``sourcey.http.websocket`` connection, a message a packet;
``SocketSink``: a ``sourcey.net`` connection), each with its own backpressure.
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
from .broadcast import Broadcaster
from .chunked import ChunkedPacketizer
from .errors import QueueFullError, StreamClosedError, StreamError, StreamStateError
from .multipart import MultipartPacketizer
from .sinks import ClientSink, ResponseSink, SocketSink, WebSocketSink
from .state import State

__all__ = [
    "FINAL", "NO_MODIFY",
    "AsyncPacketQueue", "Broadcaster", "ChunkedPacketizer", "ClientSink",
    "MultipartPacketizer", "Packet", "PacketAdapter", "PacketProcessor", "PacketQueue",
    "PacketSource", "PacketStream", "QueueFullError", "ResponseSink", "SocketSink", "State",
    "StreamClosedError", "StreamError", "StreamStateError", "SyncPacketQueue",
    "WebSocketSink",
]

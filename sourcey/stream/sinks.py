"""Client sinks: where a stream's output leaves for one client. ``ClientSink`` is the
small interface a Broadcaster drives. ``ResponseSink`` is the one for a streaming
``sourcey.http`` response, ``WebSocketSink`` for a ``sourcey.http.websocket``
connection (a message a packet), ``SocketSink`` for a raw ``sourcey.net`` connection
(whose framing is the stream's or the broadcaster's packetizer: ChunkedPacketizer after
a hand-written HTTP head, say).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ._stream import FINAL, Packet


@runtime_checkable
class ClientSink(Protocol):
    """One client of a broadcast. Used on the loop's thread only, and never blocks:
    ``write`` queues, and ``queued`` tells how much is waiting for the client."""

    @property
    def queued(self) -> int:
        """Bytes accepted by ``write`` that the client has not taken yet."""
        ...

    @property
    def closed(self) -> bool:
        """True once the client is gone or closed: it takes nothing more."""
        ...

    def write(self, data: bytes) -> int:
        """Queue ``data`` for the client; returns ``queued`` after it."""
        ...

    def close(self, abort: bool = False) -> None:
        """End the client's stream: in order after what is queued, or (``abort``) at
        once, dropping what is queued."""
        ...


class ResponseSink:
    """``ResponseSink(response, content_type=None)``: a ClientSink over a streaming
    ``sourcey.http`` response. Every ``write`` is one chunk of the body (the server
    chunk-encodes it; an HTTP/1.0 client gets the body delimited by the close);
    ``close()`` ends the response, ``close(abort=True)`` cuts its connection.

    ``content_type`` sets the response's Content-Type. The head is sent at once, so the
    client sees its answer before the first packet.

    Called with a Packet (as a stream's ``emitter`` slot), it writes the packet's data,
    and a ``FINAL`` packet ends the response after it.
    """

    def __init__(self, response: Any, content_type: str | None = None) -> None:
        self.response = response
        if content_type is not None:
            response.headers["Content-Type"] = content_type
        response.write(b"")

    @property
    def queued(self) -> int:
        return int(self.response.write_queue_size)

    @property
    def closed(self) -> bool:
        return bool(self.response.finished or self.response.closed)

    def write(self, data: bytes) -> int:
        response = self.response
        if not response.finished:
            response.write(data)
        return int(response.write_queue_size)

    def close(self, abort: bool = False) -> None:
        response = self.response
        if response.finished:
            return
        if abort:
            response.abort()
        else:
            response.end()

    def __call__(self, packet: Packet) -> None:
        self.write(packet.data)
        if packet.flags & FINAL:
            self.close()


class SocketSink:
    """``SocketSink(sock)``: a ClientSink over a connected ``sourcey.net`` socket
    (TCPSocket or SSLSocket). ``write`` is ``send``: the kernel takes what it can and
    the rest is queued; the socket's own watermarks are not consulted (the
    broadcaster's ``high_water`` is). ``close()`` sends what is queued then FIN;
    ``close(abort=True)`` resets the connection at once."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock

    @property
    def queued(self) -> int:
        return int(self.sock.write_queue_size)

    @property
    def closed(self) -> bool:
        return bool(self.sock.closed)

    def write(self, data: bytes) -> int:
        if not self.sock.closed:
            self.sock.send(data)
        return int(self.sock.write_queue_size)

    def close(self, abort: bool = False) -> None:
        if abort:
            self.sock.abort()
        else:
            self.sock.close()


class WebSocketSink:
    """``WebSocketSink(ws, text=False)``: a ClientSink over a ``sourcey.http.websocket``
    connection. Every ``write`` is one message (binary, or text decoded as UTF-8 with
    ``text=True``); ``queued`` is the connection's write queue (framed bytes).
    ``close()`` starts the closing handshake (1000, after what is queued);
    ``close(abort=True)`` cuts the TCP connection at once: a client too slow to take
    its frames would not take a close frame either.
    """

    def __init__(self, ws: Any, text: bool = False) -> None:
        self.ws = ws
        self.text = text

    @property
    def queued(self) -> int:
        return int(self.ws.write_queue_size)

    @property
    def closed(self) -> bool:
        return not self.ws.open

    def write(self, data: bytes) -> int:
        ws = self.ws
        if ws.open:
            ws.send(bytes(data).decode("utf-8") if self.text else data)
        return int(ws.write_queue_size)

    def close(self, abort: bool = False) -> None:
        ws = self.ws
        if abort:
            ws.socket.abort()
        elif ws.open:
            ws.close(1000)

"""WebSocket: one connection type for both sides, an adapter on a sourcey.net socket.

After the opening handshake the connection's adapter is swapped for a WebSocket (as
LibSourcey does on upgrade): the socket's Recv goes to the WebSocket's codec, and the
WebSocket emits whole messages.

Signals (sourcey.Signal; a slot returning True stops the emit):

- ``Connect(ws)``: the handshake completed (client side; a server's WebSocket is open
  when the application gets it).
- ``Message(ws, data, is_text)``: a whole message, ``str`` for text, ``bytes`` for binary.
- ``Ping(ws, payload)``: answered with a pong automatically. ``Pong(ws, payload)``.
- ``Error(ws, exc)``: a protocol violation by the peer (``WebSocketError`` with the close
  code sent, 1002/1007/1009), a failed handshake (``HandshakeError``), or the socket's
  failure. The connection then closes.
- ``Close(ws, code, reason)``: once, when the TCP connection is gone. ``code`` is the
  peer's close code (1005 if its close frame had none), the code we failed the
  connection with, or 1006 when it ended without a close handshake.
- ``Drain(ws)``: the write queue fell to the low watermark after ``send`` returned False.
"""

from __future__ import annotations

from typing import Any

from sourcey import uv
from sourcey.net import PeerClosedError, SocketAdapter
from sourcey.signals import Signal

from ._frame import BINARY, CLOSE, DEFAULT_MAX_MESSAGE, ERROR, PING, PONG, TEXT, Codec
from .handshake import Deflate

CONNECTING, OPEN, CLOSING, CLOSED = range(4)
_STATES = ("CONNECTING", "OPEN", "CLOSING", "CLOSED")


class WebSocketError(Exception):
    """The peer broke the protocol: ``code`` is the close code the connection was failed
    with (1002 protocol error, 1007 invalid data, 1009 too big)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason} (close code {code})")
        self.code = code
        self.reason = reason


class ConnectionClosed(ConnectionError):
    """``send``, ``ping`` or ``close`` on a WebSocket that is closing or closed."""


class WebSocket(SocketAdapter):
    """A WebSocket connection over a connected sourcey.net socket (TCPSocket or
    SSLSocket), client or server side.

    ``send(str | bytes)`` sends a text or binary message and, like the socket's send,
    returns False once the write queue is above the high watermark (wait for Drain).
    ``close(code, reason)`` starts the closing handshake; the TCP connection is closed
    when it completes, or after ``close_timeout`` seconds.

    ``max_message``: the largest message accepted (after decompression), ``max_frame``
    the largest frame; beyond them the connection is failed with 1009.
    """

    def __init__(self, socket: Any, *, client: bool, protocol: str | None = None,
                 deflate: Deflate | None = None, max_message: int = DEFAULT_MAX_MESSAGE,
                 max_frame: int | None = None, close_timeout: float = 5.0,
                 remainder: bytes = b"", request: Any = None, _start: bool = True) -> None:
        super().__init__(socket)
        loop = socket.loop
        self.loop = loop
        self.socket = socket
        self.client = client
        self.request = request
        self.protocol = protocol
        self.deflate = deflate
        self.max_message = max_message
        self.max_frame = max_frame
        self.close_timeout = close_timeout
        self.close_code: int | None = None
        self.close_reason = ""
        self.Message = Signal(loop, "Message")
        self.Ping = Signal(loop, "Ping")
        self.Pong = Signal(loop, "Pong")
        self.Drain = Signal(loop, "Drain")
        self._state = CONNECTING
        self._codec: Codec | None = None
        self._timer: Any = None
        self._close_sent = False
        self._close_received = False
        self._failed = False
        self._closed_emitted = False
        self._pending: list[bytes] | None = None
        if _start:
            self._open(protocol, deflate, remainder)
            socket.add_receiver(self)

    def __repr__(self) -> str:
        side = "client" if self.client else "server"
        return f"<WebSocket {side} {_STATES[self._state]} {self.socket.peer_address}>"

    # -- state -------------------------------------------------------------------------

    def _open(self, protocol: str | None, deflate: Deflate | None, remainder: bytes) -> None:
        """The handshake is done: start framing, and read what came after the head."""
        kwargs = deflate.codec_args(self.client) if deflate is not None else {}
        self._codec = Codec(client=self.client, max_message=self.max_message,
                            max_frame=self.max_frame, **kwargs)
        self.protocol = protocol
        self.deflate = deflate
        self._state = OPEN
        if hasattr(self.socket, "Drain"):
            self.socket.Drain.attach(self._drained)
        if remainder:
            # Frames that came with the handshake: delivered from the loop, once the
            # application has attached its slots; later reads queue up behind them.
            self._pending = [remainder]
            timer = uv.Timer(self.loop)

            def fire(t: Any) -> None:
                t.close()
                self._flush_pending()

            timer.start(fire, 0.0)
        if hasattr(self.socket, "resume_reading"):
            self.socket.resume_reading()

    @property
    def state(self) -> str:
        """CONNECTING, OPEN, CLOSING or CLOSED."""
        return _STATES[self._state]

    @property
    def open(self) -> bool:
        return self._state == OPEN

    @property
    def closed(self) -> bool:
        return self._state == CLOSED

    # -- receiving ---------------------------------------------------------------------

    def on_socket_recv(self, socket: Any, data: Any, peer: Any) -> bool:
        if self._pending is not None:
            self._pending.append(bytes(data))
        else:
            self._feed(data)
        return True

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, None
        for data in pending or ():
            self._feed(data)

    def _feed(self, data: Any) -> None:
        codec = self._codec
        if codec is None or self._state == CLOSED or self._close_received:
            return
        for kind, value in codec.feed(data):
            if kind == TEXT:
                if self._state == OPEN:
                    self.Message.emit(self, value, True)
            elif kind == BINARY:
                if self._state == OPEN:
                    self.Message.emit(self, value, False)
            elif kind == PING:
                if self._state == OPEN:
                    self.socket.send(codec.pong(value))
                self.Ping.emit(self, value)
            elif kind == PONG:
                self.Pong.emit(self, value)
            elif kind == CLOSE:
                self._peer_closed(value[0], value[1])
                return
            elif kind == ERROR:
                self._fail(WebSocketError(value[0], value[1]))
                return
            if self._state == CLOSED or self._close_received:
                return          # a slot closed the connection

    def _peer_closed(self, code: int, reason: str) -> None:
        self._close_received = True
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        if not self._close_sent:
            # Echo the code (RFC 6455 §5.5.1); none if the peer sent none.
            self._send_close(None if code == 1005 else code, "")
        self._state = CLOSING
        if self.client:
            # The server closes TCP first (§7.1.1); don't wait for it for ever.
            self._start_timer()
        else:
            self.socket.close()

    def _fail(self, exc: WebSocketError) -> None:
        """Fail the connection (§7.1.7): close frame with the code, then close TCP."""
        if self._failed or self._state == CLOSED:
            return
        self._failed = True
        if self.close_code is None:
            self.close_code, self.close_reason = exc.code, exc.reason
        if not self._close_sent:
            self._send_close(exc.code, "")
        self._state = CLOSING
        self.Error.emit(self, exc)
        self.socket.close()

    # -- sending -----------------------------------------------------------------------

    def _check_open(self) -> Codec:
        if self._state != OPEN or self._codec is None:
            raise ConnectionClosed(f"{self!r}: not open")
        return self._codec

    def send(self, data: Any, peer: Any = None) -> bool:
        """Send a message: text for ``str``, binary for bytes-like. Returns False when the
        write queue is above the high watermark (wait for Drain)."""
        return bool(self.socket.send(self._check_open().send(data)))

    def ping(self, payload: Any = b"") -> bool:
        """Send a ping (at most 125 bytes); the peer answers with a Pong."""
        return bool(self.socket.send(self._check_open().ping(payload)))

    def pong(self, payload: Any = b"") -> bool:
        """Send an unsolicited pong (a heartbeat)."""
        return bool(self.socket.send(self._check_open().pong(payload)))

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Start the closing handshake (idempotent). ``code`` None sends a close frame
        without a code. Before the handshake completes this closes the socket at once."""
        if self._state == CONNECTING:
            self._state = CLOSING
            self.socket.close()
            return
        if self._state != OPEN:
            return
        codec = self._codec
        assert codec is not None
        frame = codec.close(code, reason)       # validates the code before any state change
        self._state = CLOSING
        self._close_sent = True
        self.socket.send(frame)
        self._start_timer()

    def _send_close(self, code: int | None, reason: str) -> None:
        codec = self._codec
        if codec is None or self._close_sent or self.socket.closed:
            return
        self._close_sent = True
        self.socket.send(codec.close(code, reason))

    def _start_timer(self) -> None:
        if self._timer is None and self._state != CLOSED:
            self._timer = uv.Timer(self.loop)
            self._timer.start(self._timed_out, self.close_timeout)

    def _timed_out(self, timer: Any) -> None:
        self._stop_timer()
        self.socket.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.close()
            self._timer = None

    # -- backpressure ------------------------------------------------------------------

    @property
    def write_queue_size(self) -> int:
        """Bytes accepted by send and not yet handed to the kernel."""
        return int(self.socket.write_queue_size)

    def set_watermarks(self, high: int | None = None, low: int | None = None) -> None:
        self.socket.set_watermarks(high, low)

    @property
    def watermarks(self) -> tuple[int, int]:
        high, low = self.socket.watermarks
        return int(high), int(low)

    def pause_reading(self) -> None:
        """Stop reading from the peer (receive-side backpressure)."""
        self.socket.pause_reading()

    def resume_reading(self) -> None:
        self.socket.resume_reading()

    def _drained(self, socket: Any) -> None:
        if self._state == OPEN:
            self.Drain.emit(self)

    # -- the socket's end --------------------------------------------------------------

    def on_socket_close(self, socket: Any) -> bool:
        self._socket_closed(socket)
        return True

    def on_socket_error(self, socket: Any, error: BaseException) -> bool:
        self._socket_error(socket, error)
        return True

    def _socket_error(self, socket: Any, exc: BaseException) -> None:
        # The peer closing TCP after the closing handshake is the normal end.
        if isinstance(exc, PeerClosedError) and (self._close_received or self._failed):
            return
        if not self._failed:
            self.Error.emit(self, exc)

    def _socket_closed(self, socket: Any) -> None:
        self._flush_pending()           # what arrived before the end is still delivered
        self._stop_timer()
        self._state = CLOSED
        if hasattr(socket, "Drain"):
            socket.Drain.detach(self._drained)
        socket.remove_receiver(self)
        if self._closed_emitted:
            return
        self._closed_emitted = True
        if not (self._close_received or self._failed):
            self.close_code, self.close_reason = 1006, "connection closed abnormally"
        self.Close.emit(self, self.close_code, self.close_reason)

"""sourcey.http.websocket: WebSocket (RFC 6455) for both sides, with permessage-deflate
(RFC 7692).

- ``connect(url, ...)``: a client over ws:// or wss://.
- ``handler(on_connect, fallback)``: a sourcey.http handler routing upgrade requests
  to WebSocket; ``accept(request, response, ...)``: accept one in your own handler;
  ``WebSocketServer(on_connect, host, port, ...)``: a WebSocket-only server.
- ``WebSocket``: the connection, the same type on both sides: ``send``, ``ping``,
  ``close``, and the signals Connect, Message, Ping, Pong, Error, Close, Drain.

Framing, masking, UTF-8 validation and compression run in C (csrc/ws_frame.c,
csrc/utf8_check.c, csrc/ws_deflate.c) behind the sans-IO ``Codec``; the handshake is
sans-IO too (``handshake``).
"""

from ._frame import Codec
from .client import connect
from .connection import ConnectionClosed, WebSocket, WebSocketError
from .handshake import Deflate, HandshakeError, accept_key, check_origin
from .server import HandshakeRequest, WebSocketServer, accept, handler, reject

__all__ = [
    "Codec", "ConnectionClosed", "Deflate", "HandshakeError", "HandshakeRequest",
    "WebSocket", "WebSocketError", "WebSocketServer", "accept", "accept_key",
    "check_origin", "connect", "handler", "reject",
]

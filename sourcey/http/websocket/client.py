"""connect(): a WebSocket client over ws:// (TCPSocket) and wss:// (SSLSocket).

    ws = connect("ws://127.0.0.1:9000/chat", protocols=["chat"])
    ws.Connect += lambda ws: ws.send("hello")
    ws.Message += lambda ws, data, is_text: print(data)
    ws.Close += lambda ws, code, reason: print("closed", code)

The handshake is an adapter on the socket; once the 101 response checks out it is
swapped for the WebSocket (``replace_adapter``), which emits Connect.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sourcey import uv
from sourcey.http import ParseError, Parser
from sourcey.net import SocketAdapter, SSLSocket, TCPSocket

from ._frame import DEFAULT_MAX_MESSAGE
from .connection import WebSocket
from .handshake import (
    DEFAULT_DEFLATE,
    Deflate,
    HandshakeError,
    check_response,
    client_request,
    new_key,
)


class _ClientHandshake(SocketAdapter):
    """Sends the request on connect, reads the response with the strict HTTP parser,
    and hands the connection to the WebSocket."""

    def __init__(self, ws: WebSocket, request: bytes, key: str,
                 protocols: Sequence[str] | None, compression: Deflate | None,
                 timeout: float | None) -> None:
        super().__init__(ws.socket)
        self.ws = ws
        self.request = request
        self.key = key
        self.protocols = protocols
        self.compression = compression
        self.parser = Parser("response")
        self.done = False
        self.timer: Any = None
        if timeout is not None:
            self.timer = uv.Timer(ws.loop)
            self.timer.start(self._timed_out, timeout)

    def on_socket_connect(self, socket: Any) -> bool:
        socket.send(self.request)
        return True

    def on_socket_recv(self, socket: Any, data: Any, peer: Any) -> bool:
        if self.done:
            return True
        try:
            messages = self.parser.feed(data)
            if not messages:
                if self.parser.upgraded:
                    raise HandshakeError("unexpected response to the handshake")
                return True
            response = messages[0]
            protocol, agreed = check_response(
                response.status or 0, response.headers, self.key,
                protocols=self.protocols, compression=self.compression)
            if not self.parser.upgraded:
                raise HandshakeError("the 101 response did not switch protocols")
        except (HandshakeError, ParseError) as exc:
            self._failed(exc)
            return True
        self._finish()
        socket.replace_adapter(self, self.ws)
        self.ws._open(protocol, agreed, self.parser.remainder)
        self.ws.Connect.emit(self.ws)
        return True

    def on_socket_error(self, socket: Any, error: BaseException) -> bool:
        self._failed(error)
        return True

    def on_socket_close(self, socket: Any) -> bool:
        self._finish()
        socket.remove_receiver(self)
        self.ws._socket_closed(socket)
        return True

    def _timed_out(self, timer: Any) -> None:
        self._failed(TimeoutError(110, "WebSocket handshake timed out"))

    def _failed(self, exc: BaseException) -> None:
        if self.done:
            return
        self._finish()
        self.ws.Error.emit(self.ws, exc)
        self.ws.socket.close()

    def _finish(self) -> None:
        self.done = True
        if self.timer is not None:
            self.timer.close()
            self.timer = None


def connect(url: str, *, protocols: Sequence[str] | None = None,
            compression: Deflate | None = DEFAULT_DEFLATE,
            headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
            origin: str | None = None, ssl_context: ssl.SSLContext | None = None,
            loop: uv.Loop | None = None, timeout: float | None = 10.0,
            max_message: int = DEFAULT_MAX_MESSAGE, max_frame: int | None = None,
            close_timeout: float = 5.0) -> WebSocket:
    """Open a WebSocket to ``url`` (``ws://host[:port]/path`` or ``wss://...``). Returns
    at once with a connecting WebSocket: Connect follows the handshake, or Error
    (OSError, ssl.SSLError, TimeoutError, HandshakeError, ParseError) and Close.

    ``protocols``: subprotocols to offer; the server's choice is ``ws.protocol``.
    ``compression``: permessage-deflate to offer (None: none); the agreed settings are
    ``ws.deflate``. ``headers``: extra request headers. ``timeout``: seconds for the
    connect and the handshake together.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"a WebSocket URL is ws:// or wss://, not {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    if parts.username or parts.password:
        raise ValueError("credentials in a WebSocket URL are not supported")
    secure = parts.scheme == "wss"
    default_port = 443 if secure else 80
    port = parts.port or default_port
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port != default_port:
        netloc += f":{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    extra = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
    key = new_key()
    request = client_request(netloc, target, key, origin=origin, protocols=protocols,
                             compression=compression, headers=extra)
    loop = loop if loop is not None else uv.Loop.default_loop()
    sock: TCPSocket = SSLSocket(loop, ssl_context) if secure else TCPSocket(loop)
    ws = WebSocket(sock, client=True, max_message=max_message, max_frame=max_frame,
                   close_timeout=close_timeout, _start=False)
    sock.add_receiver(_ClientHandshake(ws, request, key, protocols, compression, timeout))
    try:
        sock.connect(host, port, timeout=timeout)
    except BaseException:
        sock.close()
        raise
    return ws

"""The server side: accept a WebSocket on an HTTP request, or run a WebSocket server.

With sourcey.http's Server, ``handler(on_connect, fallback)`` routes upgrade requests
to WebSocket, or a handler accepts one itself:

    def handler(request, response):
        if request.upgrade:
            ws = websocket.accept(request, response, protocol=["chat"])
            if ws is not None:                  # None: rejected, response sent
                ws.Message += on_message
            return
        ...

``WebSocketServer`` is a server of its own, for applications that only speak
WebSocket; it reads each request head with the strict HTTP parser, and swaps the
handshake adapter for the WebSocket on the same socket.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sourcey import uv
from sourcey.http import ParseError, Parser
from sourcey.net import SocketAdapter, SSLServer, TCPServer
from sourcey.signals import Signal

from ._frame import DEFAULT_MAX_MESSAGE
from .connection import OPEN, WebSocket
from .handshake import (
    DEFAULT_DEFLATE,
    Deflate,
    HandshakeError,
    check_origin,
    header_tokens,
    server_handshake,
)

_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            426: "Upgrade Required", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _protocols(protocol: str | Sequence[str] | None) -> Sequence[str] | None:
    return [protocol] if isinstance(protocol, str) else protocol


def _reject_headers(status: int) -> list[tuple[str, str]]:
    # 426 tells the client which version we speak (RFC 6455 §4.4).
    return [("Sec-WebSocket-Version", "13")] if status == 426 else []


def reject(response: Any, status: int, message: str = "") -> None:
    """Refuse an upgrade request with an HTTP status on a sourcey.http Response."""
    response.status = status
    for name, value in _reject_headers(status):
        response.headers[name] = value
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.end((message or _REASONS.get(status, "")).encode("utf-8") + b"\n")


def accept(request: Any, response: Any, *, protocol: str | Sequence[str] | None = None,
           compression: Deflate | None = DEFAULT_DEFLATE, max_message: int = DEFAULT_MAX_MESSAGE,
           max_frame: int | None = None, close_timeout: float = 5.0) -> WebSocket | None:
    """Accept a WebSocket on a sourcey.http request: check the handshake, answer 101
    and take over the connection (``response.upgrade``). Returns the open WebSocket,
    or None after answering an invalid request with its status (400, 426).

    ``protocol``: the subprotocol to speak, or several in our order of preference (the
    first one the client offers is chosen; none if it offers none of them).
    ``compression``: our permessage-deflate settings, or None to decline it.
    """
    try:
        hs = server_handshake(request.method, request.version, request.headers,
                              protocols=_protocols(protocol), compression=compression)
    except HandshakeError as exc:
        reject(response, exc.status, str(exc))
        return None
    sock, remainder = response.upgrade(hs.headers)
    return WebSocket(sock, client=False, protocol=hs.protocol, deflate=hs.deflate,
                     max_message=max_message, max_frame=max_frame,
                     close_timeout=close_timeout, remainder=remainder, request=request)


def handler(on_connect: Callable[[WebSocket], object],
            fallback: Callable[[Any, Any], object] | None = None, *,
            protocol: str | Sequence[str] | None = None,
            compression: Deflate | None = DEFAULT_DEFLATE,
            origins: Iterable[str | None] | None = None,
            max_message: int = DEFAULT_MAX_MESSAGE, max_frame: int | None = None,
            close_timeout: float = 5.0) -> Callable[[Any, Any], None]:
    """A sourcey.http handler that routes ``Upgrade: websocket`` requests to
    ``on_connect(ws)`` and the others to ``fallback(request, response)`` (426 Upgrade
    Required without one). ``origins``: the allowed Origin values (see check_origin);
    others get 403.

        server = Server(websocket.handler(on_connect, app))
    """
    allowed = list(origins) if origins is not None else None

    def handle(request: Any, response: Any) -> None:
        wants = request.upgrade and any(
            t.lower() == "websocket" for t in header_tokens(request.headers, "Upgrade"))
        if not wants:
            if fallback is not None:
                fallback(request, response)
            else:
                reject(response, 426, "this resource speaks WebSocket")
            return
        if allowed is not None and not check_origin(request.headers, allowed):
            reject(response, 403, "origin not allowed")
            return
        ws = accept(request, response, protocol=protocol, compression=compression,
                    max_message=max_message, max_frame=max_frame,
                    close_timeout=close_timeout)
        if ws is not None:
            on_connect(ws)

    return handle


class HandshakeRequest:
    """The request head of a WebSocket handshake (WebSocketServer)."""

    def __init__(self, method: str, target: str, version: str,
                 headers: list[tuple[str, str]], peer: Any) -> None:
        self.method = method
        self.target = target
        self.path, _, self.query = target.partition("?")
        self.version = version
        self.headers = headers
        self.peer = peer
        self.upgrade = True

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name``, or ``default``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), default)

    def __repr__(self) -> str:
        return f"<HandshakeRequest {self.method} {self.target} from {self.peer}>"


class _ServerHandshake(SocketAdapter):
    """Reads one request head, answers it, and swaps itself for the WebSocket."""

    def __init__(self, server: WebSocketServer, socket: Any) -> None:
        super().__init__(socket)
        self.server = server
        self.socket = socket
        self.parser = Parser("request", max_head=server.max_head)
        self.done = False
        self.timer: Any = None
        if server.handshake_timeout is not None:
            self.timer = uv.Timer(server.loop)
            self.timer.start(self._timed_out, server.handshake_timeout)

    def on_socket_recv(self, socket: Any, data: Any, peer: Any) -> bool:
        if self.done:
            return True
        try:
            messages = self.parser.feed(data)
        except ParseError as exc:
            self._respond(exc.status, str(exc))
            return True
        if not messages:
            return True
        head = messages[0]
        request = HandshakeRequest(
            head.method or "", head.target or "", head.version,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers],
            socket.peer_address)
        server = self.server
        try:
            if len(messages) > 1 or not self.parser.upgraded:
                raise HandshakeError("not a WebSocket upgrade request", 426)
            hs = server_handshake(request.method, request.version, request.headers,
                                  protocols=server.protocols, compression=server.compression)
            if server.origins is not None and not check_origin(request.headers,
                                                               server.origins):
                raise HandshakeError("origin not allowed", 403)
            status = server.check(request) if server.check is not None else None
            if status is not None:
                raise HandshakeError("refused by the application", int(status))
        except HandshakeError as exc:
            self._respond(exc.status, str(exc))
            return True
        self._finish()
        head_lines = ["HTTP/1.1 101 Switching Protocols"] + [f"{k}: {v}" for k, v in hs.headers]
        socket.send(("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1"))
        ws = WebSocket(socket, client=False, protocol=hs.protocol, deflate=hs.deflate,
                       max_message=server.max_message, max_frame=server.max_frame,
                       request=request, _start=False)
        socket.replace_adapter(self, ws)
        ws._open(hs.protocol, hs.deflate, self.parser.remainder)
        server._opened(ws)
        return True

    def on_socket_close(self, socket: Any) -> bool:
        self._finish()
        socket.remove_receiver(self)
        return True

    def on_socket_error(self, socket: Any, error: BaseException) -> bool:
        return True     # the socket closes next; nobody is waiting on this one yet

    def _respond(self, status: int, message: str) -> None:
        self._finish()
        body = (message + "\n").encode("utf-8")
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
                 "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}",
                 "Connection: close"]
        lines += [f"{k}: {v}" for k, v in _reject_headers(status)]
        self.socket.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.socket.close()

    def _timed_out(self, timer: Any) -> None:
        self._finish()
        self.socket.close()

    def _finish(self) -> None:
        self.done = True
        if self.timer is not None:
            self.timer.close()
            self.timer = None


class WebSocketServer:
    """A WebSocket server on ``host:port`` (wss with ``ssl_context``).

    ``on_connect(ws)`` (and the ``Connect`` signal) gets each open WebSocket, with
    ``ws.request`` its handshake request. ``connections`` is the set of open ones (a
    chat broadcasts to it). Invalid handshakes are answered with 400 or 426; ``origins``
    (serialised origins, None in it for clients that send none) refuses others with 403;
    ``check(request)`` may return an HTTP status to refuse a request.
    """

    def __init__(self, on_connect: Callable[[WebSocket], object] | None = None,
                 host: str = "127.0.0.1", port: int = 0, *, loop: uv.Loop | None = None,
                 protocols: Sequence[str] | None = None,
                 compression: Deflate | None = DEFAULT_DEFLATE,
                 origins: Iterable[str | None] | None = None,
                 check: Callable[[HandshakeRequest], int | None] | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 handshake_timeout: float | None = 10.0,
                 max_message: int = DEFAULT_MAX_MESSAGE, max_frame: int | None = None,
                 max_head: int = 16384, backlog: int = 511, reuseport: bool = False) -> None:
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.protocols = protocols
        self.compression = compression
        self.origins = list(origins) if origins is not None else None
        self.check = check
        self.handshake_timeout = handshake_timeout
        self.max_message = max_message
        self.max_frame = max_frame
        self.max_head = max_head
        self.Connect = Signal(self.loop, "Connect")
        self.connections: set[WebSocket] = set()
        if on_connect is not None:
            self.Connect.attach(on_connect)
        if ssl_context is not None:
            self.server: TCPServer = SSLServer(host, port, self._accepted, context=ssl_context,
                                               loop=self.loop, backlog=backlog,
                                               reuseport=reuseport)
        else:
            self.server = TCPServer(host, port, self._accepted, loop=self.loop,
                                    backlog=backlog, reuseport=reuseport)

    def _accepted(self, socket: Any) -> None:
        socket.add_receiver(_ServerHandshake(self, socket))

    def _opened(self, ws: WebSocket) -> None:
        self.connections.add(ws)
        ws.Close.attach(self._closed, priority=2**31 - 1)
        self.Connect.emit(ws)

    def _closed(self, ws: WebSocket, code: int, reason: str) -> None:
        self.connections.discard(ws)

    @property
    def address(self) -> Any:
        return self.server.address

    @property
    def port(self) -> int:
        return int(self.server.address.port)

    def broadcast(self, data: str | bytes) -> int:
        """Send one message to every open connection; returns how many got it."""
        sent = 0
        for ws in list(self.connections):
            if ws._state == OPEN:
                ws.send(data)
                sent += 1
        return sent

    def close(self, close_connections: bool = False) -> None:
        """Stop accepting. With ``close_connections``, close every WebSocket with 1001
        (going away), and drop connections still in their handshake."""
        self.server.close()
        if close_connections:
            for ws in list(self.connections):
                ws.close(1001, "server shutting down")
            for socket in list(self.server.connections):
                if not any(ws.socket is socket for ws in self.connections):
                    socket.close()

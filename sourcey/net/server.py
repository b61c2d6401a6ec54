"""TCPServer: a listening TCPSocket that tracks its connections for a graceful close.

    server = TCPServer("127.0.0.1", 9000, on_accept)   # on_accept(socket)
    ...
    server.close(close_connections=True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sourcey import uv
from sourcey.signals import Signal

from ._net import TCPSocket


class TCPServer:
    """Listen on ``host:port``; ``AcceptConnection(socket)`` (and ``on_accept``) for each
    connection. The server remembers live connections only to close them on request."""

    def __init__(self, host: str, port: int = 0,
                 on_accept: Callable[[Any], object] | None = None, *,
                 loop: uv.Loop | None = None, backlog: int = 511,
                 reuseport: bool = False) -> None:
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.listener = self._make_listener()
        self.AcceptConnection = Signal(self.loop, "AcceptConnection")
        self.connections: set[Any] = set()
        if on_accept is not None:
            self.AcceptConnection.attach(on_accept)
        self.listener.AcceptConnection.attach(self._accepted)
        self.listener.bind(host, port, reuseport=reuseport)
        self.listener.listen(backlog)

    def _make_listener(self) -> TCPSocket:
        return TCPSocket(self.loop)

    def _accepted(self, socket: Any) -> None:
        self.connections.add(socket)
        socket.Close.attach(self.connections.discard, priority=-1000)
        self.AcceptConnection.emit(socket)

    @property
    def address(self) -> Any:
        return self.listener.address

    @property
    def closed(self) -> bool:
        return bool(self.listener.closed)

    def close(self, close_connections: bool = False) -> None:
        """Stop accepting. With ``close_connections``, close every live connection too;
        otherwise they finish on their own."""
        self.listener.close()
        if close_connections:
            for socket in list(self.connections):
                socket.close()

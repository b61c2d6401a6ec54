"""TCPServer: a listening TCPSocket that tracks its connections for a graceful close;
SSLServer: the same over TLS.

    server = TCPServer("127.0.0.1", 9000, on_accept)   # on_accept(socket)
    ...
    server.close(close_connections=True)
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from sourcey import uv
from sourcey.signals import Signal

from ._net import TCPSocket
from .ssl import SSLSocket

_FIRST = 2**31 - 1      # the highest slot priority


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
        try:
            self.listener.bind(host, port, reuseport=reuseport)
            self.listener.listen(backlog)
        except BaseException:
            self.listener.close()       # or its handle stays open, with nobody to close it
            raise

    def _make_listener(self) -> TCPSocket:
        return TCPSocket(self.loop)

    def _accepted(self, socket: Any) -> None:
        self.connections.add(socket)
        # First of the Close slots: one that returns True (a protocol adapter consuming
        # the event) would otherwise stop the emit before the server forgets the socket.
        socket.Close.attach(self.connections.discard, priority=_FIRST)
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
        self.listener.AcceptConnection.detach(self._accepted)   # the server <-> listener cycle
        self.listener.close()
        if close_connections:
            for socket in list(self.connections):
                socket.close()


class SSLServer(TCPServer):
    """A TCPServer over TLS: ``context`` is a server ``ssl.SSLContext`` with the
    certificate loaded (``ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)`` then
    ``load_cert_chain``; SNI with ``context.sni_callback``, ALPN with
    ``context.set_alpn_protocols``).

    ``AcceptConnection(socket)`` comes at TCP accept with an SSLSocket whose handshake is
    under way; attach to its signals there: it emits Connect once the handshake has
    completed, or Error (ssl.SSLError, or TimeoutError after ``handshake_timeout``
    seconds) and Close if it fails."""

    def __init__(self, host: str, port: int = 0,
                 on_accept: Callable[[Any], object] | None = None, *,
                 context: ssl.SSLContext, loop: uv.Loop | None = None, backlog: int = 511,
                 reuseport: bool = False, handshake_timeout: float | None = 10.0) -> None:
        if not isinstance(context, ssl.SSLContext):
            raise TypeError(f"context must be an ssl.SSLContext, not {type(context).__name__}")
        if handshake_timeout is not None and not handshake_timeout > 0:
            raise ValueError(f"handshake_timeout must be positive, not {handshake_timeout!r}")
        self.context = context
        self.handshake_timeout = handshake_timeout
        super().__init__(host, port, on_accept, loop=loop, backlog=backlog,
                         reuseport=reuseport)

    def _make_listener(self) -> SSLSocket:
        listener = SSLSocket(self.loop, self.context)
        listener.handshake_timeout = self.handshake_timeout
        return listener

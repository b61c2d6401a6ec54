"""TCP relays (RFC 6062) for TurnServer: a TCP allocation's relayed address and its
connections to peers.

A ``TcpRelay`` listens on the relayed address, and opens the connections a client asks
for (Connect) from that same address: both sockets are bound with SO_REUSEPORT, as
Linux refuses a second bind on a listening port otherwise. Each connection to a peer is
a ``PeerConnection`` named by a CONNECTION-ID; it waits, not read, for the client's
ConnectionBind (at most ``BIND_TIMEOUT`` seconds), then is piped to the client's data
connection: bytes both ways, reading one side paused while the other's write queue is
above its high watermark, each side closed with the other.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sourcey import uv
from sourcey.net import Address, TCPSocket

BIND_TIMEOUT = 30.0         # RFC 6062 §5.2, §5.3: ConnectionBind within 30 s
CONNECT_TIMEOUT = 30.0      # the server's give-up time for a Connect (447 then)
MAX_PEER_CONNECTIONS = 64   # per allocation: bounded, as everything a client can make


class PeerConnection:
    """A connection between a relayed address and a peer. ``state``: "connecting"
    (Connect in progress), "waiting" (for ConnectionBind), "bound" (piped to
    ``client``) or "closed"."""

    __slots__ = ("id", "relay", "peer", "sock", "client", "state", "_timer")

    def __init__(self, relay: TcpRelay, ident: int, peer: Address, sock: TCPSocket) -> None:
        self.relay = relay
        self.id = ident
        self.peer = peer
        self.sock = sock
        self.client: Any = None
        self.state = "connecting"
        self._timer: uv.Timer | None = None
        sock.Close.attach(self._peer_closed)

    def wait_for_bind(self) -> None:
        """Connected: hold the peer's bytes (reading paused) until ConnectionBind."""
        self.sock.pause_reading()
        self.state = "waiting"
        self._timer = uv.Timer(self.relay.loop)
        self._timer.start(lambda timer: self.close(), BIND_TIMEOUT)

    def bind(self, client: Any) -> None:
        """Pipe the peer to the client's data connection ``client``: the server's
        reader of that connection hands what it reads to ``to_peer``."""
        self._stop_timer()
        self.state = "bound"
        self.client = client
        # Backpressure: a side's reading pauses while the other's queue is above its
        # high watermark, and resumes at its Drain.
        self.sock.Recv.attach(self._from_peer)
        client.Drain.attach(lambda sock: self.sock.resume_reading())
        self.sock.Drain.attach(lambda sock: client.resume_reading())
        client.Close.attach(lambda sock: self.close())
        self.sock.resume_reading()

    def to_peer(self, data: bytes) -> None:
        """Bytes the client sent on its data connection (the server reads it)."""
        if not self.sock.send(data):
            self.client.pause_reading()

    def _from_peer(self, sock: Any, data: bytes, peer: Any) -> None:
        if not self.client.send(data):
            sock.pause_reading()

    def close(self) -> None:
        """Close the peer connection and the client's data connection (idempotent)."""
        if self.state == "closed":
            return
        self.state = "closed"
        self._stop_timer()
        self.relay.forget(self)
        self.sock.close()
        if self.client is not None:
            self.client.close()

    def _peer_closed(self, sock: Any) -> None:
        self.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.close()
            self._timer = None


class TcpRelay:
    """A TCP allocation's relayed address (``address``). ``connections`` is the
    server's registry of PeerConnections by CONNECTION-ID, shared by its relays.
    ``accept(relay, peer_address)`` says whether an incoming peer has a permission,
    and ``attempt(relay, connection)`` tells the client of one (a ConnectionAttempt).
    ``allocation`` is the server's, set once it is made."""

    def __init__(self, loop: uv.Loop, host: str, port: int,
                 connections: dict[int, PeerConnection], *,
                 accept: Callable[[TcpRelay, Address], bool],
                 attempt: Callable[[TcpRelay, PeerConnection], object]) -> None:
        self.loop = loop
        self.connections = connections
        self.accept = accept
        self.attempt = attempt
        self.allocation: Any = None
        self.by_peer: dict[Address, PeerConnection] = {}
        self.listener = TCPSocket(loop)
        try:
            self.listener.bind(host, port, reuseport=True)
            self.listener.listen()
        except BaseException:
            self.listener.close()
            raise
        address = self.listener.address
        assert address is not None      # bound above
        self.address: Address = address
        self.listener.AcceptConnection.attach(self._accepted)

    def _new(self, peer: Address, sock: TCPSocket) -> PeerConnection:
        ident = random.getrandbits(32)
        while not ident or ident in self.connections:
            ident = random.getrandbits(32)
        conn = PeerConnection(self, ident, peer, sock)
        self.connections[ident] = conn
        self.by_peer[peer] = conn
        return conn

    def forget(self, conn: PeerConnection) -> None:
        if self.connections.get(conn.id) is conn:
            del self.connections[conn.id]
        if self.by_peer.get(conn.peer) is conn:
            del self.by_peer[conn.peer]

    def connect(self, peer: Address,
                done: Callable[[PeerConnection | None, BaseException | None], object]
                ) -> None:
        """Open a connection to ``peer`` from the relayed address (RFC 6062 §5.2):
        ``done(connection, None)`` once connected, ``done(None, error)`` if not. Raises
        FileExistsError for a peer already connected (446), OverflowError over the
        limit, OSError if the socket cannot be bound."""
        if peer in self.by_peer:
            raise FileExistsError(f"a connection to {peer} exists")
        if len(self.by_peer) >= MAX_PEER_CONNECTIONS:
            raise OverflowError(f"{MAX_PEER_CONNECTIONS} connections already")
        sock = TCPSocket(self.loop)
        try:
            sock.bind(self.address.host, self.address.port, reuseport=True)
        except BaseException:
            sock.close()
            raise
        conn = self._new(peer, sock)
        failure: list[BaseException] = []

        def connected(s: Any) -> None:
            conn.wait_for_bind()
            done(conn, None)

        def failed(s: Any, exc: BaseException) -> None:
            failure.append(exc)

        def closed(s: Any) -> None:
            if conn.state == "connecting":
                done(None, failure[0] if failure else ConnectionError("closed"))

        sock.Connect.attach(connected)
        sock.Error.attach(failed)
        # Before PeerConnection's own Close slot, which marks it closed.
        sock.Close.attach(closed, priority=1)
        sock.connect(peer.host, peer.port, timeout=CONNECT_TIMEOUT)

    def _accepted(self, sock: Any) -> None:
        peer = sock.peer_address
        if (len(self.by_peer) >= MAX_PEER_CONNECTIONS or peer in self.by_peer
                or not self.accept(self, peer)):
            sock.abort()
            return
        conn = self._new(peer, sock)
        conn.wait_for_bind()
        self.attempt(self, conn)

    def close(self) -> None:
        """Close the listener and every connection (with their data connections)."""
        self.listener.AcceptConnection.detach(self._accepted)
        self.listener.close()
        for conn in list(self.by_peer.values()):
            conn.close()

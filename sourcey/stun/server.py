"""A STUN server: Binding requests over UDP, TCP and TLS, on IPv4 and IPv6 (RFC 8489).

    server = stun.Server(loop, software="example")
    server.listen("127.0.0.1", 3478)                 # UDP
    server.listen("::1", 3478, transport="tcp")
    server.listen("127.0.0.1", 5349, transport="tls", context=ssl_context)
    loop.run()

``BindingHandler`` is the sans-IO core: bytes and the sender's address in, the reply's
bytes (or None: drop) out. What it answers:

- a Binding request: success with XOR-MAPPED-ADDRESS (and SOFTWARE, FINGERPRINT as
  configured);
- a request with unknown comprehension-required attributes: 420 with
  UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1);
- a request whose header is valid but whose body is malformed, or a request of
  another method: 400;
- nothing for the rest, which RFC 8489 §6.3 says to discard: bytes that are not STUN, a
  FINGERPRINT that does not match, indications (a Binding indication is a keepalive),
  and responses.

The server needs no credentials: it answers Binding requests that carry
MESSAGE-INTEGRITY without checking it, as a STUN server that does not authenticate
(RFC 8489 §9) does.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

from sourcey import uv
from sourcey.net import Address, SSLServer, TCPServer, UDPSocket

from ._codec import Framer, binding_success, is_known
from .constants import (
    BINDING,
    CHANGE_REQUEST,
    ERROR,
    ERROR_CODE,
    REQUEST,
    SOFTWARE,
    XOR_MAPPED_ADDRESS,
)
from .errors import DecodeError
from .message import Message, decode, split_type


class _Understood:
    """The attribute types a Binding server understands: those the codec knows, less
    CHANGE-REQUEST, since RFC 5780's behaviour discovery needs a second address this
    server does not have; RFC 5780 §7.2 has such a server answer it with 420."""

    def __contains__(self, attr_type: object) -> bool:
        return isinstance(attr_type, int) and attr_type != CHANGE_REQUEST and is_known(
            attr_type)


class BindingHandler:
    """Answers one STUN message (see the module's docstring); ``stats`` counts what it
    did: ``success``, ``error`` (400 and 420 sent) and ``dropped``. ``known``: the
    comprehension-required attribute types understood (a container; by default those
    the codec knows, less CHANGE-REQUEST)."""

    def __init__(self, *, software: str | None = "sourcey", fingerprint: bool = True,
                 known: Any = None, max_attributes: int = 64) -> None:
        self.software = software
        self.fingerprint = fingerprint
        self.known = _Understood() if known is None else known
        self.max_attributes = max_attributes
        self.stats = {"success": 0, "error": 0, "dropped": 0}
        self._software = (software or "").encode()
        # The C fast path answers the common case (a valid Binding request) in one call;
        # it knows only the default set of understood attributes.
        self._fast = known is None and len(self._software) <= 763
        self._packed: dict[str, bytes] = {}

    def handle(self, data: bytes, peer: tuple[str, int]) -> bytes | None:
        """The reply to ``data`` from ``peer`` (an ``(ip, port)`` pair), or None."""
        if self._fast and type(data) is bytes:
            packed = self._packed.get(peer[0])
            if packed is None:
                packed = self._pack(peer[0])
            reply = binding_success(data, packed, peer[1], self._software, self.fingerprint,
                                    self.max_attributes)
            if reply is not None:
                self.stats["success"] += 1
                return reply
        return self.handle_general(data, peer)

    def _pack(self, host: str) -> bytes:
        if len(self._packed) >= 4096:       # bounded: a cache of recent clients
            self._packed.clear()
        if host.startswith("::ffff:") and "." in host:
            packed = socket.inet_pton(socket.AF_INET, host[7:])
        elif ":" in host:
            packed = socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
        else:
            packed = socket.inet_pton(socket.AF_INET, host)
        self._packed[host] = packed
        return packed

    def handle_general(self, data: bytes, peer: tuple[str, int]) -> bytes | None:
        """``handle`` without the C fast path: every case through Message."""
        try:
            msg = decode(data, max_attributes=self.max_attributes)
        except DecodeError as exc:
            return self._malformed(exc)
        if msg.cls != REQUEST:
            self.stats["dropped"] += 1
            return None
        unknown = msg.unknown_required(self.known)
        if unknown:
            return self._error(msg.error_response(420, unknown=unknown))
        if msg.method != BINDING:
            return self._error(msg.error_response(400, "Unsupported method"))
        host, port = peer[0], peer[1]
        if host.startswith("::ffff:") and "." in host:
            host = host[7:]     # a dual-stack socket's IPv4 client: its IPv4 address
        reply = msg.response()
        reply.add(XOR_MAPPED_ADDRESS, (host, port))
        self.stats["success"] += 1
        return self._encode(reply)

    def _malformed(self, exc: DecodeError) -> bytes | None:
        # A valid header of a request: the sender is waiting for an answer, so 400. Not
        # for a FINGERPRINT mismatch: such bytes are not STUN at all (RFC 8489 §7.3).
        if (exc.msg_type is None or exc.transaction_id is None or exc.code == "FINGERPRINT"
                or split_type(exc.msg_type)[1] != REQUEST):
            self.stats["dropped"] += 1
            return None
        reply = Message(split_type(exc.msg_type)[0], ERROR, exc.transaction_id)
        reply.add(ERROR_CODE, (400, exc.reason))
        return self._error(reply)

    def _error(self, reply: Message) -> bytes:
        self.stats["error"] += 1
        return self._encode(reply)

    def _encode(self, reply: Message) -> bytes:
        if self.software:
            reply.add(SOFTWARE, self.software)
        return reply.encode(fingerprint=self.fingerprint)


class Server:
    """A STUN server on ``loop`` (default: the default loop): ``listen`` once per
    transport and address. TCP and TLS connections are framed with ``Framer``; a
    stream that is not STUN is closed, and so is a connection idle for
    ``idle_timeout`` seconds; beyond ``max_connections`` new ones are closed at once. A
    client that sends requests without reading the replies is not read from while its
    replies are above the write queue's high watermark.
    ``stats`` adds ``connections`` (open now) to BindingHandler's counts."""

    def __init__(self, loop: uv.Loop | None = None, *, software: str | None = "sourcey",
                 fingerprint: bool = True, max_connections: int = 1024,
                 idle_timeout: float = 300.0) -> None:
        if max_connections < 0:
            raise ValueError(f"max_connections must be >= 0, not {max_connections}")
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive, not {idle_timeout!r}")
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.handler = BindingHandler(software=software, fingerprint=fingerprint)
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._udp: list[UDPSocket] = []
        self._endpoints: list[tuple[str, Address]] = []
        self._streams: list[TCPServer] = []
        self._last_active: dict[Any, float] = {}
        self._sweeper: uv.Timer | None = None

    @property
    def stats(self) -> dict[str, int]:
        return {**self.handler.stats, "connections": len(self._last_active)}

    @property
    def addresses(self) -> list[tuple[str, Address]]:
        """``(transport, address)`` of each endpoint listened on."""
        return list(self._endpoints)

    def listen(self, host: str, port: int = 3478, *, transport: str = "udp",
               context: ssl.SSLContext | None = None) -> Address:
        """Serve on ``host:port`` over ``transport`` ("udp", "tcp" or "tls", the last
        with a server ``context``); returns the bound address (port 0: any free one)."""
        if transport == "udp":
            sock = UDPSocket(self.loop)
            try:
                sock.bind(host, port, ipv6only=":" in host)
            except BaseException:
                sock.close()
                raise
            sock.Recv.attach(self._datagram)
            self._udp.append(sock)
            return self._bound("udp", sock.address)
        if transport == "tcp":
            server: TCPServer = TCPServer(host, port, self._accepted, loop=self.loop)
        elif transport == "tls":
            if context is None:
                raise ValueError("transport 'tls' needs a server ssl.SSLContext")
            server = SSLServer(host, port, self._accepted, context=context, loop=self.loop)
        else:
            raise ValueError(f"transport is 'udp', 'tcp' or 'tls', not {transport!r}")
        self._streams.append(server)
        if self._sweeper is None:
            self._sweeper = uv.Timer(self.loop)
            self._sweeper.start(self._sweep, self.idle_timeout / 2, self.idle_timeout / 2)
            self._sweeper.ref = False       # the listeners keep the loop alive, not this
        return self._bound(transport, server.address)

    def _bound(self, transport: str, address: Address | None) -> Address:
        if address is None:     # a bound socket has a name; this is not expected
            raise OSError(f"no local address after binding for {transport}")
        self._endpoints.append((transport, address))
        return address

    def _datagram(self, sock: UDPSocket, data: bytes, peer: Address) -> None:
        reply = self.handler.handle(data, peer)
        if reply is not None:
            sock.send(reply, peer)

    def _accepted(self, conn: Any) -> None:
        if len(self._last_active) >= self.max_connections:
            conn.close()
            return
        self._last_active[conn] = self.loop.time()
        conn.Recv.attach(self._stream_reader(conn))
        conn.Drain.attach(self._drained)
        conn.Close.attach(self._forget)

    def _stream_reader(self, conn: Any) -> Callable[[Any, bytes, Any], None]:
        framer = Framer()
        handle = self.handler.handle
        active = self._last_active
        loop = self.loop

        def received(sock: Any, data: bytes, peer: Any) -> None:
            active[sock] = loop.time()
            failed = False
            try:
                frames = framer.feed(data)
            except DecodeError as exc:
                # Not STUN: answer what came before it, then close (the stream cannot
                # be resynchronised). close() sends what is queued first.
                frames = exc.frames
                failed = True
                self.handler.stats["dropped"] += 1
            for frame in frames:
                reply = handle(frame, sock.peer_address)
                if reply is not None and not sock.send(reply):
                    # A client that sends and does not read: its replies stop at the
                    # write queue's high watermark, and so does reading (until Drain).
                    sock.pause_reading()
            if failed:
                sock.close()

        return received

    def _drained(self, conn: Any) -> None:
        conn.resume_reading()

    def _forget(self, conn: Any) -> None:
        self._last_active.pop(conn, None)

    def _sweep(self, timer: uv.Timer) -> None:
        deadline = self.loop.time() - self.idle_timeout
        for conn, last in list(self._last_active.items()):
            if last <= deadline:
                conn.close()

    def close(self) -> None:
        """Stop serving: close every socket, listener and connection."""
        for sock in self._udp:
            sock.close()
        for server in self._streams:
            server.close(close_connections=True)
        if self._sweeper is not None:
            self._sweeper.close()
            self._sweeper = None
        self._udp.clear()
        self._streams.clear()
        self._endpoints.clear()

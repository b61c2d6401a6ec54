"""A TURN server (RFC 8656) on sourcey.net: UDP relays for clients over UDP, TCP and
TLS, and TCP relays (RFC 6062) for clients over TCP and TLS.

    server = TurnServer(loop, realm="example.org",
                        credentials=StaticCredentials({"alice": "secret"}))
    server.listen("127.0.0.1", 3478)                   # UDP
    server.listen("127.0.0.1", 3478, transport="tcp")
    loop.run()

What it does: Allocate (UDP relays, IPv4 or IPv6 by REQUESTED-ADDRESS-FAMILY),
Refresh, CreatePermission, ChannelBind, Send and Data indications, ChannelData (padded
over TCP), and Binding (as a STUN server). Every request but Binding needs long-term
credentials (401/438 challenges, see auth.py), and a request about an allocation must
come from its owner (441). Allocations expire (a sweep every ``sweep_interval``
seconds, and lookups), as do permissions (300 s) and channels (600 s); closing a TCP
client's connection deletes its allocation.

Security defaults: peers in loopback, private, link-local, multicast and unspecified
ranges are refused (403), as coturn's ``denied-peer-ip``; ``allowed_peers`` lists
networks to let through anyway (a test's loopback peer). Quotas in total and per user
(486), at most ``max_connections`` TCP clients, relay ports from ``relay_ports``, and
with ``bandwidth`` a limit in bytes per second for each allocation (both directions
together, bursts of one second's worth; what is over it is dropped and counted).

EVEN-PORT gives an even relay port; with its R bit the next port is reserved for 30 s
and its RESERVATION-TOKEN returned, for a later Allocate to claim.

ADDITIONAL-ADDRESS-FAMILY (IPv6) gives a dual allocation: an IPv4 and an IPv6 relay,
each peer reached through the relay of its family (a Refresh covers both).

The relay hot path is in C (sourcey.turn._relay): each allocation of a UDP client is
mirrored into a RelayTable (its permissions, channels and bandwidth bucket), and the
listening UDP sockets and the relays forward ChannelData, Send and Data indications
from their receive hook without a Python call; only what the table cannot decide (the
requests, TCP and TLS clients) comes to Python. ``stats`` adds both paths' counts;
``c_forwarded`` and ``c_dropped`` are the C path's alone.

TCP relays (RFC 6062, see tcp_relay.py): REQUESTED-TRANSPORT 6 over a TCP or TLS
connection (442 over UDP) gives a relayed address listening for peers. Connect opens a
connection from it to a permitted peer (403 without a permission, 446 if one exists,
447 when it fails) and answers with its CONNECTION-ID; a permitted peer connecting in
is announced by a ConnectionAttempt indication. Either waits up to 30 s, unread, for a
ConnectionBind on a new connection of the client (authenticated; its nonce may be the
control connection's), which then becomes a raw pipe to the peer, with backpressure
both ways. Everything closes with the allocation. Send, ChannelBind and ChannelData
are not for TCP allocations (dropped, 400); ``bandwidth`` limits UDP relays only.

Not yet here: DTLS, DONT-FRAGMENT (420).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import socket
import ssl
from collections.abc import Iterable
from typing import Any

from sourcey import stun, uv
from sourcey.net import Address, SSLServer, TCPServer
from sourcey.stun import DecodeError, Message

from ._relay import RelayTable, TurnUDP
from .allocation import Allocation, AllocationTable, FiveTuple, TokenBucket, TurnError
from .auth import (
    CallableCredentials,
    LongTermAuth,
    NonceManager,
    RestApiCredentials,
    StaticCredentials,
)
from .channel import decode_channel_data, encode_channel_data, is_channel_data
from .tcp_relay import PeerConnection, TcpRelay

log = logging.getLogger("sourcey.turn")

DENIED_PEERS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "fc00::/7", "fe80::/10", "ff00::/8",
)

# The comprehension-required attributes this server acts on (or may ignore): the rest,
# DONT-FRAGMENT included, are answered with 420.
_UNDERSTOOD = frozenset((
    stun.MAPPED_ADDRESS, stun.USERNAME, stun.MESSAGE_INTEGRITY, stun.ERROR_CODE,
    stun.UNKNOWN_ATTRIBUTES, stun.CHANNEL_NUMBER, stun.LIFETIME, stun.XOR_PEER_ADDRESS,
    stun.DATA_ATTR, stun.REALM, stun.NONCE, stun.XOR_RELAYED_ADDRESS,
    stun.REQUESTED_ADDRESS_FAMILY, stun.REQUESTED_TRANSPORT, stun.MESSAGE_INTEGRITY_SHA256,
    stun.XOR_MAPPED_ADDRESS, stun.PRIORITY, stun.USE_CANDIDATE, stun.EVEN_PORT,
    stun.RESERVATION_TOKEN, stun.CONNECTION_ID,
))
# ADDITIONAL-ADDRESS-FAMILY is comprehension-optional (0x8000): no need to list it.
RELAY_SLOTS = 10000
# ADDITIONAL-ADDRESS-FAMILY's codepoint before RFC 8656 gave it 0x8000
_DRAFT_ADDITIONAL_ADDRESS_FAMILY = 0x8032
RESERVATION_LIFETIME = 30.0     # RFC 8656 §7.2: about 30 seconds
_UDP = 17
_TCP = 6


class TurnServer:
    """See the module's docstring. ``credentials``: StaticCredentials,
    CallableCredentials or RestApiCredentials. ``relay_hosts``: the IPv4 and/or IPv6
    address relays are bound on. ``stats`` counts allocations and relayed packets."""

    def __init__(self, loop: uv.Loop | None = None, *, realm: str,
                 credentials: StaticCredentials | CallableCredentials | RestApiCredentials,
                 relay_hosts: Iterable[str] = ("127.0.0.1", "::1"),
                 relay_ports: tuple[int, int] = (49152, 65535),
                 software: str | None = "sourcey", fingerprint: bool = True,
                 max_allocations: int = 1000, max_per_user: int = 10,
                 max_lifetime: float = 3600.0, nonce_lifetime: float = 600.0,
                 allowed_peers: Iterable[str] = (), denied_peers: Iterable[str] = DENIED_PEERS,
                 sweep_interval: float = 5.0, max_connections: int = 1000,
                 bandwidth: float | None = None) -> None:
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.auth = LongTermAuth(realm, credentials, NonceManager(nonce_lifetime))
        self.table = AllocationTable(max_allocations=max_allocations,
                                     max_per_user=max_per_user, max_lifetime=max_lifetime,
                                     on_remove=self._released)
        self.relay_hosts = {Address(h, 0).family: h for h in relay_hosts}
        low, high = relay_ports
        if not 0 < low <= high <= 65535:
            raise ValueError(f"relay_ports must be 1-65535, low <= high, not {relay_ports}")
        self.relay_ports = (low, high)
        self.software = software
        self.fingerprint = fingerprint
        self.allowed = [ipaddress.ip_network(n) for n in allowed_peers]
        self.denied = [ipaddress.ip_network(n) for n in denied_peers]
        self.binding = stun.BindingHandler(software=software, fingerprint=fingerprint)
        self._stats = {"allocations": 0, "to_peer": 0, "to_client": 0, "dropped": 0,
                       "errors": 0}
        # The C relay path's table (about 1 KiB per slot, allocated now): allocations
        # beyond RELAY_SLOTS are relayed by the Python path.
        self.relay = RelayTable(max(1, min(max_allocations, RELAY_SLOTS)))
        self._udp: list[TurnUDP] = []
        self._tcp: list[TCPServer] = []
        # The socket each allocation's client is reached through: the listening UDP
        # socket it came in on, or its TCP connection.
        self._senders: dict[FiveTuple, Any] = {}
        self._reservations: dict[bytes, tuple[TurnUDP, float]] = {}
        self._connections: set[Any] = set()
        # TCP relays (RFC 6062): peer connections by CONNECTION-ID, and the client data
        # connections piped to one.
        self._peer_connections: dict[int, PeerConnection] = {}
        self._bound: dict[Any, PeerConnection] = {}
        self.max_connections = max_connections
        self.bandwidth = bandwidth
        self._sweeper = uv.Timer(self.loop)
        self._sweeper.start(self._sweep, sweep_interval, sweep_interval)
        self._sweeper.ref = False

    # -- listening -----------------------------------------------------------------------

    def listen(self, host: str, port: int = 3478, *, transport: str = "udp",
               context: ssl.SSLContext | None = None) -> Address:
        """Serve clients on ``host:port`` over "udp", "tcp" or "tls" (the last with a
        server ``context``); returns the address."""
        if transport == "udp":
            sock = _bind_udp(self.loop, host, port)
            local = _address(sock)

            def datagram(s: TurnUDP, peer: tuple[Any, ...] | None, flags: int,
                         data: bytes | None, error: int | None) -> None:
                if peer is not None and data is not None:
                    self._from_client(("udp", Address(peer[0], peer[1]), local), data, s)

            sock.start_recv(datagram)
            self.relay.listener(sock)
            self._udp.append(sock)
            return local
        if transport == "tcp":
            server = TCPServer(host, port, self._accepted, loop=self.loop)
        elif transport == "tls":
            if context is None:
                raise ValueError("transport 'tls' needs a server ssl.SSLContext")
            server = SSLServer(host, port, self._accepted, context=context, loop=self.loop)
        else:
            raise ValueError(f"transport is 'udp', 'tcp' or 'tls', not {transport!r}")
        self._tcp.append(server)
        return Address(*server.address)

    def _accepted(self, conn: Any) -> None:
        if len(self._connections) >= self.max_connections:
            conn.close()
            return
        self._connections.add(conn)
        five: FiveTuple = ("tls" if conn.transport == "SSL" else "tcp", conn.peer_address,
                           conn.address)
        self._senders[five] = conn
        buf = bytearray()

        def received(sock: Any, data: bytes, peer: Any) -> None:
            bound = self._bound.get(sock)
            if bound is not None:
                bound.to_peer(data)
                return
            # Framed here one frame at a time, not by a stun.Framer: after a
            # ConnectionBind (RFC 6062 §5.4) the rest of the stream is raw data.
            buf.extend(data)
            off = 0
            failed = False
            rest = b""
            try:
                with memoryview(buf) as view:
                    while not sock.closed:
                        n = stun.frame_length(view[off:], True)
                        if n < 0:
                            # Not STUN nor ChannelData: the connection closes (a stream
                            # cannot be resynchronised).
                            failed = True
                            self._stats["dropped"] += 1
                            break
                        if n == 0 or n > len(view) - off:
                            break
                        size = n
                        if view[off] & 0xC0:    # ChannelData: without its padding
                            size = 4 + ((view[off + 2] << 8) | view[off + 3])
                        frame = bytes(view[off:off + size])
                        off += n
                        self._from_client(five, frame, sock)
                        bound = self._bound.get(sock)
                        if bound is not None:
                            rest = bytes(view[off:])
                            off = len(view)
                            break
            finally:
                del buf[:off]
            if failed:
                sock.close()
            elif bound is not None and rest:
                bound.to_peer(rest)

        def closed(sock: Any) -> None:
            # RFC 8656 §3.1: the allocation of a TCP client ends with its connection.
            self._senders.pop(five, None)
            self._bound.pop(sock, None)
            self._connections.discard(sock)
            alloc = self.table.get(five, self.loop.time())
            if alloc is not None:
                self.table.remove(alloc)

        conn.Recv.attach(received)
        conn.Close.attach(closed)

    # -- from the client -----------------------------------------------------------------

    def _from_client(self, five: FiveTuple, data: bytes, sock: Any) -> None:
        now = self.loop.time()
        if is_channel_data(data):
            self._channel_data(five, data, now)
            return
        if data[:1] and data[0] >= 0x40:
            self._stats["dropped"] += 1
            return
        try:
            msg = stun.decode(data)
        except DecodeError:
            # Binding's rules for what gets a 400 and what is dropped apply to all.
            self._reply(five, sock, self.binding.handle(data, five[1]))
            return
        if msg.cls == stun.INDICATION:
            if msg.method == stun.SEND:
                self._send_indication(five, msg, now)
            else:
                self._stats["dropped"] += 1
            return
        if msg.cls != stun.REQUEST:
            self._stats["dropped"] += 1
            return
        if msg.method == stun.BINDING:
            self._reply(five, sock, self.binding.handle(data, five[1]))
            return
        unknown = msg.unknown_required(_UNDERSTOOD)
        if unknown:
            log.debug("420 to %s: unknown %s", five[1], [f"{t:#06x}" for t in unknown])
            self._reply(five, sock, self._encode(msg.error_response(420, unknown=unknown)))
            return
        key, challenge = self.auth.check(msg, self._nonce_owner(five, msg), now)
        if challenge is not None:
            self._reply(five, sock, self._encode(challenge))
            return
        assert key is not None
        if msg.method in (stun.CONNECT, stun.CONNECTION_BIND):
            try:
                if msg.method == stun.CONNECT:
                    self._connect(five, msg, key, sock, now)
                else:
                    self._connection_bind(five, msg, key, sock, now)
            except TurnError as exc:
                self._stats["errors"] += 1
                self._reply(five, sock, self._encode(
                    msg.error_response(exc.code, exc.reason), key))
            return
        if msg.method == stun.ALLOCATE:
            # A retransmitted Allocate (its response was lost) gets that response again,
            # not a 437 (RFC 8656 §7.2).
            alloc = self.table.get(five, now)
            if alloc is not None and alloc.allocate_reply[0] == msg.transaction_id:
                self._reply(five, sock, alloc.allocate_reply[1])
                return
        try:
            reply = self._request(five, msg, now)
        except TurnError as exc:
            self._stats["errors"] += 1
            reply = msg.error_response(exc.code, exc.reason)
        data = self._encode(reply, key)
        if msg.method == stun.ALLOCATE and reply.cls == stun.SUCCESS:
            self._senders[five] = sock
            alloc = self.table.get(five, now)
            if alloc is not None:
                alloc.allocate_reply = (msg.transaction_id, data)
                self._mirror(alloc, sock)
        self._reply(five, sock, data)

    def _request(self, five: FiveTuple, msg: Message, now: float) -> Message:
        if msg.method == stun.ALLOCATE:
            return self._allocate(five, msg, now)
        if msg.method not in (stun.REFRESH, stun.CREATE_PERMISSION, stun.CHANNEL_BIND):
            raise TurnError(400, "unsupported method")
        alloc = self._owned(five, msg, now)
        if msg.method == stun.REFRESH:
            family = msg.get(stun.REQUESTED_ADDRESS_FAMILY)
            if family is not None and _family(family) not in _families(alloc):
                raise TurnError(443, "the allocation is of another address family")
            lifetime = msg.get(stun.LIFETIME)
            granted = 0.0 if lifetime == 0 else self.table.lifetime(lifetime)
            self.table.refresh(alloc, granted, now)
            if alloc.slot >= 0:
                self.relay.lifetime(alloc.slot, alloc.expires)
            return msg.response().add(stun.LIFETIME, int(granted))
        peers = msg.get_all(stun.XOR_PEER_ADDRESS)
        if not peers:
            raise TurnError(400, "XOR-PEER-ADDRESS is missing")
        for peer in peers:
            self._check_peer(alloc, peer)
        if msg.method == stun.CREATE_PERMISSION:
            for peer in peers:
                alloc.add_permission(peer.host, now)
                if alloc.slot >= 0:
                    self.relay.permit(alloc.slot, peer.host, alloc.permissions[peer.host])
        else:
            if isinstance(alloc.data, TcpRelay):
                raise TurnError(400, "no channels on a TCP allocation")
            channel = msg.get(stun.CHANNEL_NUMBER)
            if channel is None:
                raise TurnError(400, "CHANNEL-NUMBER is missing")
            peer = peers[0]
            alloc.bind_channel(channel, peer, now)
            if alloc.slot >= 0:
                self.relay.bind(alloc.slot, channel, peer, alloc.channels[channel][1])
                self.relay.permit(alloc.slot, peer.host, alloc.permissions[peer.host])
        return msg.response()

    def _owned(self, five: FiveTuple, msg: Message, now: float) -> Allocation:
        """The allocation of ``five``, which must be the requester's (437, 441)."""
        alloc = self.table.get(five, now)
        if alloc is None:
            raise TurnError(437, "no allocation for this 5-tuple")
        if alloc.username != msg.get(stun.USERNAME):
            raise TurnError(441, "the allocation belongs to another user")
        return alloc

    def _allocate(self, five: FiveTuple, msg: Message, now: float) -> Message:
        if self.table.get(five, now) is not None:
            raise TurnError(437, "the 5-tuple already has an allocation")
        transport = msg.get(stun.REQUESTED_TRANSPORT)
        if transport is None:
            raise TurnError(400, "REQUESTED-TRANSPORT is missing")
        if transport not in (_UDP, _TCP):
            raise TurnError(442, "only UDP and TCP relays")
        tcp = transport == _TCP
        if tcp and five[0] == "udp":
            # RFC 6062 §5.1: a TCP allocation is made over a TCP or TLS connection.
            raise TurnError(442, "a TCP relay needs a TCP or TLS control connection")
        family = _family(msg.get(stun.REQUESTED_ADDRESS_FAMILY, 1))
        host = self.relay_hosts.get(family)
        if host is None:
            raise TurnError(440, "no relay of that address family")
        username = msg.get(stun.USERNAME)
        self.table.check_quota(username)
        even = msg.get(stun.EVEN_PORT)
        token = msg.get(stun.RESERVATION_TOKEN)
        additional = msg.get(stun.ADDITIONAL_ADDRESS_FAMILY)
        if additional is None:
            # coturn's turnutils_uclient -Z still sends the codepoint of the turnbis
            # drafts: taken as the same attribute, else its client gets an IPv4-only
            # allocation and fails its IPv6 refresh
            draft = msg.get_raw(_DRAFT_ADDITIONAL_ADDRESS_FAMILY)
            if draft:
                additional = draft[0]
        if additional is not None and (additional != 2 or token is not None
                                       or stun.REQUESTED_ADDRESS_FAMILY in msg):
            raise TurnError(400, "ADDITIONAL-ADDRESS-FAMILY is IPv6, without "
                                 "REQUESTED-ADDRESS-FAMILY or RESERVATION-TOKEN")
        reserve = None
        relay: Any
        if tcp:
            if even is not None or token is not None or additional is not None:
                raise TurnError(400, "EVEN-PORT, RESERVATION-TOKEN and "
                                     "ADDITIONAL-ADDRESS-FAMILY are for UDP relays")
            relay = self._open_tcp_relay(host)
        elif token is not None:
            if even is not None or stun.REQUESTED_ADDRESS_FAMILY in msg:
                raise TurnError(400, "RESERVATION-TOKEN with EVEN-PORT or an address family")
            relay = self._claim(token, now)
        else:
            if even and len(self._reservations) >= self.table.max_allocations:
                raise TurnError(508, "too many port reservations")    # bounded, too
            relay, reserve = self._open_relay(host, even is not None, bool(even))
        lifetime = self.table.lifetime(msg.get(stun.LIFETIME))
        relayed = relay.address if tcp else _address(relay)
        try:
            alloc = self.table.create(five, relayed, username, lifetime, now)
        except BaseException:
            relay.close()
            raise
        alloc.data = relay
        if tcp:
            relay.allocation = alloc
        else:
            if self.bandwidth:
                alloc.bandwidth = TokenBucket(self.bandwidth)
            relay.start_recv(self._peer_reader(alloc))
        self._stats["allocations"] += 1
        log.debug("allocation %s for %s on %s", relayed, username, five)
        reply = msg.response()
        reply.add(stun.XOR_RELAYED_ADDRESS, relayed)
        reply.add(stun.LIFETIME, int(lifetime))
        reply.add(stun.XOR_MAPPED_ADDRESS, five[1])
        if additional is not None:
            self._add_ipv6_relay(alloc, reply)
        if reserve is not None:
            token = os.urandom(8)
            self._reservations[token] = (reserve, now + RESERVATION_LIFETIME)
            reply.add(stun.RESERVATION_TOKEN, token)
        return reply

    def _add_ipv6_relay(self, alloc: Allocation, reply: Message) -> None:
        """A dual allocation's IPv6 relay (RFC 8656 §7.2); when it cannot be had, the
        IPv4 one stands and ADDRESS-ERROR-CODE says why."""
        host = self.relay_hosts.get(socket.AF_INET6)
        try:
            if host is None:
                raise TurnError(440, "no IPv6 relay")
            relay, _ = self._open_relay(host)
        except TurnError as exc:
            reply.add(stun.ADDRESS_ERROR_CODE, (6, exc.code, exc.reason))
            return
        relayed = _address(relay)
        alloc.extra = (relayed, relay)
        relay.start_recv(self._peer_reader(alloc))
        reply.add(stun.XOR_RELAYED_ADDRESS, relayed)

    def _open_relay(self, host: str, even: bool = False,
                    reserve: bool = False) -> tuple[TurnUDP, TurnUDP | None]:
        """A relay socket on a free port of the range (even, if asked), and with
        ``reserve`` a second one on the next port; 508 when none is found."""
        low, high = self.relay_ports
        for _ in range(min(32, high - low + 1)):
            port = random.randint(low, high)
            if even:
                port &= ~1
            if (port < low or (reserve and port + 1 > high) or self._taken(host, port)
                    or (reserve and self._taken(host, port + 1))):
                continue
            socks: list[TurnUDP] = []
            try:
                for p in (port, port + 1) if reserve else (port,):
                    socks.append(_bind_udp(self.loop, host, p))
            except OSError:
                for sock in socks:
                    sock.close()
                continue
            return socks[0], socks[1] if reserve else None
        raise TurnError(508, "no relay port free")

    def _taken(self, host: str, port: int) -> bool:
        """Whether ``host:port`` is an allocation's relayed address already (of the
        other transport: the table knows addresses, not protocols)."""
        return self.table.by_relayed(Address(host, port), self.loop.time()) is not None

    def _open_tcp_relay(self, host: str) -> TcpRelay:
        """A TCP relay listening on a free port of the range; 508 when none is found.
        Ports held by UDP reservations are skipped too, for their later claim."""
        low, high = self.relay_ports
        reserved = {_address(sock).port for sock, _ in self._reservations.values()}
        for _ in range(min(32, high - low + 1)):
            port = random.randint(low, high)
            if port in reserved or self._taken(host, port):
                continue
            try:
                return TcpRelay(self.loop, host, port, self._peer_connections,
                                accept=self._peer_permitted, attempt=self._attempt)
            except OSError:
                continue
        raise TurnError(508, "no relay port free")

    def _claim(self, token: bytes, now: float) -> TurnUDP:
        entry = self._reservations.pop(token, None)
        if entry is None or now >= entry[1]:
            if entry is not None:
                entry[0].close()
            raise TurnError(508, "no such reservation")
        return entry[0]

    def _check_peer(self, alloc: Allocation, peer: Address) -> None:
        if peer.family not in _families(alloc):
            raise TurnError(443, "the peer is of another address family")
        ip = ipaddress.ip_address(peer.host)
        if (any(ip in net for net in self.denied)
                and not any(ip in net for net in self.allowed)):
            raise TurnError(403, f"relaying to {peer.host} is not allowed")

    def _send_indication(self, five: FiveTuple, msg: Message, now: float) -> None:
        alloc = self.table.get(five, now)
        peer = msg.get(stun.XOR_PEER_ADDRESS)
        data = msg.get(stun.DATA_ATTR)
        if (alloc is None or peer is None or data is None
                or isinstance(alloc.data, TcpRelay)
                or not alloc.has_permission(peer.host, now)
                or (alloc.bandwidth is not None and not alloc.bandwidth.take(len(data), now))):
            self._stats["dropped"] += 1
            return
        _relay_for(alloc, peer).send(peer, data)
        self._stats["to_peer"] += 1

    def _channel_data(self, five: FiveTuple, data: bytes, now: float) -> None:
        alloc = self.table.get(five, now)
        peer = payload = None
        if alloc is not None:
            try:
                channel, payload = decode_channel_data(data)
                peer = alloc.peer_for_channel(channel, now)
            except DecodeError:
                pass
        if (alloc is None or peer is None or payload is None
                or isinstance(alloc.data, TcpRelay)
                or not alloc.has_permission(peer.host, now)
                or (alloc.bandwidth is not None
                    and not alloc.bandwidth.take(len(payload), now))):
            self._stats["dropped"] += 1
            return
        _relay_for(alloc, peer).send(peer, payload)
        self._stats["to_peer"] += 1

    # -- TCP relays (RFC 6062) -------------------------------------------------------------

    def _connect(self, five: FiveTuple, msg: Message, key: bytes, sock: Any,
                 now: float) -> None:
        """Connect (§5.2): answered once the connection to the peer is made (with its
        CONNECTION-ID) or has failed (447)."""
        alloc = self._owned(five, msg, now)
        relay = alloc.data
        if not isinstance(relay, TcpRelay):
            raise TurnError(400, "Connect is for TCP allocations")
        peer = msg.get(stun.XOR_PEER_ADDRESS)
        if peer is None:
            raise TurnError(400, "XOR-PEER-ADDRESS is missing")
        self._check_peer(alloc, peer)
        if not alloc.has_permission(peer.host, now):
            raise TurnError(403, f"no permission for {peer.host}")

        def done(conn: PeerConnection | None, exc: BaseException | None) -> None:
            if sock.closed:
                if conn is not None:
                    conn.close()
                return
            if conn is None:
                self._stats["errors"] += 1
                log.debug("Connect to %s failed: %s", peer, exc)
                reply = msg.error_response(447, f"connection to {peer} failed")
            else:
                reply = msg.response().add(stun.CONNECTION_ID, conn.id)
            self._reply(five, sock, self._encode(reply, key))

        try:
            relay.connect(peer, done)
        except FileExistsError:
            raise TurnError(446, f"a connection to {peer} exists") from None
        except OverflowError:
            raise TurnError(508, "too many connections on this allocation") from None
        except OSError as exc:
            raise TurnError(447, f"cannot connect to {peer}: {exc}") from None

    def _nonce_owner(self, five: FiveTuple, msg: Message) -> Address:
        """The client address a request's nonce is bound to: its own, except for a
        ConnectionBind naming a waiting connection, which may carry the nonce of its
        allocation's control connection (turnutils_uclient and other clients reuse
        it on the new connection, RFC 6062 §5.4)."""
        if msg.method == stun.CONNECTION_BIND:
            ident = msg.get(stun.CONNECTION_ID)
            conn = self._peer_connections.get(ident) if ident is not None else None
            if conn is not None and conn.relay.allocation is not None:
                client: Address = conn.relay.allocation.five_tuple[1]
                return client
        return five[1]

    def _connection_bind(self, five: FiveTuple, msg: Message, key: bytes, sock: Any,
                         now: float) -> None:
        """ConnectionBind (§5.4): a new connection of the client becomes the data
        connection of a peer connection waiting for it."""
        if five[0] == "udp" or self.table.get(five, now) is not None:
            raise TurnError(400, "ConnectionBind is for a new TCP or TLS connection")
        ident = msg.get(stun.CONNECTION_ID)
        conn = self._peer_connections.get(ident) if ident is not None else None
        if conn is None or conn.state != "waiting":
            raise TurnError(400, "no connection waiting for that CONNECTION-ID")
        if conn.relay.allocation.username != msg.get(stun.USERNAME):
            raise TurnError(441, "the connection belongs to another user")
        self._reply(five, sock, self._encode(msg.response(), key))
        self._senders.pop(five, None)
        self._bound[sock] = conn
        conn.bind(sock)

    def _peer_permitted(self, relay: TcpRelay, peer: Address) -> bool:
        alloc = relay.allocation
        return alloc is not None and alloc.has_permission(peer.host, self.loop.time())

    def _attempt(self, relay: TcpRelay, conn: PeerConnection) -> None:
        """A peer connected to the relayed address: ConnectionAttempt (§5.3)."""
        indication = Message(stun.CONNECTION_ATTEMPT, stun.INDICATION)
        indication.add(stun.CONNECTION_ID, conn.id).add(stun.XOR_PEER_ADDRESS, conn.peer)
        self._to_client(relay.allocation.five_tuple, self._encode(indication))

    # -- from a peer -----------------------------------------------------------------------

    def _peer_reader(self, alloc: Allocation) -> Any:
        five = alloc.five_tuple
        stream = five[0] != "udp"

        def received(relay: TurnUDP, source: tuple[Any, ...] | None, flags: int,
                     data: bytes | None, error: int | None) -> None:
            if source is None or data is None:
                return
            peer = Address(source[0], source[1])
            now = self.loop.time()
            if not alloc.has_permission(peer.host, now) or (
                    alloc.bandwidth is not None and not alloc.bandwidth.take(len(data), now)):
                self._stats["dropped"] += 1
                return
            channel = alloc.channel_for_peer(peer, now)
            if channel is not None:
                out = encode_channel_data(channel, data, pad=stream)
            else:
                out = Message(stun.DATA, stun.INDICATION).add(
                    stun.XOR_PEER_ADDRESS, peer).add(stun.DATA_ATTR, data).encode()
            self._to_client(five, out)
            self._stats["to_client"] += 1

        return received

    # -- replies ---------------------------------------------------------------------------

    def _encode(self, reply: Message, key: bytes | None = None) -> bytes:
        if self.software:
            reply.add(stun.SOFTWARE, self.software)
        return reply.encode(key, fingerprint=self.fingerprint)

    def _reply(self, five: FiveTuple, sock: Any, data: bytes | None) -> None:
        if data is None:
            return
        if five[0] == "udp":
            sock.send(five[1], data)
        else:
            sock.send(data)

    def _to_client(self, five: FiveTuple, data: bytes) -> None:
        sock = self._senders.get(five)
        if sock is not None:
            self._reply(five, sock, data)

    # -- lifetimes -------------------------------------------------------------------------

    def _mirror(self, alloc: Allocation, sock: Any) -> None:
        """Hand a UDP client's new allocation to the C relay table (when it has room):
        from now on its datagrams and its peers' are forwarded in C, and its bandwidth
        bucket is the table's, shared with the Python path."""
        if alloc.five_tuple[0] != "udp":
            return
        relays = [alloc.data] if alloc.extra is None else [alloc.data, alloc.extra[1]]
        slot = self.relay.add(sock, alloc.five_tuple[1], relays)
        if slot < 0:
            return
        alloc.slot = slot
        self.relay.lifetime(slot, alloc.expires)
        if self.bandwidth:
            self.relay.limit(slot, self.bandwidth, self.bandwidth)
            alloc.bandwidth = _TableBucket(self.relay, slot)

    @property
    def stats(self) -> dict[str, int]:
        """Counts: allocations, to_peer, to_client, dropped (both paths), errors, and the
        C path's own c_forwarded, c_dropped and send_errors."""
        c = self.relay.stats
        out = dict(self._stats)
        for key in ("to_peer", "to_client", "dropped"):
            out[key] += c[key]
        out["c_forwarded"] = c["to_peer"] + c["to_client"]
        out["c_dropped"] = c["dropped"]
        out["send_errors"] = c["send_errors"]
        return out

    def _released(self, alloc: Allocation) -> None:
        if alloc.slot >= 0:
            self.relay.remove(alloc.slot)
            alloc.slot = -1
        if alloc.five_tuple[0] == "udp":
            self._senders.pop(alloc.five_tuple, None)
        if alloc.data is not None:
            alloc.data.close()
            alloc.data = None
        if alloc.extra is not None:
            alloc.extra[1].close()
            alloc.extra = None

    def _sweep(self, timer: uv.Timer) -> None:
        now = self.loop.time()
        self.table.expire(now)
        for token, (sock, expires) in list(self._reservations.items()):
            if now >= expires:
                del self._reservations[token]
                sock.close()

    def close(self) -> None:
        """Stop: close the listeners, the client connections and every relay."""
        for alloc in list(self.table):
            self.table.remove(alloc)
        for sock, _ in self._reservations.values():
            sock.close()
        self._reservations.clear()
        for sock in self._udp:
            sock.close()
        for server in self._tcp:
            server.close(close_connections=True)
        self._udp.clear()
        self._tcp.clear()
        self._sweeper.close()


class _TableBucket:
    """An allocation's bandwidth bucket kept in the C relay table, as a TokenBucket."""

    __slots__ = ("table", "slot")

    def __init__(self, table: RelayTable, slot: int) -> None:
        self.table = table
        self.slot = slot

    def take(self, n: int, now: float) -> bool:
        return bool(self.table.take(self.slot, n, now))


def _bind_udp(loop: uv.Loop, host: str, port: int) -> TurnUDP:
    sock = TurnUDP(loop)
    try:
        sock.bind((host, port), uv.UV_UDP_IPV6ONLY if ":" in host else 0)
    except BaseException:
        sock.close()
        raise
    return sock


def _address(sock: TurnUDP) -> Address:
    host, port = sock.getsockname()[:2]
    return Address(host, port)


def _families(alloc: Allocation) -> tuple[int, ...]:
    if alloc.extra is None:
        return (alloc.relayed.family,)
    return (alloc.relayed.family, alloc.extra[0].family)


def _relay_for(alloc: Allocation, peer: Address) -> Any:
    """The relay socket that reaches ``peer``: a dual allocation has one per family."""
    if alloc.extra is not None and peer.family == alloc.extra[0].family:
        return alloc.extra[1]
    return alloc.data


def _family(value: int) -> int:
    """REQUESTED-ADDRESS-FAMILY's 0x01/0x02 as socket.AF_INET/AF_INET6."""
    if value == 1:
        return socket.AF_INET
    if value == 2:
        return socket.AF_INET6
    raise TurnError(440, f"unknown address family {value:#x}")

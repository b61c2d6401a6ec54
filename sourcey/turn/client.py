"""A TURN client (RFC 8656) on sourcey.net: allocate a relay, create permissions, bind
channels, send and receive through the server, over UDP, TCP or TLS (``context``: the
client ssl.SSLContext; by default the system's CAs, verified).

    client = TurnClient(loop, ("turn.example.org", 3478), "alice", "secret")
    client.Allocated += lambda c, relayed: c.bind_channel(peer)
    client.Recv += lambda c, data, peer: print(peer, data)
    client.allocate()
    ...
    client.send(b"hello", peer)          # ChannelData if a channel is bound, else Send

Requests are retransmitted over UDP (RTO ``rto`` seconds, doubling, 7 sends, then
TimeoutError: RFC 8489 §6.2.1); the 401 and 438 challenges are answered with the
long-term credentials and the server's REALM and NONCE. Once allocated, the client
refreshes the allocation before it expires, and its permissions and channel bindings
every 4 and 9 minutes (they last 5 and 10). ``close()`` deletes the allocation (Refresh
with LIFETIME 0) before closing the socket.

Signals: ``Allocated(client, relayed_address)``, ``Recv(client, data, peer)``,
``Error(client, exc)`` (a TurnError with the server's code, TimeoutError, OSError) and
``Close(client)``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from sourcey import stun, uv
from sourcey.net import Address, SSLSocket, TCPSocket, UDPSocket
from sourcey.signals import Signal
from sourcey.stun import DecodeError, Message

from .allocation import TurnError
from .channel import CHANNEL_MIN, decode_channel_data, encode_channel_data, is_channel_data

Callback = Callable[[Message | None, BaseException | None], object]

_RETRIES = 7            # Rc: sends of one request over UDP
_STREAM_TIMEOUT = 39.5  # Ti: how long a request over TCP waits


class _Transaction:
    __slots__ = ("msg", "callback", "timer", "rto", "sends", "retried")

    def __init__(self, msg: Message, callback: Callback, rto: float) -> None:
        self.msg = msg
        self.callback = callback
        self.timer: uv.Timer | None = None
        self.rto = rto
        self.sends = 0
        self.retried = False     # answered a 401/438 challenge once already


class TurnClient:
    """See the module's docstring. ``server`` is an Address or ``(ip, port)``."""

    def __init__(self, loop: uv.Loop | None, server: Any, username: str, password: str, *,
                 transport: str = "udp", rto: float = 0.5, software: str | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        if transport not in ("udp", "tcp", "tls"):
            raise ValueError(f"transport is 'udp', 'tcp' or 'tls', not {transport!r}")
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.server = Address.parse(server)
        self.username = username
        self.password = password
        self.transport = transport
        self.rto = rto
        self.software = software
        self.realm: str | None = None
        self.nonce: str | None = None
        self.key: bytes | None = None
        self.relayed: Address | None = None
        self.lifetime = 0.0
        self.Allocated = Signal(self.loop, "Allocated")
        self.Recv = Signal(self.loop, "Recv")
        self.Error = Signal(self.loop, "Error")
        self.Close = Signal(self.loop, "Close")
        self._pending: dict[bytes, _Transaction] = {}
        self._channels: dict[Address, int] = {}
        self._peers: dict[int, Address] = {}
        self._permissions: set[str] = set()
        self._next_channel = CHANNEL_MIN
        self._closing = False
        self._maintenance: uv.Timer | None = None
        self._due: dict[str, float] = {}
        self._outbox: list[bytes] = []
        self._connected = transport == "udp"
        self.sock: Any
        if transport == "udp":
            self.sock = UDPSocket(self.loop)
            self.sock.bind("::" if ":" in self.server.host else "0.0.0.0", 0)
            self.sock.Recv.attach(lambda s, data, peer: self._received(data))
        else:
            self.sock = (TCPSocket(self.loop) if transport == "tcp"
                         else SSLSocket(self.loop, context))
            framer = stun.Framer(channel_data=True)

            def stream(s: Any, data: bytes, peer: Any) -> None:
                try:
                    frames = framer.feed(data)
                except DecodeError as exc:
                    self._fail(exc)
                    return
                for frame in frames:
                    self._received(frame)

            self.sock.Recv.attach(stream)
            self.sock.Connect.attach(self._stream_connected)
            self.sock.connect(self.server.host, self.server.port)
        self.sock.Error.attach(lambda s, exc: self._fail(exc))
        self.sock.Close.attach(lambda s: self._closed())

    # -- the allocation ------------------------------------------------------------------

    def allocate(self, *, lifetime: int | None = None, family: int = 4) -> None:
        """Ask for a UDP relay (``family`` 4 or 6); Allocated or Error follows."""
        msg = Message(stun.ALLOCATE).add(stun.REQUESTED_TRANSPORT, 17)
        if family == 6:
            msg.add(stun.REQUESTED_ADDRESS_FAMILY, 2)
        if lifetime is not None:
            msg.add(stun.LIFETIME, lifetime)
        self.request(msg, self._allocated)

    def _allocated(self, reply: Message | None, error: BaseException | None) -> None:
        if error is not None or reply is None:
            self._fail(error or TurnError(500, "no answer"))
            return
        self.relayed = reply.get(stun.XOR_RELAYED_ADDRESS)
        self.lifetime = float(reply.get(stun.LIFETIME, 600))
        now = self.loop.time()
        # Due times: the allocation a minute before it expires (or halfway through a
        # short one), permissions every 240 s (they last 300), channels every 540 s.
        self._due = {"allocation": now + max(self.lifetime - 60, self.lifetime / 2),
                     "permissions": now + 240.0, "channels": now + 540.0}
        self._maintenance = uv.Timer(self.loop)
        tick = min(30.0, self.lifetime / 4)
        self._maintenance.start(self._maintain, tick, tick)
        self._maintenance.ref = False
        self.Allocated.emit(self, self.relayed)

    def _maintain(self, timer: uv.Timer) -> None:
        now = self.loop.time()
        due = self._due
        if now >= due["allocation"]:
            due["allocation"] = now + max(self.lifetime - 60, self.lifetime / 2)
            self.request(Message(stun.REFRESH).add(stun.LIFETIME, int(self.lifetime)),
                         self._refreshed)
        if now >= due["permissions"]:
            due["permissions"] = now + 240.0
            if self._permissions:
                self.create_permission(*(Address(ip, 0) for ip in self._permissions))
        if now >= due["channels"]:
            due["channels"] = now + 540.0
            for peer, channel in list(self._channels.items()):
                self._bind(peer, channel, None)

    def _refreshed(self, reply: Message | None, error: BaseException | None) -> None:
        if error is not None:
            self._fail(error)

    def create_permission(self, *peers: Any, callback: Callback | None = None) -> None:
        """Install (or refresh) permissions for the peers' IP addresses."""
        msg = Message(stun.CREATE_PERMISSION)
        for peer in peers:
            address = Address.parse(peer)
            msg.add(stun.XOR_PEER_ADDRESS, address)
            self._permissions.add(address.host)
        self.request(msg, callback or self._report)

    def bind_channel(self, peer: Any, callback: Callback | None = None) -> int:
        """Bind the next free channel number to ``peer``; returns the number. Sends to
        that peer go as ChannelData once the server has answered."""
        address = Address.parse(peer)
        channel = self._channels.get(address)
        if channel is None:
            channel = self._next_channel
            self._next_channel += 1
        self._bind(address, channel, callback)
        return channel

    def _bind(self, peer: Address, channel: int, callback: Callback | None) -> None:
        def done(reply: Message | None, error: BaseException | None) -> None:
            if error is None:
                self._channels[peer] = channel
                self._peers[channel] = peer
                self._permissions.add(peer.host)
            (callback or self._report)(reply, error)

        self.request(Message(stun.CHANNEL_BIND).add(stun.CHANNEL_NUMBER, channel).add(
            stun.XOR_PEER_ADDRESS, peer), done)

    def _report(self, reply: Message | None, error: BaseException | None) -> None:
        if error is not None:
            self.Error.emit(self, error)

    # -- data ------------------------------------------------------------------------------

    def send(self, data: bytes, peer: Any) -> None:
        """Relay ``data`` to ``peer``: ChannelData on a bound channel, otherwise a Send
        indication (the peer needs a permission)."""
        address = Address.parse(peer)
        channel = self._channels.get(address)
        if channel is not None:
            self._send(encode_channel_data(channel, data, pad=self.transport != "udp"))
        else:
            self._send(Message(stun.SEND, stun.INDICATION).add(
                stun.XOR_PEER_ADDRESS, address).add(stun.DATA_ATTR, data).encode())

    def _received(self, data: bytes) -> None:
        if is_channel_data(data):
            try:
                channel, payload = decode_channel_data(data)
            except DecodeError:
                return
            peer = self._peers.get(channel)
            if peer is not None:
                self.Recv.emit(self, payload, peer)
            return
        try:
            msg = stun.decode(data)
        except DecodeError:
            return
        if msg.cls == stun.INDICATION:
            if msg.method == stun.DATA:
                peer, payload = msg.get(stun.XOR_PEER_ADDRESS), msg.get(stun.DATA_ATTR)
                if peer is not None and payload is not None:
                    self.Recv.emit(self, payload, peer)
            return
        tx = self._pending.get(msg.transaction_id)
        if tx is not None:
            self._answered(tx, msg)

    # -- transactions --------------------------------------------------------------------

    def request(self, msg: Message, callback: Callback) -> None:
        """Send a request (signed once the server's realm and nonce are known);
        ``callback(reply, None)`` on success, ``callback(reply_or_None, exc)`` on an
        error response (TurnError) or a timeout (TimeoutError)."""
        tx = _Transaction(msg, callback, self.rto)
        self._pending[msg.transaction_id] = tx
        tx.timer = uv.Timer(self.loop)
        self._transmit(tx)

    def _transmit(self, tx: _Transaction) -> None:
        msg = tx.msg
        if self.nonce is not None and self.realm is not None:
            for attr in (stun.USERNAME, stun.REALM, stun.NONCE):
                msg.attributes = [(t, v) for t, v in msg.attributes if t != attr]
            msg.add(stun.USERNAME, self.username).add(stun.REALM, self.realm).add(
                stun.NONCE, self.nonce)
        if self.software:
            msg.attributes = [(t, v) for t, v in msg.attributes if t != stun.SOFTWARE]
            msg.add(stun.SOFTWARE, self.software)
        tx.sends += 1
        self._send(msg.encode(self.key, fingerprint=True))
        assert tx.timer is not None
        if self.transport == "udp":
            last = tx.sends >= _RETRIES
            # The last send waits Rm (16) times the initial RTO (RFC 8489 §6.2.1).
            tx.timer.start(lambda t: self._timed_out(tx), self.rto * 16 if last else tx.rto)
            tx.rto *= 2
        else:
            tx.timer.start(lambda t: self._timed_out(tx, final=True), _STREAM_TIMEOUT)

    def _timed_out(self, tx: _Transaction, final: bool = False) -> None:
        if not final and tx.sends < _RETRIES:
            self._transmit(tx)
            return
        self._finish(tx, None, TimeoutError(110, "the TURN server did not answer"))

    def _answered(self, tx: _Transaction, reply: Message) -> None:
        if reply.cls == stun.SUCCESS:
            self._finish(tx, reply, None)
            return
        code, reason = reply.get(stun.ERROR_CODE, (500, "no ERROR-CODE"))
        if code in (401, 438) and not tx.retried and stun.NONCE in reply:
            # The challenge: sign with the realm and nonce given, as a new transaction.
            tx.retried = True
            self.realm = reply.get(stun.REALM, self.realm)
            self.nonce = reply.get(stun.NONCE)
            if self.realm is not None:
                self.key = stun.long_term_key(self.username, self.realm, self.password)
            del self._pending[tx.msg.transaction_id]
            tx.msg.transaction_id = stun.transaction_id()
            tx.sends = 0
            tx.rto = self.rto
            self._pending[tx.msg.transaction_id] = tx
            self._transmit(tx)
            return
        self._finish(tx, reply, TurnError(code, reason))

    def _finish(self, tx: _Transaction, reply: Message | None,
                error: BaseException | None) -> None:
        self._pending.pop(tx.msg.transaction_id, None)
        if tx.timer is not None:
            tx.timer.close()
            tx.timer = None
        tx.callback(reply, error)

    # -- sending and closing ------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self.sock.closed:
            return
        if not self._connected:
            self._outbox.append(data)
        elif self.transport == "udp":
            self.sock.send(data, self.server)
        else:
            self.sock.send(data)

    def _stream_connected(self, sock: Any) -> None:
        self._connected = True
        for data in self._outbox:
            sock.send(data)
        self._outbox.clear()

    def _fail(self, exc: BaseException) -> None:
        self.Error.emit(self, exc)
        self._shutdown()

    def close(self) -> None:
        """Delete the allocation (if any), then close; Close follows."""
        if self._closing:
            return
        self._closing = True
        if self.relayed is not None and not self.sock.closed:
            self.relayed = None
            self.request(Message(stun.REFRESH).add(stun.LIFETIME, 0),
                         lambda reply, error: self._shutdown())
        else:
            self._shutdown()

    def _shutdown(self) -> None:
        self._closing = True
        for tx in list(self._pending.values()):
            if tx.timer is not None:
                tx.timer.close()
                tx.timer = None
        self._pending.clear()
        if self._maintenance is not None:
            self._maintenance.close()
            self._maintenance = None
        self.sock.close()

    def _closed(self) -> None:
        self.Close.emit(self)

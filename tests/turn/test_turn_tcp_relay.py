"""TCP relays (RFC 6062) on the TURN server at 127.0.0.1: our own client code (the
sans-IO STUN codec over TCPSockets, a control connection and data connections)
against a TCP echo peer on 127.0.0.1."""

import pytest
from test_turn_server import UCLIENT, run_uclient

from sourcey import stun, turn, uv
from sourcey.net import Address, TCPServer, TCPSocket, UDPSocket
from sourcey.turn import tcp_relay

REALM = "sourcey.test"
USERS = {"alice": "pw", "bob": "pw2"}
KEY = stun.long_term_key("alice", REALM, "pw")


@pytest.fixture
def server(loop, runner):
    srv = turn.TurnServer(loop, realm=REALM, credentials=turn.StaticCredentials(USERS),
                          relay_hosts=["127.0.0.1"], allowed_peers=["127.0.0.0/8"])
    yield srv
    srv.close()
    runner.run(loop)


@pytest.fixture
def address(server):
    return server.listen("127.0.0.1", 0, transport="tcp")


class Conn:
    """A TCP connection to the server: STUN frames until ``raw`` is set, then bytes
    (what came after the frame that switched it included)."""

    def __init__(self, loop, runner, address):
        self.loop, self.runner = loop, runner
        self.replies = {}
        self.indications = []
        self.raw = None
        self.closed = []
        self.nonce = None
        self._buf = b""
        self.sock = TCPSocket(loop)
        connected = []
        self.sock.Connect += lambda s: connected.append(True)
        self.sock.Recv += lambda s, data, peer: self._received(data)
        self.sock.Close += lambda s: self.closed.append(True)
        self.sock.connect(address.host, address.port)
        runner.until(loop, lambda: connected, timeout=5)

    def _received(self, data):
        if self.raw is not None:
            self.raw.extend(data)
            return
        self._buf += data
        while True:
            n = stun.frame_length(self._buf)
            if n <= 0 or n > len(self._buf):
                return
            msg = stun.decode(self._buf[:n])
            self._buf = self._buf[n:]
            if msg.cls == stun.INDICATION:
                self.indications.append(msg)
            else:
                self.replies[msg.transaction_id] = msg

    def request(self, method, *attrs, extra=b""):
        """Send an authenticated request (after a 401 for the nonce) and wait for the
        answer; ``extra`` is written in the same send, just after it."""
        if self.nonce is None:
            challenge = self._send_wait(stun.Message(method, stun.REQUEST, attributes=attrs))
            self.nonce = challenge.get(stun.NONCE)
        msg = stun.Message(method, stun.REQUEST, attributes=attrs)
        msg.add(stun.USERNAME, "alice").add(stun.REALM, REALM).add(stun.NONCE, self.nonce)
        return self._send_wait(msg, KEY, extra)

    def _send_wait(self, msg, key=None, extra=b""):
        self.sock.send(msg.encode(key, fingerprint=True) + extra)
        self.runner.until(self.loop, lambda: msg.transaction_id in self.replies, timeout=5)
        return self.replies.pop(msg.transaction_id)

    def close(self):
        self.sock.close()
        self.runner.until(self.loop, lambda: self.closed, timeout=5)


class EchoPeer:
    """A TCP echo server on 127.0.0.1 that remembers its connections."""

    def __init__(self, loop, runner):
        self.loop, self.runner = loop, runner
        self.conns = []
        self.server = TCPServer("127.0.0.1", 0, self._accepted, loop=loop)
        self.address = Address(*self.server.address)

    def _accepted(self, sock):
        self.conns.append(sock)
        sock.Recv += lambda s, data, peer: s.send(data)

    def close(self):
        closed = []
        self.server.listener.Close += lambda s: closed.append(True)
        self.server.close(close_connections=True)
        self.runner.until(self.loop, lambda: closed and all(c.closed for c in self.conns),
                          timeout=5)


@pytest.fixture
def peer(loop, runner):
    p = EchoPeer(loop, runner)
    yield p
    p.close()


def error_code(reply):
    assert reply.cls == stun.ERROR, reply
    return reply.get(stun.ERROR_CODE)[0]


def allocate_tcp(ctl):
    reply = ctl.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 6))
    assert reply.cls == stun.SUCCESS, reply.get(stun.ERROR_CODE)
    return reply.get(stun.XOR_RELAYED_ADDRESS)


def permit(ctl, host="127.0.0.1"):
    reply = ctl.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, Address(host, 1)))
    assert reply.cls == stun.SUCCESS


def open_data(loop, runner, address, ident, extra=b"", nonce=None):
    """A new connection that ConnectionBinds ``ident`` (with ``nonce``, or the one
    a 401 gives it); returns it and the reply. After the reply (the last frame the
    server sends on it) the bytes are raw."""
    data = Conn(loop, runner, address)
    data.nonce = nonce
    reply = data.request(stun.CONNECTION_BIND, (stun.CONNECTION_ID, ident), extra=extra)
    leftover = data._buf
    data.raw = bytearray(leftover)
    return data, reply


def test_allocate_tcp(loop, runner, server, address):
    ctl = Conn(loop, runner, address)
    relayed = allocate_tcp(ctl)
    assert relayed.host == "127.0.0.1" and relayed.port > 0
    # The relayed address listens for peers.
    probe = TCPSocket(loop)
    events = []
    probe.Connect += lambda s: events.append("connect")
    probe.Close += lambda s: events.append("close")
    probe.connect(relayed.host, relayed.port)
    runner.until(loop, lambda: "close" in events, timeout=5)
    # No permission for it: accepted by the kernel, then reset.
    assert events[-1] == "close"
    ctl.close()


def test_tcp_allocation_over_udp_is_442(loop, runner, server):
    udp_address = server.listen("127.0.0.1", 0)
    sock = UDPSocket(loop)
    sock.bind("127.0.0.1", 0)
    replies = []
    sock.Recv += lambda s, data, peer: replies.append(stun.decode(data))
    msg = stun.Message(stun.ALLOCATE, stun.REQUEST, attributes=[(stun.REQUESTED_TRANSPORT, 6)])
    sock.send(msg.encode(), udp_address)
    runner.until(loop, lambda: replies, timeout=5)
    nonce = replies.pop().get(stun.NONCE)
    msg = stun.Message(stun.ALLOCATE, stun.REQUEST, attributes=[(stun.REQUESTED_TRANSPORT, 6)])
    msg.add(stun.USERNAME, "alice").add(stun.REALM, REALM).add(stun.NONCE, nonce)
    sock.send(msg.encode(KEY), udp_address)
    runner.until(loop, lambda: replies, timeout=5)
    assert error_code(replies[0]) == 442
    closed = []
    sock.Close += lambda s: closed.append(True)
    sock.close()
    runner.until(loop, lambda: closed, timeout=5)


def test_connect_and_data_both_ways(loop, runner, server, address, peer):
    ctl = Conn(loop, runner, address)
    allocate_tcp(ctl)
    permit(ctl)
    reply = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, peer.address))
    assert reply.cls == stun.SUCCESS, reply.get(stun.ERROR_CODE)
    ident = reply.get(stun.CONNECTION_ID)
    # Bytes sent right after the ConnectionBind, in the same write, reach the peer too.
    data, bound = open_data(loop, runner, address, ident, extra=b"early ")
    assert bound.cls == stun.SUCCESS
    data.sock.send(b"hello")
    runner.until(loop, lambda: bytes(data.raw) == b"early hello", timeout=5)
    # A large transfer both ways, through the pipe's backpressure.
    blob = bytes(range(256)) * 8192      # 2 MiB: above the sockets' high watermark
    data.raw.clear()
    data.sock.send(blob)
    runner.until(loop, lambda: len(data.raw) >= len(blob), timeout=20)
    assert bytes(data.raw) == blob
    assert server.stats["errors"] == 0
    data.close()
    # The data connection closing closes the peer's.
    runner.until(loop, lambda: peer.conns and peer.conns[0].closed, timeout=5)
    ctl.close()


@pytest.mark.parametrize("direction", ["to_peer", "to_client"])
def test_backpressure(loop, runner, server, address, direction):
    """A receiver that does not read: the server stops reading the sender once its
    queue to the receiver is above the high watermark, instead of buffering all that
    is sent; when the receiver reads again, every byte arrives."""
    conns = []
    received = []

    def accepted(sock):
        conns.append(sock)
        if direction == "to_peer":
            sock.pause_reading()
            sock.Recv += lambda s, data, p: received.append(len(data))

    peer = TCPServer("127.0.0.1", 0, accepted, loop=loop)
    ctl = Conn(loop, runner, address)
    allocate_tcp(ctl)
    permit(ctl)
    ident = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, Address(*peer.address))).get(
        stun.CONNECTION_ID)
    data, bound = open_data(loop, runner, address, ident)
    assert bound.cls == stun.SUCCESS
    runner.until(loop, lambda: conns, timeout=5)
    conn = server._peer_connections[ident]
    if direction == "to_peer":
        sender, receiver, queue = data.sock, conns[0], conn.sock
    else:
        data.sock.pause_reading()
        data.sock.Recv += lambda s, d, p: received.append(len(d))
        sender, receiver, queue = conns[0], data.sock, conn.client
    high = queue.watermarks[0]
    chunk = b"x" * 65536
    total = 0
    # Well beyond what the kernel's socket buffers on the way can hold.
    while total < 32 * high:
        sender.send(chunk)
        total += len(chunk)
    runner.until(loop, lambda: queue.write_queue_size > high, timeout=10)
    for _ in range(100):
        loop.run(uv.UV_RUN_NOWAIT)
    # Paused: at most the read that crossed the watermark is queued beyond it.
    assert queue.write_queue_size <= high + 2 * 65536
    receiver.resume_reading()
    runner.until(loop, lambda: sum(received) == total, timeout=30)
    data.close()
    ctl.close()
    closed = []
    peer.listener.Close += lambda s: closed.append(True)
    peer.close(close_connections=True)
    runner.until(loop, lambda: closed and conns[0].closed, timeout=5)


def test_connect_without_permission_is_403(loop, runner, server, address, peer):
    ctl = Conn(loop, runner, address)
    allocate_tcp(ctl)
    reply = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, peer.address))
    assert error_code(reply) == 403
    assert not peer.conns
    ctl.close()


def test_duplicate_connect_is_446(loop, runner, server, address, peer):
    ctl = Conn(loop, runner, address)
    allocate_tcp(ctl)
    permit(ctl)
    first = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, peer.address))
    assert first.cls == stun.SUCCESS
    assert error_code(ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, peer.address))) == 446
    ctl.close()


def test_connect_to_closed_port_is_447(loop, runner, server, address):
    # A port that was just free: bound, closed, nothing listening there.
    probe = TCPSocket(loop)
    probe.bind("127.0.0.1", 0)
    port = probe.address.port
    closed = []
    probe.Close += lambda s: closed.append(True)
    probe.close()
    runner.until(loop, lambda: closed, timeout=5)
    ctl = Conn(loop, runner, address)
    allocate_tcp(ctl)
    permit(ctl)
    reply = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, Address("127.0.0.1", port)))
    assert error_code(reply) == 447
    ctl.close()


def test_connection_bind_unknown_id_is_400(loop, runner, server, address):
    data = Conn(loop, runner, address)
    assert error_code(data.request(stun.CONNECTION_BIND, (stun.CONNECTION_ID, 12345))) == 400
    data.close()


def test_peer_initiated_connection(loop, runner, server, address):
    ctl = Conn(loop, runner, address)
    relayed = allocate_tcp(ctl)
    permit(ctl)
    incoming = TCPSocket(loop)
    got = bytearray()
    events = []
    incoming.Connect += lambda s: events.append("connect")
    incoming.Recv += lambda s, data, p: got.extend(data)
    incoming.Close += lambda s: events.append("close")
    incoming.connect(relayed.host, relayed.port)
    runner.until(loop, lambda: ctl.indications, timeout=5)
    attempt = ctl.indications.pop()
    assert attempt.method == stun.CONNECTION_ATTEMPT
    assert attempt.get(stun.XOR_PEER_ADDRESS) == incoming.address
    # What the peer sends before the ConnectionBind waits for it.
    incoming.send(b"from peer")
    # The control connection's nonce is good on the data connection.
    data, bound = open_data(loop, runner, address, attempt.get(stun.CONNECTION_ID),
                            nonce=ctl.nonce)
    assert bound.cls == stun.SUCCESS
    runner.until(loop, lambda: bytes(data.raw) == b"from peer", timeout=5)
    data.sock.send(b"from client")
    runner.until(loop, lambda: bytes(got) == b"from client", timeout=5)
    # The same CONNECTION-ID cannot be bound twice.
    again = Conn(loop, runner, address)
    assert error_code(again.request(stun.CONNECTION_BIND,
                                    (stun.CONNECTION_ID, attempt.get(stun.CONNECTION_ID)))) == 400
    again.close()
    # The peer closing closes the data connection.
    incoming.close()
    runner.until(loop, lambda: data.closed and "close" in events, timeout=5)
    ctl.close()


def test_unbound_connection_is_dropped(loop, runner, server, address, monkeypatch):
    """A peer connection nobody ConnectionBinds is closed after BIND_TIMEOUT (30 s;
    shortened here), and its CONNECTION-ID is gone."""
    monkeypatch.setattr(tcp_relay, "BIND_TIMEOUT", 0.2)
    ctl = Conn(loop, runner, address)
    relayed = allocate_tcp(ctl)
    permit(ctl)
    incoming = TCPSocket(loop)
    closed = []
    incoming.Close += lambda s: closed.append(True)
    incoming.connect(relayed.host, relayed.port)
    runner.until(loop, lambda: ctl.indications, timeout=5)
    ident = ctl.indications.pop().get(stun.CONNECTION_ID)
    runner.until(loop, lambda: closed, timeout=5)
    assert not server._peer_connections
    late = Conn(loop, runner, address)
    assert error_code(late.request(stun.CONNECTION_BIND, (stun.CONNECTION_ID, ident))) == 400
    late.close()
    ctl.close()


def test_deleting_the_allocation_closes_data_connections(loop, runner, server, address,
                                                         peer):
    ctl = Conn(loop, runner, address)
    allocate_tcp(ctl)
    permit(ctl)
    ident = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, peer.address)).get(
        stun.CONNECTION_ID)
    data, bound = open_data(loop, runner, address, ident)
    assert bound.cls == stun.SUCCESS
    # A second one, left waiting for its ConnectionBind.
    other = EchoPeer(loop, runner)
    waiting = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, other.address))
    assert waiting.cls == stun.SUCCESS
    assert len(server._peer_connections) == 2
    assert ctl.request(stun.REFRESH, (stun.LIFETIME, 0)).cls == stun.SUCCESS
    runner.until(loop, lambda: data.closed and all(c.closed for c in peer.conns + other.conns),
                 timeout=5)
    assert not server._peer_connections and not server._bound
    other.close()
    ctl.close()


def test_closing_the_control_connection_closes_everything(loop, runner, server, address,
                                                          peer):
    ctl = Conn(loop, runner, address)
    relayed = allocate_tcp(ctl)
    permit(ctl)
    ident = ctl.request(stun.CONNECT, (stun.XOR_PEER_ADDRESS, peer.address)).get(
        stun.CONNECTION_ID)
    data, _ = open_data(loop, runner, address, ident)
    ctl.close()
    runner.until(loop, lambda: data.closed and all(c.closed for c in peer.conns), timeout=5)
    assert not server._peer_connections and not server._bound
    # The relayed address is free again.
    probe = TCPSocket(loop)
    probe.bind(relayed.host, relayed.port)
    closed = []
    probe.Close += lambda s: closed.append(True)
    probe.close()
    runner.until(loop, lambda: closed, timeout=5)


@pytest.mark.skipif(UCLIENT is None, reason="turnutils_uclient not installed "
                                            "(apt-get install coturn)")
@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_turnutils_uclient_tcp_relay(loop, runner, server, tls):
    """coturn's client with -T: two TCP allocations, one Connects to the other's
    relayed address (ConnectionAttempt there), both ConnectionBind, then messages
    echo through the two relays; over TCP, and over TLS (-S) for every connection."""
    flags = ["-T"]
    if tls:
        import ssl

        trustme = pytest.importorskip("trustme")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        trustme.CA().issue_cert("127.0.0.1").configure_cert(ctx)
        address = server.listen("127.0.0.1", 0, transport="tls", context=ctx)
        flags.append("-S")
    else:
        address = server.listen("127.0.0.1", 0, transport="tcp")
    proc = run_uclient(loop, runner, [UCLIENT, *flags, "-u", "alice", "-w", "pw", "-e",
                                      "127.0.0.1", "-p", str(address.port), "-n", "10",
                                      "-m", "1", "127.0.0.1"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "tot_recv_msgs=20" in out and "Total lost packets 0 (0.000000%)" in out, out
    assert server.stats["errors"] == 0

"""The TURN server on 127.0.0.1: our own client (the sans-IO codec over sourcey.net
sockets) for each request and error, then coturn's turnutils_uclient with
turnutils_peer as the echo peer."""

import errno
import shutil
import subprocess
import tempfile

import pytest
from turnlib import REALM, USERS, Peer
from udp_command import serving

from sourcey import stun, turn
from sourcey.net import Address, TCPSocket, UDPSocket


@pytest.fixture
def server(make_server):
    return make_server()


class Client:
    """A TURN client over a UDPSocket (or a TCPSocket, framed): request() sends and
    waits for the answer; ``indications`` and ``channel_data`` collect the rest."""

    def __init__(self, loop, runner, address, transport="udp", user="alice", password="pw"):
        self.loop, self.runner, self.address = loop, runner, address
        self.user, self.password = user, password
        self.replies = {}
        self.indications = []
        self.channel_data = []
        self.nonce = None
        self.closed = []
        if transport == "udp":
            self.sock = UDPSocket(loop)
            self.sock.bind("127.0.0.1", 0)
            self.sock.Recv += lambda s, data, peer: self._frame(data)
        else:
            self.sock = TCPSocket(loop)
            framer = stun.Framer(channel_data=True)
            connected = []
            self.sock.Connect += lambda s: connected.append(True)
            self.sock.Recv += lambda s, data, peer: [self._frame(f) for f in framer.feed(data)]
            self.sock.connect(address.host, address.port)
            runner.until(loop, lambda: connected, timeout=5)
        self.sock.Close += lambda s: self.closed.append(True)
        self.stream = transport != "udp"

    def _frame(self, data):
        if turn.is_channel_data(data):
            self.channel_data.append(turn.decode_channel_data(data))
            return
        msg = stun.decode(data)
        if msg.cls == stun.INDICATION:
            self.indications.append(msg)
        else:
            self.replies[msg.transaction_id] = msg

    def send(self, data):
        if self.stream:
            self.sock.send(data)
        else:
            self.sock.send(data, self.address)

    def request(self, method, *attrs, auth=True, password=None):
        msg = stun.Message(method, stun.REQUEST, attributes=attrs)
        key = None
        if auth:
            if self.nonce is None:
                self.nonce = self.request(method, *attrs, auth=False).get(stun.NONCE)
            msg.add(stun.USERNAME, self.user).add(stun.REALM, REALM).add(stun.NONCE,
                                                                         self.nonce)
            key = stun.long_term_key(self.user, REALM, password or self.password)
        self.send(msg.encode(key, fingerprint=True))
        self.runner.until(self.loop, lambda: msg.transaction_id in self.replies, timeout=5)
        reply = self.replies.pop(msg.transaction_id)
        if key is not None and reply.cls == stun.SUCCESS:
            assert reply.check_integrity(key)
        return reply

    def allocate(self, *attrs):
        reply = self.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17), *attrs)
        assert reply.cls == stun.SUCCESS, reply.get(stun.ERROR_CODE)
        return reply.get(stun.XOR_RELAYED_ADDRESS)

    def close(self):
        self.sock.close()
        self.runner.until(self.loop, lambda: self.closed, timeout=5)


def error_code(reply):
    assert reply.cls == stun.ERROR
    return reply.get(stun.ERROR_CODE)[0]


@pytest.fixture
def client(loop, runner, server):
    c = Client(loop, runner, server.listen("127.0.0.1", 0))
    yield c
    c.close()


def test_challenge_then_allocate(server, client):
    reply = client.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17), auth=False)
    assert error_code(reply) == 401
    assert reply.get(stun.REALM) == REALM and reply.get(stun.NONCE)
    relayed = client.allocate((stun.LIFETIME, 1200))
    assert relayed.host == "127.0.0.1" and 49152 <= relayed.port <= 65535
    assert len(server.table) == 1
    assert error_code(client.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17))) == 437


def test_send_and_data_indications(loop, runner, server, client, peer):
    relayed = client.allocate()
    # No permission yet: the Send indication is dropped; so is what the peer sends.
    send = stun.Message(stun.SEND, stun.INDICATION).add(stun.XOR_PEER_ADDRESS, peer.address)
    assert client.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, peer.address)
                          ).cls == stun.SUCCESS
    client.send(send.add(stun.DATA_ATTR, b"hello peer").encode())
    runner.until(loop, lambda: peer.received, timeout=5)
    assert peer.received == [(b"hello peer", relayed)]
    peer.sock.send(b"hello client", relayed)
    runner.until(loop, lambda: client.indications, timeout=5)
    data = client.indications[0]
    assert data.method == stun.DATA
    assert data.get(stun.XOR_PEER_ADDRESS) == peer.address
    assert data.get(stun.DATA_ATTR) == b"hello client"


def test_unpermitted_traffic_is_dropped(loop, runner, server, client, peer):
    relayed = client.allocate()
    other = Peer(loop, runner)
    try:
        client.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, peer.address))
        # Permissions go by IP: the other peer on 127.0.0.1 gets through, and a peer
        # with no permission (none here on another IP) is what the drop counter is for.
        other.sock.send(b"via permission by IP", relayed)
        runner.until(loop, lambda: client.indications, timeout=5)
        before = server.stats["dropped"]
        client.send(stun.Message(stun.SEND, stun.INDICATION).add(
            stun.XOR_PEER_ADDRESS, ("127.0.0.2", 9)).add(stun.DATA_ATTR, b"x").encode())
        client.request(stun.REFRESH)      # in order: once answered, the send was seen
        assert server.stats["dropped"] == before + 1
    finally:
        other.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_channels(loop, runner, make_server, peer, transport):
    srv = make_server()
    c = Client(loop, runner, srv.listen("127.0.0.1", 0, transport=transport), transport)
    try:
        relayed = c.allocate()
        reply = c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4001),
                          (stun.XOR_PEER_ADDRESS, peer.address))
        assert reply.cls == stun.SUCCESS
        for payload in (b"", b"a", b"abcde", bytes(1000)):
            c.send(turn.encode_channel_data(0x4001, payload, pad=c.stream))
        runner.until(loop, lambda: len(peer.received) == 4, timeout=5)
        assert [d for d, _ in peer.received] == [b"", b"a", b"abcde", bytes(1000)]
        assert all(src == relayed for _, src in peer.received)
        for payload in (b"x", b"yz" * 30):
            peer.sock.send(payload, relayed)
        runner.until(loop, lambda: len(c.channel_data) == 2, timeout=5)
        assert c.channel_data == [(0x4001, b"x"), (0x4001, b"yz" * 30)]
        # Rebinding the channel to another peer is refused; the same one refreshes.
        assert error_code(c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4001),
                                    (stun.XOR_PEER_ADDRESS, ("127.0.0.1", 1)))) == 400
        assert c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4001),
                         (stun.XOR_PEER_ADDRESS, peer.address)).cls == stun.SUCCESS
    finally:
        c.close()
    if transport == "tcp":
        # The connection closed: its allocation is gone.
        runner.until(loop, lambda: len(srv.table) == 0, timeout=5)


def test_refresh_and_delete(loop, runner, server, client):
    client.allocate()
    reply = client.request(stun.REFRESH, (stun.LIFETIME, 10**6))
    assert reply.get(stun.LIFETIME) == 3600
    reply = client.request(stun.REFRESH, (stun.LIFETIME, 0))
    assert reply.cls == stun.SUCCESS and reply.get(stun.LIFETIME) == 0
    assert len(server.table) == 0
    assert error_code(client.request(stun.REFRESH)) == 437


def test_refusals(loop, runner, make_server, peer):
    srv = make_server(allowed_peers=[], max_per_user=1)
    address = srv.listen("127.0.0.1", 0)
    a = Client(loop, runner, address)
    b = Client(loop, runner, address)
    mallory = Client(loop, runner, address, user="bob", password="guess")
    try:
        assert error_code(a.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 6))) == 442
        assert error_code(a.request(stun.ALLOCATE)) == 400
        assert error_code(a.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                                    (stun.DONT_FRAGMENT, True))) == 420
        assert error_code(a.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                                    (stun.REQUESTED_ADDRESS_FAMILY, 2))) == 440
        assert error_code(a.request(stun.CREATE_PERMISSION,
                                    (stun.XOR_PEER_ADDRESS, peer.address))) == 437
        a.allocate()
        # Loopback is denied by default; another family is a mismatch.
        assert error_code(a.request(stun.CREATE_PERMISSION,
                                    (stun.XOR_PEER_ADDRESS, peer.address))) == 403
        assert error_code(a.request(stun.CREATE_PERMISSION,
                                    (stun.XOR_PEER_ADDRESS, ("2001:db8::1", 1)))) == 443
        assert error_code(a.request(stun.CREATE_PERMISSION)) == 400
        assert error_code(b.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17))) == 486
        assert error_code(mallory.request(stun.ALLOCATE,
                                          (stun.REQUESTED_TRANSPORT, 17))) == 401
        assert error_code(a.request(stun.CONNECT)) == 400
    finally:
        for c in (a, b, mallory):
            c.close()


def test_stale_nonce_gets_438(loop, runner, make_server):
    srv = make_server(nonce_lifetime=0.0)
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    try:
        reply = c.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17))
        assert error_code(reply) == 438 and reply.get(stun.NONCE)
    finally:
        c.close()


def test_binding_and_garbage(loop, runner, server, client):
    reply = client.request(stun.BINDING, auth=False)
    assert reply.cls == stun.SUCCESS
    assert reply.get(stun.XOR_MAPPED_ADDRESS) == client.sock.address
    client.send(b"\xff" * 30)
    client.send(turn.encode_channel_data(0x4000, b"no allocation"))
    client.request(stun.BINDING, auth=False)
    assert server.stats["dropped"] == 2


def test_even_port_and_reservation(loop, runner, server, client):
    """EVEN-PORT with the R bit: an even port, and the next one reserved under a
    RESERVATION-TOKEN that another client's Allocate claims, once."""
    msg = client.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                         (stun.EVEN_PORT, True))
    first, token = msg.get(stun.XOR_RELAYED_ADDRESS), msg.get(stun.RESERVATION_TOKEN)
    assert first.port % 2 == 0 and len(token) == 8
    other = Client(loop, runner, client.address)
    third = Client(loop, runner, client.address)
    try:
        assert other.allocate((stun.RESERVATION_TOKEN, token)).port == first.port + 1
        assert error_code(third.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                                        (stun.RESERVATION_TOKEN, token))) == 508
    finally:
        other.close()
        third.close()


# -- coturn's client and peer ---------------------------------------------------------

UCLIENT = shutil.which("turnutils_uclient")
PEER = shutil.which("turnutils_peer")
needs_coturn = pytest.mark.skipif(
    UCLIENT is None or PEER is None,
    reason="turnutils_uclient/turnutils_peer not installed (apt-get install coturn)")


def free_udp_port():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_uclient(loop, runner, argv, timeout=20):
    """Run turnutils_uclient under ``timeout`` while the loop serves."""
    return runner.in_thread(loop, lambda: subprocess.run(
        ["timeout", str(timeout), *argv], capture_output=True, text=True), timeout + 5)


@pytest.fixture
def echo_peer():
    port = free_udp_port()
    proc = subprocess.Popen(["timeout", "60", PEER, "-L", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def listen_udp_and_tcp(make_server):
    """A server on one port number over UDP and TCP (turnutils_uclient takes one port for
    both). The port the kernel picks for UDP may be in use for TCP: then another is tried."""
    for _ in range(20):
        srv = make_server()
        address = srv.listen("127.0.0.1", 0)
        try:
            srv.listen("127.0.0.1", address.port, transport="tcp")
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return srv, address
    raise AssertionError("no port was free for both UDP and TCP in 20 tries")


@needs_coturn
@pytest.mark.parametrize("flags", [["-c"], ["-c", "-s"], ["-c", "-t"], ["-c", "-t", "-s"],
                                   []],
                         ids=["udp-channels", "udp-send", "tcp-channels", "tcp-send",
                              "udp-rtcp"])
def test_turnutils_uclient(loop, runner, make_server, echo_peer, flags):
    """-c: no RTCP allocation; -s: Send/Data indications instead of channels; -t: TCP
    to the server. Without -c, the RTCP pair uses EVEN-PORT and RESERVATION-TOKEN."""
    srv, address = listen_udp_and_tcp(make_server)
    proc = run_uclient(loop, runner, [UCLIENT, "-u", "alice", "-w", "pw", "-e", "127.0.0.1",
                                      "-r", str(echo_peer), "-p", str(address.port),
                                      "-n", "10", *flags, "127.0.0.1"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Total lost packets 0 (0.000000%)" in out, out
    sent = [line for line in out.splitlines() if "tot_send_msgs=" in line][-1]
    assert "tot_recv_msgs=0" not in sent and srv.stats["to_client"] > 0


@needs_coturn
def test_turnutils_uclient_wrong_password(loop, runner, make_server, echo_peer):
    srv = make_server()
    address = srv.listen("127.0.0.1", 0)
    proc = run_uclient(loop, runner, [UCLIENT, "-u", "alice", "-w", "wrong", "-e",
                                      "127.0.0.1", "-r", str(echo_peer), "-p",
                                      str(address.port), "-n", "2", "-c", "127.0.0.1"])
    assert proc.returncode != 0
    assert "Cannot complete Allocation" in proc.stdout + proc.stderr
    assert len(srv.table) == 0 and srv.stats["allocations"] == 0


def test_addresses_are_sourcey_addresses(server):
    assert isinstance(server.listen("127.0.0.1", 0), Address)


def _has_ipv6():
    import socket

    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback on this machine")
def test_ipv6_relay(loop, runner):
    srv = turn.TurnServer(loop, realm=REALM, credentials=turn.StaticCredentials(USERS),
                          relay_hosts=["127.0.0.1", "::1"], allowed_peers=["::1/128"])
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    p = UDPSocket(loop)
    p.bind("::1", 0)
    got, closed = [], []
    p.Recv += lambda s, data, peer: got.append((data, peer))
    p.Close += lambda s: closed.append(True)
    try:
        relayed = c.allocate((stun.REQUESTED_ADDRESS_FAMILY, 2))
        assert relayed.host == "::1"
        assert c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4002),
                         (stun.XOR_PEER_ADDRESS, p.address)).cls == stun.SUCCESS
        c.send(turn.encode_channel_data(0x4002, b"over v6"))
        runner.until(loop, lambda: got, timeout=5)
        assert got == [(b"over v6", relayed)]
    finally:
        c.close()
        p.close()
        srv.close()
        runner.until(loop, lambda: closed, timeout=5)
        runner.run(loop)


def test_command_line():
    """``python -m sourcey.turn`` answers Binding, challenges Allocate, and logs its
    stats when interrupted."""
    import sys

    with serving("sourcey.turn", "--realm", REALM, "--user", "alice:pw") as cli:
        cli.probe.sendto(stun.Message(stun.ALLOCATE).add(stun.REQUESTED_TRANSPORT, 17).encode(),
                         ("127.0.0.1", cli.port))
        reply = stun.decode(cli.probe.recv(2048))
        assert reply.get(stun.ERROR_CODE)[0] == 401 and reply.get(stun.REALM) == REALM
    assert cli.returncode == 0 and "stats:" in cli.stderr
    bad = subprocess.run([sys.executable, "-m", "sourcey.turn", "--realm", REALM],
                         capture_output=True, text=True, timeout=30,
                         cwd=tempfile.gettempdir())
    assert bad.returncode != 0 and "--auth-secret" in bad.stderr


def test_garbage_and_mutations_leave_the_server_serving(loop, runner, server, client, peer):
    """Random bytes and mutated TURN messages, over UDP and TCP: the server drops or
    answers them, never fails, and then still relays."""
    import random

    rng = random.Random(8656)
    relayed = client.allocate()
    client.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4003),
                   (stun.XOR_PEER_ADDRESS, peer.address))
    seeds = [stun.Message(m, c, attributes=a).encode(b"k", fingerprint=f) for m, c, a, f in [
        (stun.ALLOCATE, stun.REQUEST, [(stun.REQUESTED_TRANSPORT, 17)], True),
        (stun.SEND, stun.INDICATION, [(stun.XOR_PEER_ADDRESS, peer.address),
                                      (stun.DATA_ATTR, b"d")], False),
        (stun.CHANNEL_BIND, stun.REQUEST, [(stun.CHANNEL_NUMBER, 0x4003)], False),
    ]] + [turn.encode_channel_data(0x4003, b"payload")]
    tcp = Client(client.loop, client.runner, server.listen("127.0.0.1", 0, transport="tcp"),
                 "tcp")
    try:
        for _ in range(400):
            data = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            client.send(bytes(data[:rng.randrange(len(data) + 1)]))
        tcp.send(b"\xc0" + bytes(30))
        runner.until(loop, lambda: tcp.closed, timeout=5)
        # Still serving: a request is answered and the channel still relays.
        assert client.request(stun.BINDING, auth=False).cls == stun.SUCCESS
        peer.received.clear()
        client.send(turn.encode_channel_data(0x4003, b"after the storm"))
        runner.until(loop, lambda: (b"after the storm", relayed) in peer.received, timeout=5)
    finally:
        if not tcp.closed:
            tcp.close()


def test_connection_and_reservation_limits(loop, runner, make_server):
    srv = make_server(max_connections=0, max_allocations=1)
    address = srv.listen("127.0.0.1", 0)
    c = Client(loop, runner, address)
    tcp = TCPSocket(loop)
    closed = []
    tcp.Close += lambda s: closed.append(True)
    try:
        assert c.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                         (stun.EVEN_PORT, True)).get(stun.RESERVATION_TOKEN)
        c.request(stun.REFRESH, (stun.LIFETIME, 0))
        # The reservation is still held: a second one would pass the bound.
        assert error_code(c.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                                    (stun.EVEN_PORT, True))) == 508
        tcp_address = srv.listen("127.0.0.1", 0, transport="tcp")
        tcp.connect(tcp_address.host, tcp_address.port)
        runner.until(loop, lambda: closed, timeout=5)      # over max_connections
    finally:
        c.close()
        if not closed:
            tcp.close()
            runner.until(loop, lambda: closed, timeout=5)


def test_bandwidth_limit_drops_the_excess(loop, runner, make_server, peer):
    """500 B/s with bursts of 500 B: a first 400-byte datagram passes (the bucket
    starts full); one of 600 bytes never fits, whatever the time, either way."""
    srv = make_server(bandwidth=500)
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    try:
        relayed = c.allocate()
        c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4000),
                  (stun.XOR_PEER_ADDRESS, peer.address))
        c.send(turn.encode_channel_data(0x4000, bytes(400)))
        c.send(turn.encode_channel_data(0x4000, bytes(600)))
        runner.until(loop, lambda: peer.received, timeout=5)
        c.request(stun.BINDING, auth=False)   # in order: both sends were handled
        assert [len(d) for d, _ in peer.received] == [400]
        assert srv.stats["dropped"] == 1
        peer.sock.send(bytes(600), relayed)
        peer.sock.send(b"small", relayed)
        runner.until(loop, lambda: c.channel_data or srv.stats["dropped"] == 3, timeout=5)
        # The 600 bytes are dropped; "small" passes if the bucket has refilled enough.
        assert (0x4000, bytes(600)) not in c.channel_data
    finally:
        c.close()


@needs_coturn
def test_turnutils_uclient_over_tls(loop, runner, make_server, echo_peer):
    import ssl

    trustme = pytest.importorskip("trustme")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(ctx)
    srv = make_server()
    address = srv.listen("127.0.0.1", 0, transport="tls", context=ctx)
    proc = run_uclient(loop, runner, [UCLIENT, "-S", "-t", "-c", "-u", "alice", "-w", "pw",
                                      "-e", "127.0.0.1", "-r", str(echo_peer), "-p",
                                      str(address.port), "-n", "10", "127.0.0.1"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Total lost packets 0 (0.000000%)" in out, out
    assert srv.stats["to_client"] >= 10


def test_retransmitted_allocate_gets_the_same_response(loop, runner, server, client):
    client.nonce = client.request(stun.ALLOCATE, auth=False).get(stun.NONCE)
    msg = stun.Message(stun.ALLOCATE, attributes=[
        (stun.REQUESTED_TRANSPORT, 17), (stun.USERNAME, "alice"), (stun.REALM, REALM),
        (stun.NONCE, client.nonce)])
    data = msg.encode(stun.long_term_key("alice", REALM, "pw"), fingerprint=True)
    raw = []
    client.sock.Recv += lambda s, d, p: raw.append(d)
    client.send(data)
    runner.until(loop, lambda: len(raw) == 1, timeout=5)
    client.send(data)                   # as if the response had been lost
    runner.until(loop, lambda: len(raw) == 2, timeout=5)
    assert raw[0] == raw[1] and stun.decode(raw[0]).cls == stun.SUCCESS
    assert len(server.table) == 1 and server.stats["allocations"] == 1
    # A new transaction for the same 5-tuple is a mismatch.
    assert error_code(client.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17))) == 437


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback on this machine")
def test_dual_allocation(loop, runner, make_server, peer):
    srv = make_server(relay_hosts=["127.0.0.1", "::1"],
                      allowed_peers=["127.0.0.0/8", "::1/128"])
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    p6 = Peer(loop, runner, "::1")
    got6 = p6.received
    try:
        reply = c.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                          (stun.ADDITIONAL_ADDRESS_FAMILY, 2))
        v4, v6 = reply.get_all(stun.XOR_RELAYED_ADDRESS)
        assert v4.host == "127.0.0.1" and v6.host == "::1"
        for channel, target in ((0x4000, peer.address), (0x4001, p6.address)):
            assert c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, channel),
                             (stun.XOR_PEER_ADDRESS, target)).cls == stun.SUCCESS
        c.send(turn.encode_channel_data(0x4000, b"four"))
        c.send(turn.encode_channel_data(0x4001, b"six"))
        runner.until(loop, lambda: peer.received and got6, timeout=5)
        assert peer.received == [(b"four", v4)] and got6 == [(b"six", v6)]
        p6.sock.send(b"back six", v6)
        runner.until(loop, lambda: c.channel_data, timeout=5)
        assert c.channel_data == [(0x4001, b"back six")]
        assert c.request(stun.REFRESH, (stun.REQUESTED_ADDRESS_FAMILY, 2)).cls == stun.SUCCESS
    finally:
        c.close()
        p6.close()


@pytest.mark.skipif(not _has_ipv6(), reason="no IPv6 loopback on this machine")
def test_dual_allocation_with_the_draft_codepoint(loop, runner):
    """ADDITIONAL-ADDRESS-FAMILY under its turnbis-draft number 0x8032, as coturn's
    turnutils_uclient -Z sends it, gives the dual allocation too."""
    srv = turn.TurnServer(loop, realm=REALM, credentials=turn.StaticCredentials(USERS),
                          relay_hosts=["127.0.0.1", "::1"])
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    try:
        reply = c.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                          (0x8032, b"\x02\x00\x00\x00"))
        hosts = [a.host for a in reply.get_all(stun.XOR_RELAYED_ADDRESS)]
        assert hosts == ["127.0.0.1", "::1"]
    finally:
        c.close()
        srv.close()
        runner.run(loop, timeout=5)


def test_dual_allocation_without_ipv6_relay(server, client):
    """relay_hosts has no IPv6 address: the IPv4 relay stands, ADDRESS-ERROR-CODE 440."""
    reply = client.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                           (stun.ADDITIONAL_ADDRESS_FAMILY, 2))
    assert reply.cls == stun.SUCCESS
    assert len(reply.get_all(stun.XOR_RELAYED_ADDRESS)) == 1
    assert reply.get(stun.ADDRESS_ERROR_CODE)[:2] == (6, 440)
    client.request(stun.REFRESH, (stun.LIFETIME, 0))
    for bad in ((stun.ADDITIONAL_ADDRESS_FAMILY, 1), (stun.REQUESTED_ADDRESS_FAMILY, 1)):
        attrs = [(stun.REQUESTED_TRANSPORT, 17), (stun.ADDITIONAL_ADDRESS_FAMILY, 2), bad]
        if bad[0] == stun.ADDITIONAL_ADDRESS_FAMILY:
            attrs = [attrs[0], bad]
        assert error_code(client.request(stun.ALLOCATE, *attrs)) == 400


@needs_coturn
def test_turnutils_uclient_dual_allocation(loop, runner, echo_peer):
    srv = turn.TurnServer(loop, realm=REALM, credentials=turn.StaticCredentials(USERS),
                          relay_hosts=["127.0.0.1", "::1"],
                          allowed_peers=["127.0.0.0/8", "::1/128"])
    try:
        address = srv.listen("127.0.0.1", 0)
        proc = run_uclient(loop, runner, [UCLIENT, "-Z", "-u", "alice", "-w", "pw", "-e",
                                          "127.0.0.1", "-r", str(echo_peer), "-p",
                                          str(address.port), "-n", "10", "127.0.0.1"])
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert "Total lost packets 0 (0.000000%)" in out, out
    finally:
        srv.close()
        runner.run(loop)

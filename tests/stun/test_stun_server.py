"""The STUN server: BindingHandler's answers (sans-IO), then the Server over UDP, TCP
and TLS on 127.0.0.1 and ::1 with our own client code, and coturn's
turnutils_stunclient as an independent client."""

import shutil
import socket
import ssl
import subprocess

import pytest
from udp_command import serving

from sourcey import stun
from sourcey.net import SSLSocket, TCPSocket, UDPSocket

TXID = bytes(range(1, 13))
PEER = ("192.0.2.7", 40000)


def _has_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HOSTS = ["127.0.0.1", pytest.param("::1", marks=pytest.mark.skipif(
    not _has_ipv6(), reason="no IPv6 loopback on this machine"))]


def request(*attrs, method=stun.BINDING, cls=stun.REQUEST, **encode):
    return stun.Message(method, cls, TXID, attrs).encode(**encode)


# -- BindingHandler: the answers -----------------------------------------------------

def test_binding_success():
    handler = stun.BindingHandler(software="test 1.0")
    reply = stun.decode(handler.handle(request(), PEER))
    assert (reply.method, reply.cls, reply.transaction_id) == (
        stun.BINDING, stun.SUCCESS, TXID)
    assert reply.get(stun.XOR_MAPPED_ADDRESS) == PEER
    assert reply.get(stun.SOFTWARE) == "test 1.0"
    assert reply.has_fingerprint
    assert handler.stats == {"success": 1, "error": 0, "dropped": 0}


def test_binding_success_ipv6_and_options():
    handler = stun.BindingHandler(software=None, fingerprint=False)
    reply = stun.decode(handler.handle(request(), ("2001:db8::5", 1)))
    assert reply.get(stun.XOR_MAPPED_ADDRESS) == ("2001:db8::5", 1)
    assert stun.SOFTWARE not in reply and not reply.has_fingerprint


def test_ipv4_mapped_client_gets_its_ipv4_address():
    reply = stun.decode(stun.BindingHandler().handle(request(), ("::ffff:192.0.2.9", 7)))
    assert reply.get(stun.XOR_MAPPED_ADDRESS) == ("192.0.2.9", 7)


def test_request_with_integrity_and_fingerprint_is_answered():
    handler = stun.BindingHandler()
    data = request((stun.USERNAME, "a:b"), (stun.PRIORITY, 5), key=b"k", fingerprint=True)
    assert stun.decode(handler.handle(data, PEER)).cls == stun.SUCCESS


def test_unknown_comprehension_required_gives_420():
    handler = stun.BindingHandler()
    data = request((0x7F00, b"x"), (0x8F00, b"optional is fine"), (stun.CHANGE_REQUEST,
                                                                   bytes(4)))
    reply = stun.decode(handler.handle(data, PEER))
    assert reply.cls == stun.ERROR and reply.transaction_id == TXID
    assert reply.get(stun.ERROR_CODE) == (420, "Unknown Attribute")
    assert reply.get(stun.UNKNOWN_ATTRIBUTES) == [0x7F00, stun.CHANGE_REQUEST]
    assert handler.stats["error"] == 1
    # Only comprehension-optional unknowns: answered.
    assert stun.decode(handler.handle(request((0x8F00, b"")), PEER)).cls == stun.SUCCESS


def test_malformed_request_gives_400():
    handler = stun.BindingHandler()
    data = request() [:2] + b"\x00\x08" + request()[4:] + b"\x00\x20\x00\x04abcd"
    reply = stun.decode(handler.handle(data, PEER))
    assert reply.cls == stun.ERROR and reply.get(stun.ERROR_CODE)[0] == 400
    assert reply.transaction_id == TXID


def test_other_method_gives_400():
    reply = stun.decode(stun.BindingHandler().handle(request(method=stun.ALLOCATE), PEER))
    assert reply.method == stun.ALLOCATE and reply.get(stun.ERROR_CODE)[0] == 400


@pytest.mark.parametrize("data", [
    b"",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    request()[:19],
    request()[:-1],
    request(cls=stun.INDICATION),                       # a keepalive
    request(cls=stun.SUCCESS),
    request((stun.ERROR_CODE, 400), cls=stun.ERROR),
    request(fingerprint=True)[:-1] + b"\x00",            # FINGERPRINT mismatch
    b"\x00\x01\x00\x00\x21\x12\xa4\x43" + TXID,          # no magic cookie (RFC 3489)
    request(cls=stun.INDICATION)[:2] + b"\x00\x04" + request()[4:] + b"\x00\x20\x00\x08",
], ids=["empty", "http", "short", "cut", "indication", "success", "error", "fingerprint",
        "cookie", "bad-indication"])
def test_dropped_silently(data):
    handler = stun.BindingHandler()
    assert handler.handle(data, PEER) is None
    assert handler.stats == {"success": 0, "error": 0, "dropped": 1}


# -- Server over the network -----------------------------------------------------------

@pytest.fixture
def server(loop, runner):
    srv = stun.Server(loop, software="sourcey-test")
    yield srv
    srv.close()
    runner.run(loop)


def close(loop, runner, sock):
    """Close ``sock`` and wait for its Close (the server keeps the loop busy)."""
    done = []
    sock.Close += lambda s: done.append(True)
    sock.close()
    runner.until(loop, lambda: done or sock.error is not None and sock.closed, timeout=5)


def udp_exchange(loop, runner, server_address, datagrams, expect):
    """Send ``datagrams`` from a fresh UDPSocket; wait for ``expect`` replies."""
    sock = UDPSocket(loop)
    sock.bind(server_address.host, 0)
    replies = []
    sock.Recv += lambda s, data, peer: replies.append(data)
    for data in datagrams:
        sock.send(data, server_address)
    try:
        runner.until(loop, lambda: len(replies) >= expect, timeout=5)
        return sock.address, [stun.decode(r) for r in replies]
    finally:
        close(loop, runner, sock)


@pytest.mark.parametrize("host", HOSTS)
def test_udp_binding(loop, runner, server, host):
    address = server.listen(host, 0)
    assert address.port != 0 and ("udp", address) in server.addresses
    local, replies = udp_exchange(loop, runner, address, [request()], 1)
    assert replies[0].cls == stun.SUCCESS
    assert replies[0].get(stun.XOR_MAPPED_ADDRESS) == local
    assert replies[0].get(stun.SOFTWARE) == "sourcey-test"


def test_udp_drops_garbage_and_answers_the_rest(loop, runner, server):
    address = server.listen("127.0.0.1", 0)
    # The server handles datagrams in order: once the last reply is in, the garbage
    # before it has been seen and dropped.
    datagrams = [b"\xff" * 40, request(cls=stun.INDICATION), request((0x7F00, b"")),
                 request()]
    _, replies = udp_exchange(loop, runner, address, datagrams, 2)
    assert [r.cls for r in replies] == [stun.ERROR, stun.SUCCESS]
    assert server.stats["dropped"] == 2


def stream_exchange(loop, runner, sock, host, port, chunks, expect):
    framer = stun.Framer()
    replies = []
    closed = []
    sock.Recv += lambda s, data, peer: replies.extend(framer.feed(data))
    sock.Close += lambda s: closed.append(True)
    sock.Connect += lambda s: [s.send(c) for c in chunks]
    sock.connect(host, port)
    try:
        runner.until(loop, lambda: len(replies) >= expect or closed, timeout=5)
        return sock.address, [stun.decode(r) for r in replies], bool(closed)
    finally:
        sock.close()
        runner.until(loop, lambda: closed, timeout=5)


@pytest.mark.parametrize("host", HOSTS)
def test_tcp_binding_any_boundaries(loop, runner, server, host):
    address = server.listen(host, 0, transport="tcp")
    stream = b"".join(stun.Message(stun.BINDING, stun.REQUEST, bytes([i]) * 12).encode()
                      for i in range(5))
    chunks = [stream[:3], stream[3:25], stream[25:61], stream[61:]]
    local, replies, _ = stream_exchange(loop, runner, TCPSocket(loop), host, address.port,
                                        chunks, 5)
    assert [r.transaction_id for r in replies] == [bytes([i]) * 12 for i in range(5)]
    assert all(r.get(stun.XOR_MAPPED_ADDRESS) == local for r in replies)


def test_tcp_not_stun_is_closed(loop, runner, server):
    address = server.listen("127.0.0.1", 0, transport="tcp")
    _, replies, closed = stream_exchange(loop, runner, TCPSocket(loop), "127.0.0.1",
                                         address.port, [request(), b"GET / HTTP/1.1\r\n"], 9)
    assert closed and len(replies) == 1
    assert server.stats["dropped"] == 1


def test_tcp_connection_limit(loop, runner):
    srv = stun.Server(loop, max_connections=0)
    address = srv.listen("127.0.0.1", 0, transport="tcp")
    try:
        _, replies, closed = stream_exchange(loop, runner, TCPSocket(loop), "127.0.0.1",
                                             address.port, [request()], 1)
        assert closed and not replies
    finally:
        srv.close()
        runner.run(loop)


def test_tcp_idle_connection_is_closed(loop, runner):
    srv = stun.Server(loop, idle_timeout=0.05)
    address = srv.listen("127.0.0.1", 0, transport="tcp")
    try:
        _, replies, closed = stream_exchange(loop, runner, TCPSocket(loop), "127.0.0.1",
                                             address.port, [], 1)
        assert closed and not replies and srv.stats["connections"] == 0
    finally:
        srv.close()
        runner.run(loop)


def test_tls_binding(loop, runner, server):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    address = server.listen("127.0.0.1", 0, transport="tls", context=server_ctx)
    assert ("tls", address) in server.addresses
    local, replies, _ = stream_exchange(loop, runner, SSLSocket(loop, client_ctx),
                                        "127.0.0.1", address.port, [request()], 1)
    assert replies[0].get(stun.XOR_MAPPED_ADDRESS) == local


def test_listen_arguments(loop, runner, server):
    with pytest.raises(ValueError):
        server.listen("127.0.0.1", 0, transport="sctp")
    with pytest.raises(ValueError):
        server.listen("127.0.0.1", 0, transport="tls")
    with pytest.raises(ValueError):
        stun.Server(loop, idle_timeout=0)
    taken = server.listen("127.0.0.1", 0)
    with pytest.raises(OSError):
        server.listen("127.0.0.1", taken.port)


# -- coturn's client ------------------------------------------------------------------

def run_peer(loop, runner, argv, timeout=10):
    """Run a peer command under ``timeout`` while the loop serves."""
    return runner.in_thread(loop, lambda: subprocess.run(
        ["timeout", str(timeout), *argv], capture_output=True, text=True), timeout + 5)


@pytest.mark.skipif(shutil.which("turnutils_stunclient") is None,
                    reason="turnutils_stunclient not installed (apt-get install coturn)")
@pytest.mark.parametrize("host", HOSTS)
def test_turnutils_stunclient(loop, runner, server, host):
    address = server.listen(host, 0)
    proc = run_peer(loop, runner, ["turnutils_stunclient", "-p", str(address.port), host])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    family = "IPv6" if ":" in host else "IPv4"
    assert f"{family}. UDP reflexive addr: {host}:" in proc.stdout, proc.stdout
    assert server.stats["success"] >= 1


# -- the command line -----------------------------------------------------------------

def test_command_line(tmp_path):
    """``python -m sourcey.stun`` serves until interrupted, and logs its stats."""
    with serving("sourcey.stun", "--software", "cli") as cli:
        cli.probe.sendto(request(), ("127.0.0.1", cli.port))
        reply = stun.decode(cli.probe.recv(2048))
        assert reply.get(stun.SOFTWARE) == "cli"
        assert reply.get(stun.XOR_MAPPED_ADDRESS) == cli.probe.getsockname()
    assert cli.returncode == 0 and "'success': 1" in cli.stderr


@pytest.mark.parametrize("software", ["sourcey", "", "x" * 763, "é" * 5])
@pytest.mark.parametrize("fingerprint", [True, False])
@pytest.mark.parametrize("peer", [PEER, ("2001:db8::9", 65535), ("::ffff:198.51.100.3", 1)])
def test_fast_path_matches_the_general_path(software, fingerprint, peer):
    """The C fast path gives the bytes the Message-based path gives, and steps aside
    (None) for everything but a plain valid Binding request."""
    handler = stun.BindingHandler(software=software or None, fingerprint=fingerprint)
    for data in (request(), request((stun.SOFTWARE, "c"), (0x8F00, b"x"), fingerprint=True),
                 request((stun.USERNAME, "u"), (stun.PRIORITY, 1), key=b"k")):
        assert handler.handle(data, peer) == handler.handle_general(data, peer)
    for data in (request((0x7F00, b"x")), request((stun.CHANGE_REQUEST, bytes(4))),
                 request(method=stun.ALLOCATE), request(cls=stun.INDICATION), b"junk",
                 request()[:-1]):
        assert stun._codec.binding_success(data, bytes(4), 1, b"", True) is None
        assert handler.handle(data, peer) == handler.handle_general(data, peer)

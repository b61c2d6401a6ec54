"""The Socket face (connect resolving names, bind/listen, send, shutdown, close,
addresses, transport, closed, error, loop; Connect/Recv/Error/Close) and the failure
rule: every failure arrives once on Error, as an ordinary OSError subclass, and then
Close comes, once."""

import errno
import os
import socket
import struct
import subprocess
import sys

import pytest

import sourcey
from sourcey import uv
from sourcey.net import Address, PeerClosedError, Socket, TCPSocket, UDPSocket, _net
from sourcey.uv.error import UVError

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def test_the_three_transports_share_the_socket_face(loop):
    for cls, transport in ((TCPSocket, "TCP"), (UDPSocket, "UDP")):
        s = cls(loop)
        assert isinstance(s, Socket)
        assert s.transport == transport
        assert s.loop is loop
        assert s.error is None and not s.closed and not s.connected
        assert s.address is None and s.peer_address is None
        for name in ("Connect", "Recv", "Error", "Close"):
            assert getattr(s, name).name == name
        assert "new" in repr(s)
        s.close()
        assert s.closed
        s.close()                   # idempotent
    loop.run()


def test_default_loop(runner):
    s = TCPSocket()
    assert s.loop is uv.Loop.default_loop()
    s.close()
    runner.run(s.loop)


@pytest.mark.parametrize("how", ["address", "tuple", "host_port", "text", "name"])
def test_connect_forms_and_addresses(loop, runner, net, events, how):
    lst, lev = net.listener()
    port = lst.address.port
    assert lst.connected and lst.address == ("127.0.0.1", port)
    target = {"address": (Address("127.0.0.1", port),),
              "tuple": (("127.0.0.1", port),),
              "host_port": ("127.0.0.1", port),
              "text": (f"127.0.0.1:{port}",),
              "name": ("localhost", port)}[how]
    client = TCPSocket(loop)
    ev = events(client)
    client.connect(*target)
    assert not client.connected and "connecting" in repr(client)
    runner.until(loop, lambda: ev.connects and lev.accepted)
    conn = lev.accepted[0]
    assert client.connected and conn.connected and "open" in repr(client)
    assert client.peer_address == Address("127.0.0.1", port)
    assert isinstance(client.peer_address, Address) and isinstance(client.address, Address)
    assert conn.address == client.peer_address
    assert conn.peer_address == client.address
    assert ev.order == ["Connect"]
    net.close(client, conn, lst)
    assert ev.closes == 1 and ev.errors == [] and client.error is None


def test_ipv6_connect_send_and_recv(loop, runner, net, events):
    client, conn, cev, sev = net.pair("::1")
    assert client.peer_address.host == "::1" and conn.address.host == "::1"
    assert client.peer_address == conn.address
    client.send(b"hello over v6")
    runner.until(loop, lambda: sev.data == b"hello over v6")
    assert sev.recvs[0][1] == client.address           # Recv's peer
    conn.send(b"back")
    runner.until(loop, lambda: cev.data == b"back")
    net.close(client, conn)


def test_send_recv_shutdown_and_close(loop, runner, net):
    client, conn, cev, sev = net.pair()
    assert client.send(b"ping") is True
    assert client.send([b"p", bytearray(b"o"), memoryview(b"ng")]) is True
    runner.until(loop, lambda: sev.data == b"pingpong")
    conn.send(b"pong")
    runner.until(loop, lambda: cev.data == b"pong")
    # shutdown: the peer sees the end of the stream, after the data; we still read
    client.send(b"last")
    client.shutdown()
    runner.until(loop, lambda: sev.closes)
    assert sev.data == b"pingponglast"
    assert len(sev.errors) == 1 and isinstance(sev.errors[0], PeerClosedError)
    runner.until(loop, lambda: cev.closes)       # our read sees its close as EOF
    assert isinstance(cev.errors[0], PeerClosedError)
    assert client.closed and conn.closed


def test_close_by_the_application_is_not_an_error(loop, runner, net):
    client, conn, cev, sev = net.pair()
    client.close()
    runner.until(loop, lambda: cev.closes and sev.closes)
    assert cev.errors == [] and cev.order == ["Connect", "Close"]
    assert client.error is None
    assert isinstance(sev.errors[0], PeerClosedError)   # for the other side, EOF


def test_close_while_resolving_emits_only_close(loop, runner, events):
    s = TCPSocket(loop)
    ev = events(s)
    s.connect("localhost", 9, timeout=5)
    s.close()
    runner.run(loop)            # the DNS request still finishes, to no effect
    assert ev.order == ["Close"]


def test_connect_twice_and_bad_arguments(loop, runner, net, events):
    lst, _ = net.listener()
    s = TCPSocket(loop)
    with pytest.raises(ValueError):
        s.connect("127.0.0.1", 70000)
    with pytest.raises(TypeError):
        s.connect(b"127.0.0.1", 80)
    with pytest.raises(ValueError):
        s.connect(lst.address, timeout=0)
    with pytest.raises(ValueError):
        s.bind("localhost", 0)          # bind takes an IP address
    s.connect(lst.address)
    with pytest.raises(OSError) as info:
        s.connect(lst.address)
    assert info.value.errno == errno.EISCONN
    with pytest.raises(OSError):
        s.bind("127.0.0.1", 0)          # already connecting
    fresh = TCPSocket(loop)
    with pytest.raises(OSError) as info:
        fresh.send(b"x")
    assert info.value.errno == errno.ENOTCONN
    net.close(s, lst, fresh)
    runner.run(loop)


# --- failures: once on Error, an ordinary OSError, then Close once ------------------


def check_failed(ev, kind):
    assert ev.failed_once(kind), (ev.order, ev.errors)
    exc = ev.errors[0]
    assert not isinstance(exc, UVError), f"{exc!r} is a sourcey.uv error, not an OSError"
    assert ev.socket.error is exc and ev.socket.closed
    return exc


def test_connect_refused(loop, runner, events):
    holder = socket.socket()            # bound, not listening: connects are refused
    holder.bind(("127.0.0.1", 0))
    try:
        s = TCPSocket(loop)
        ev = events(s)
        s.connect(holder.getsockname())
        runner.run(loop)
    finally:
        holder.close()
    exc = check_failed(ev, ConnectionRefusedError)
    assert exc.errno == errno.ECONNREFUSED
    assert ev.connects == 0


def test_dns_failure(loop, runner, events):
    s = TCPSocket(loop)
    ev = events(s)
    s.connect("x.invalid", 80)
    runner.run(loop)
    check_failed(ev, socket.gaierror)


def test_connect_failing_at_once_is_an_ordinary_oserror(loop, runner, events):
    # An IPv4-bound socket cannot connect to an IPv6 address: libuv fails the call
    # itself. That failure too is an OSError (errno > 0), not a sourcey.uv error.
    srv = socket.socket(socket.AF_INET6)
    srv.bind(("::1", 0))
    srv.listen()
    try:
        s = TCPSocket(loop)
        ev = events(s)
        s.bind("127.0.0.1", 0)
        s.connect("::1", srv.getsockname()[1])
        runner.run(loop)
    finally:
        srv.close()
    exc = check_failed(ev, OSError)
    assert exc.errno is not None and exc.errno > 0


def test_connect_timeout(loop, runner, events, net):
    # Deterministic without leaving loopback: a listener with backlog 0 that never
    # accepts. One connection fills its accept queue; after that the kernel drops
    # SYNs (Linux and gVisor), so our connect neither completes nor fails, and only
    # the timeout can end it. (A tiny timeout against a live listener would race the
    # handshake; a slow DNS name would depend on the network.)
    srv = net.python_listener(backlog=0)
    fillers = []
    try:
        for _ in range(2):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(srv.getsockname())
            fillers.append(c)
        s = TCPSocket(loop)
        ev = events(s)
        s.connect(srv.getsockname(), timeout=0.2)
        runner.run(loop, timeout=5)
    finally:
        for c in fillers:
            c.close()
        srv.close()
    exc = check_failed(ev, TimeoutError)
    assert exc.errno == errno.ETIMEDOUT
    assert ev.connects == 0


def test_a_timeout_is_cancelled_by_the_connect(loop, runner, net, events):
    lst, lev = net.listener()
    s = TCPSocket(loop)
    ev = events(s)
    s.connect(lst.address, timeout=0.05)
    runner.until(loop, lambda: ev.connects and lev.accepted)
    waited = []
    t = uv.Timer(loop)
    t.start(lambda t: (waited.append(1), t.close()), 0.15)   # well past the timeout
    runner.until(loop, lambda: waited)
    assert ev.order == ["Connect"] and s.connected
    net.close(s, lst, lev.accepted[0])


def test_peer_reset(loop, runner, net):
    sock, peer, ev = net.python_peer()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()                        # RST, not FIN
    runner.run(loop)
    exc = check_failed(ev, ConnectionResetError)
    assert exc.errno == errno.ECONNRESET


def test_peer_half_close_is_peer_closed_error(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        peer.sendall(b"bye")
        peer.shutdown(socket.SHUT_WR)   # FIN: end of stream
        runner.run(loop)
    finally:
        peer.close()
    exc = check_failed(ev, PeerClosedError)
    assert isinstance(exc, ConnectionError)
    assert ev.data == b"bye" and ev.order == ["Connect", "Recv", "Error", "Close"]


def test_send_after_close(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        sock.close()
        runner.run(loop)
        assert ev.order == ["Connect", "Close"]
        assert sock.send(b"late") is False
        assert sock.send(b"later") is False         # reported once only
        runner.run(loop)
    finally:
        peer.close()
    assert len(ev.errors) == 1 and isinstance(ev.errors[0], BrokenPipeError)
    assert ev.closes == 1 and ev.order == ["Connect", "Close", "Error"]


def test_send_while_closing(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        sock.close()
        assert sock.send(b"late") is False          # Close has not come yet
        runner.run(loop)
    finally:
        peer.close()
    check_failed(ev, BrokenPipeError)


def test_send_after_shutdown(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        sock.send(b"before")
        sock.shutdown()
        sock.shutdown()                             # idempotent
        assert sock.send(b"after") is False
        runner.run(loop)
        assert peer.recv(100) == b"before"
    finally:
        peer.close()
    exc = check_failed(ev, BrokenPipeError)
    assert exc.errno == errno.EPIPE


def test_send_on_a_listener_raises(loop, runner, net):
    lst, lev = net.listener()
    with pytest.raises(OSError) as info:
        lst.send(b"x")
    assert info.value.errno == errno.ENOTCONN
    assert not isinstance(info.value, UVError)
    lst.shutdown()                                  # nothing to shut: no-op
    assert lst.connected and lev.errors == []
    net.close(lst)


def test_a_later_failure_is_not_reported_again(loop, runner, net):
    sock, peer, ev = net.python_peer()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    runner.until(loop, lambda: ev.errors)
    sock.send(b"into the void")
    runner.run(loop)
    check_failed(ev, ConnectionResetError)


def test_oversized_udp_datagram(loop, runner, events):
    s = UDPSocket(loop)
    ev = events(s)
    s.bind("127.0.0.1", 0)
    assert s.send(b"x" * 70000, s.address) is False
    runner.run(loop)
    exc = check_failed(ev, OSError)
    assert exc.errno == errno.EMSGSIZE
    assert s.send(b"x", ("127.0.0.1", 9)) is False
    runner.run(loop)
    assert len(ev.errors) == 1 and ev.closes == 1


def test_connect_falls_back_to_the_next_address(loop, runner, net, events, monkeypatch):
    # A name that resolves to several addresses: a refused one first, then a live one.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    lst, lev = net.listener()
    candidates = [Address(*holder.getsockname()), lst.address]

    def fake_resolve(loop_, address, callback, **kw):
        assert address == ("multi.example", 1)
        callback(list(candidates), None)

    monkeypatch.setattr(_net, "resolve", fake_resolve)
    try:
        s = TCPSocket(loop)
        ev = events(s)
        s.connect("multi.example", 1)
        runner.until(loop, lambda: ev.connects and lev.accepted)
        assert s.peer_address == lst.address and ev.errors == []
        net.close(s, lst, lev.accepted[0])

        # every address refused: one Error (the last failure), one Close
        candidates[1:] = [Address(*holder.getsockname())]
        s2 = TCPSocket(loop)
        ev2 = events(s2)
        s2.connect("multi.example", 1)
        runner.run(loop)
        check_failed(ev2, ConnectionRefusedError)
    finally:
        holder.close()


SIGNAL_SET_TO_NONE = """
import socket
from sourcey import uv
from sourcey.net import TCPSocket

loop = uv.Loop()
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
s = TCPSocket(loop)
s.connect(srv.getsockname())
while not s.connected:
    loop.run(uv.UV_RUN_ONCE)
peer, _ = srv.accept()
s.Recv = s.Error = s.Close = None       # public, for +=; None must not crash the reads
peer.sendall(b"data")
peer.close()
while not s.closed:
    loop.run(uv.UV_RUN_ONCE)
loop.run()
print("survived")
"""


def test_a_signal_set_to_none_does_not_crash(tmp_path):
    # In a child process: the bug this guards against was a segmentation fault. It
    # imports the sourcey under test, from a directory the source tree cannot shadow.
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(sourcey.__file__)))
    result = subprocess.run([sys.executable, "-c", SIGNAL_SET_TO_NONE], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.strip() == "survived"
    with pytest.raises(TypeError):
        TCPSocket.__new__(TCPSocket).Recv = print    # not a Signal

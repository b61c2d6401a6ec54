"""UDPSocket: bind, send(data, address), Recv with the peer's Address, connect() for a
default peer, replies to the Recv peer, IPv6, closing inside Recv with more datagrams
waiting, and nothing left behind."""

import errno
import gc
import socket
import weakref

import pytest

from sourcey.net import Address, UDPSocket

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def bound(loop, events, host="127.0.0.1"):
    s = UDPSocket(loop)
    ev = events(s)
    s.bind(host, 0)
    return s, ev


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_bind_send_and_recv_with_the_peer_address(loop, runner, net, events, host):
    a, aev = bound(loop, events, host)
    b, bev = bound(loop, events, host)
    assert a.connected and a.address.host == host and a.address.port > 0
    assert isinstance(a.address, Address) and a.peer_address is None
    assert a.send(b"one", b.address) is True
    assert a.send(b"two", (host, b.address.port)) is True
    assert a.send(bytearray(b"three"), str(b.address)) is True
    runner.until(loop, lambda: len(bev.recvs) == 3)
    assert [d for d, _ in bev.recvs] == [b"one", b"two", b"three"]
    for _, peer in bev.recvs:
        assert type(peer) is Address and peer == a.address
    assert aev.recvs == [] and aev.errors == bev.errors == []
    net.close(a, b)
    assert aev.order == ["Close"] and bev.order == ["Recv"] * 3 + ["Close"]


def test_empty_and_gathered_datagrams(loop, runner, net, events):
    a, _ = bound(loop, events)
    b, bev = bound(loop, events)
    assert a.send(b"", b.address) is True
    assert a.send([b"ga", bytearray(b"th"), memoryview(b"ered")], b.address) is True
    runner.until(loop, lambda: len(bev.recvs) == 2)
    assert [d for d, _ in bev.recvs] == [b"", b"gathered"]     # one datagram each
    net.close(a, b)


def test_reply_to_the_recv_peer(loop, runner, net, events):
    server, sev = bound(loop, events)
    server.Recv += lambda s, data, peer: s.send(data[::-1], peer)
    clients = [bound(loop, events) for _ in range(3)]
    for i, (c, _) in enumerate(clients):
        c.send(b"abc%d" % i, server.address)
    runner.until(loop, lambda: all(ev.recvs for _, ev in clients))
    for i, (_, ev) in enumerate(clients):
        assert ev.recvs == [(b"%dcba" % i, server.address)]
    net.close(server, *(c for c, _ in clients))


def test_connect_fixes_the_default_peer(loop, runner, net, events):
    b, bev = bound(loop, events)
    a = UDPSocket(loop)
    aev = events(a)
    a.connect(b.address)                  # no bind: the system picks a port
    assert aev.order == ["Connect"] and a.connected
    assert a.peer_address == b.address and a.address.port > 0
    assert a.send(b"to the default peer") is True
    runner.until(loop, lambda: bev.recvs)
    assert bev.recvs == [(b"to the default peer", a.address)]
    b.send(b"back", a.address)
    runner.until(loop, lambda: aev.recvs)
    assert aev.recvs == [(b"back", b.address)]
    net.close(a, b)


def test_connect_after_bind(loop, runner, net, events):
    a, aev = bound(loop, events)
    b, bev = bound(loop, events)
    a.connect(*b.address)
    a.send(b"x")
    runner.until(loop, lambda: bev.recvs)
    assert bev.recvs[0][1] == a.address
    net.close(a, b)


def test_python_socket_peer(loop, runner, net, events):
    s, ev = bound(loop, events)
    py = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        py.bind(("127.0.0.1", 0))
        py.settimeout(5)
        py.sendto(b"from python", s.address)
        runner.until(loop, lambda: ev.recvs)
        assert ev.recvs == [(b"from python", Address(*py.getsockname()))]
        s.send(b"to python", ev.recvs[0][1])
        assert py.recvfrom(100) == (b"to python", tuple(s.address))
    finally:
        py.close()
    net.close(s)


def test_bad_arguments(loop, runner, net, events):
    s, _ = bound(loop, events)
    with pytest.raises(OSError) as info:
        s.bind("127.0.0.1", 0)             # already bound
    assert info.value.errno == errno.EINVAL
    other = UDPSocket(loop)
    with pytest.raises(ValueError):
        other.bind("localhost", 0)
    with pytest.raises(ValueError):
        other.connect("localhost", 9)
    with pytest.raises(TypeError):
        s.send(b"x", 1234)
    with pytest.raises(OSError) as info:
        other.bind(*s.address)             # in use, without reuseaddr
    assert info.value.errno == errno.EADDRINUSE
    net.close(s, other)


def test_close_inside_recv_with_datagrams_waiting(loop, runner, net, events):
    s, ev = bound(loop, events)
    s.Recv += lambda sock, data, peer: sock.close()
    py = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(10):                # all waiting before the loop reads
            py.sendto(b"d%d" % i, s.address)
        runner.run(loop)
    finally:
        py.close()
    assert ev.order == ["Recv", "Close"] and ev.recvs[0][0] == b"d0"


def test_a_slot_that_raises_does_not_stop_the_datagrams(loop, runner, net, events):
    s, ev = bound(loop, events)
    raised = []
    loop.excepthook = lambda typ, value, tb: raised.append(value)

    def bad(sock, data, peer):
        raise ValueError(data)

    s.Recv.attach(bad, priority=1)
    a, _ = bound(loop, events)
    for i in range(3):
        a.send(b"%d" % i, s.address)
    runner.until(loop, lambda: len(ev.recvs) == 3)
    assert [e.args[0] for e in raised] == [b"0", b"1", b"2"]
    assert ev.errors == [] and s.connected
    net.close(s, a)


def test_no_reference_cycles_after_close(loop, runner, net, events):
    a, aev = bound(loop, events)
    b = bound(loop, events)[0]
    b.Recv += lambda s, data, peer: s.send(data, peer)
    a.send(b"ping", b.address)
    runner.until(loop, lambda: aev.recvs)
    refs = [weakref.ref(a), weakref.ref(b)]
    net.close(a, b)
    a = b = aev = None
    gc.collect()
    assert [r() for r in refs] == [None, None]

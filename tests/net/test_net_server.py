"""TCPServer: listening on host:port, on_accept and AcceptConnection, tracking live
connections, a graceful close that stops accepting (new connects are refused) and,
with close_connections=True, closes every live connection."""

import errno
import gc
import socket
import weakref

import pytest

from sourcey.net import PeerClosedError, SocketAdapter, TCPServer, TCPSocket

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def echo(conn):
    conn.Recv += lambda s, data, peer: s.send(data)


def connect(loop, events, address):
    c = TCPSocket(loop)
    ev = events(c)
    c.connect(address)
    return c, ev


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_listen_accept_and_echo(loop, runner, net, events, host):
    accepted = []
    server = TCPServer(host, 0, lambda s: (accepted.append(s), echo(s)), loop=loop)
    signalled = []
    server.AcceptConnection += signalled.append
    assert server.address.host == host and server.address.port > 0
    assert not server.closed and server.loop is loop
    c, ev = connect(loop, events, server.address)
    runner.until(loop, lambda: ev.connects)
    c.send(b"echo me")
    runner.until(loop, lambda: ev.data == b"echo me")
    assert accepted == signalled and len(accepted) == 1
    assert server.connections == {accepted[0]}
    assert accepted[0].peer_address == c.address
    net.close(c)
    runner.until(loop, lambda: not server.connections)   # forgotten once closed
    net.close(server)
    assert server.closed


def test_listen_on_a_given_port(loop, runner, net, events):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = TCPServer("127.0.0.1", port, echo, loop=loop)
    assert server.address == ("127.0.0.1", port)
    c, ev = connect(loop, events, f"127.0.0.1:{port}")
    runner.until(loop, lambda: ev.connects)
    net.close(c, server)
    runner.until(loop, lambda: not server.connections)


def test_a_port_in_use_raises_and_leaks_nothing(loop, runner, net):
    first = TCPServer("127.0.0.1", 0, loop=loop)
    with pytest.raises(OSError) as info:
        TCPServer("127.0.0.1", first.address.port, loop=loop)
    assert info.value.errno == errno.EADDRINUSE
    net.close(first)
    # the conftest loop fixture fails the test if the second listener was left open


def test_reuseport_servers_share_a_port(loop, runner, net, events):
    a = TCPServer("127.0.0.1", 0, echo, loop=loop, reuseport=True)
    b = TCPServer("127.0.0.1", a.address.port, echo, loop=loop, reuseport=True)
    net.close(a)
    c, ev = connect(loop, events, b.address)
    runner.until(loop, lambda: ev.connects)
    assert len(b.connections) == 1
    net.close(c)
    runner.until(loop, lambda: not b.connections)
    net.close(b)


def test_graceful_close_stops_accepting_and_lets_connections_finish(loop, runner, net,
                                                                     events):
    server = TCPServer("127.0.0.1", 0, echo, loop=loop)
    address = server.address
    c, ev = connect(loop, events, address)
    runner.until(loop, lambda: ev.connects and server.connections)
    server.close()
    assert server.closed
    runner.until(loop, lambda: net_closed(server))
    # no longer accepting: a new connect is refused
    late, lev = connect(loop, events, address)
    runner.until(loop, lambda: lev.closes)
    assert len(lev.errors) == 1 and isinstance(lev.errors[0], ConnectionRefusedError)
    # the live connection goes on
    c.send(b"still served")
    runner.until(loop, lambda: ev.data == b"still served")
    assert len(server.connections) == 1
    net.close(c)
    runner.until(loop, lambda: not server.connections)


def net_closed(server):
    return repr(server.listener).endswith(" closed>")


def test_close_connections_closes_every_live_connection(loop, runner, net, events):
    server = TCPServer("127.0.0.1", 0, echo, loop=loop)
    clients = [connect(loop, events, server.address) for _ in range(5)]
    runner.until(loop, lambda: len(server.connections) == 5
                 and all(ev.connects for _, ev in clients))
    conns = list(server.connections)
    closes = []
    for conn in conns:
        conn.Close += closes.append
    server.close(close_connections=True)
    runner.until(loop, lambda: all(ev.closes for _, ev in clients))
    assert sorted(map(id, closes)) == sorted(map(id, conns))     # each Close fired once
    assert server.connections == set()
    for _, ev in clients:                                         # clients saw EOF
        assert len(ev.errors) == 1 and isinstance(ev.errors[0], PeerClosedError)
    assert all(conn.error is None for conn in conns)              # a close, not a failure
    runner.until(loop, lambda: net_closed(server))


def test_a_connection_is_forgotten_even_if_a_close_slot_stops_the_close(loop, runner, net,
                                                                         events, closed):
    # A protocol adapter that consumes every event (its handlers return True) stops the
    # Close signal at its priority: the server must still forget the connection.
    class Consuming(SocketAdapter):
        def on_socket_recv(self, socket, data, peer):
            return True

        def on_socket_close(self, socket):
            return True

    server = TCPServer("127.0.0.1", 0, lambda conn: conn.add_receiver(Consuming()),
                      loop=loop)
    c, ev = connect(loop, events, server.address)
    runner.until(loop, lambda: ev.connects and server.connections)
    conn = next(iter(server.connections))
    net.close(c)
    runner.until(loop, lambda: closed(conn))
    assert server.connections == set()
    net.close(server)


def test_close_the_server_inside_on_accept(loop, runner, net, events):
    def on_accept(conn):
        server.close(close_connections=True)

    server = TCPServer("127.0.0.1", 0, on_accept, loop=loop)
    c, ev = connect(loop, events, server.address)
    runner.until(loop, lambda: ev.closes and net_closed(server))
    assert server.connections == set()
    assert ev.connects == 1 and isinstance(ev.errors[0], PeerClosedError)


def test_a_dropped_server_leaves_no_cycles(loop, runner, net, events):
    server = TCPServer("127.0.0.1", 0, echo, loop=loop)
    c, ev = connect(loop, events, server.address)
    c.Connect += lambda s: s.send(b"x")
    runner.until(loop, lambda: ev.data == b"x")
    conn_ref = weakref.ref(next(iter(server.connections)))
    refs = [weakref.ref(server), weakref.ref(server.listener), conn_ref]
    server.close(close_connections=True)
    runner.until(loop, lambda: net_closed(server) and ev.closes)
    runner.run(loop)
    server = c = ev = None
    gc.collect()
    assert [r() for r in refs] == [None] * 3

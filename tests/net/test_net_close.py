"""Closing without losing data, failures heard after connect() returns, and UDP replies
to a socket that sent first."""

from __future__ import annotations

import socket

from sourcey.net import TCPServer, TCPSocket, UDPSocket


def test_close_sends_the_queued_data_first(loop, runner):
    """send() never loses data, close() included: a queue the kernel has not taken yet
    goes out before the FIN."""
    payload = bytes(range(256)) * 64 * 1024          # 16 MiB: far more than the buffers
    received = bytearray()
    closes = []

    def on_accept(conn):
        conn.Recv += lambda s, data, peer: received.extend(data)
        conn.Error += lambda s, exc: None            # the client's FIN ends it
        conn.Close += lambda s: (closes.append("server"), server.close())

    server = TCPServer("127.0.0.1", 0, on_accept, loop=loop)
    client = TCPSocket(loop)

    def on_connect(s):
        s.send(payload)
        assert s.write_queue_size > 0                # still queued when we close
        s.close()

    client.Connect += on_connect
    client.Close += lambda s: closes.append("client")
    client.connect(server.address)
    runner.run(loop, timeout=20)
    assert bytes(received) == payload
    assert sorted(closes) == ["client", "server"]
    assert client.error is None


def test_abort_drops_the_queue(loop, runner):
    received = bytearray()
    errors = []

    def on_accept(conn):
        conn.Recv += lambda s, data, peer: received.extend(data)
        conn.Error += lambda s, exc: errors.append(exc)
        conn.Close += lambda s: server.close()

    server = TCPServer("127.0.0.1", 0, on_accept, loop=loop)
    client = TCPSocket(loop)

    def on_connect(s):
        s.send(b"x" * (16 << 20))
        s.abort()

    client.Connect += on_connect
    client.connect(server.address)
    runner.run(loop, timeout=20)
    assert len(received) < 16 << 20
    assert len(errors) == 1 and isinstance(errors[0], ConnectionError)


def test_an_immediate_connect_failure_reaches_slots_attached_after_connect(loop, runner):
    # An IPv4-only socket connecting to ::1 fails inside connect(); the Error still
    # comes from the loop, so a slot attached afterwards hears it, once, then Close.
    sock = TCPSocket(loop)
    sock.bind("127.0.0.1", 0)
    sock.connect("::1", 9)
    seen = []
    sock.Error += lambda s, exc: seen.append(exc)
    sock.Close += lambda s: seen.append("close")
    runner.run(loop)
    assert len(seen) == 2 and isinstance(seen[0], OSError) and seen[1] == "close"


def test_a_udp_socket_that_sends_first_receives_the_reply(loop, runner):
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    replies = []
    sock = UDPSocket(loop)

    def on_recv(s, data, addr):
        replies.append((data, addr))
        s.close()

    sock.Recv += on_recv
    sock.send(b"ping", peer.getsockname())
    data, addr = peer.recvfrom(100)
    peer.sendto(b"pong", addr)
    where = peer.getsockname()
    runner.run(loop)
    peer.close()
    assert replies == [(b"pong", where)]

"""TCP: bind/listen/accept/connect over IPv4 and IPv6 loopback, echo of small and large
payloads, writes of every buffer kind, try_write and the write queue, shutdown and
reset, socket options, open(fd) with Python sockets, and bad input."""

import gc
import os
import socket
import sys

import pytest

from sourcey import uv
from sourcey.uv.error import HandleClosedError, HandleError, TCPError

E = uv.errno

# --- fixtures: an exception raised in a callback fails the test ---------------------


@pytest.fixture
def loop(checked_loop):
    """An exception raised in a callback fails the test (tests/conftest.py)."""
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


# --- helpers ------------------------------------------------------------------------


def serve(loop, host="127.0.0.1", read=None):
    """A listening TCP on ``host``; accepted connections go to the returned list and,
    with ``read``, start reading with it."""
    server = uv.TCP(loop)
    server.bind((host, 0))
    accepted = []

    def on_connection(srv, error):
        assert error is None
        conn = uv.TCP(loop)
        srv.accept(conn)
        accepted.append(conn)
        if read is not None:
            conn.start_read(read)

    server.listen(on_connection)
    return server, accepted


def connect(loop, runner, address):
    """A client TCP connected to ``address`` (the loop runs until it is)."""
    client = uv.TCP(loop)
    results = []
    client.connect(address, lambda h, err: results.append(err))
    runner.until(loop, lambda: results)
    assert results == [None]
    return client


def pair(loop, runner, host="127.0.0.1", read=None):
    """(server, client, accepted): a connected pair over ``host``."""
    server, accepted = serve(loop, host, read)
    client = connect(loop, runner, server.getsockname())
    runner.until(loop, lambda: accepted)
    return server, client, accepted[0]


def close_all(loop, runner, *handles):
    for h in handles:
        h.close()
    runner.run(loop)


def echo(handle, data, error):
    if data is None:
        handle.close()
    else:
        handle.write(data)


def collector():
    """A read callback that gathers data, and the list it fills: bytes chunks, then
    ('error', code) when the stream ends."""
    chunks = []

    def on_read(handle, data, error):
        if data is None:
            assert data is None and error is not None
            chunks.append(("error", error))
        else:
            assert error is None
            assert type(data) is bytes and data
            chunks.append(data)

    return chunks, on_read


def joined(chunks):
    return b"".join(c for c in chunks if isinstance(c, bytes))


def sock_of(handle):
    """A Python socket on a duplicate of the handle's fd (for getsockopt)."""
    return socket.socket(fileno=os.dup(handle.fileno()))


def fill(handle, chunk=b"x" * 65536, limit=4096):
    """try_write ``chunk`` until the kernel takes no more; returns the bytes written."""
    total = 0
    for _ in range(limit):
        try:
            n = handle.try_write(chunk)
        except TCPError as exc:
            assert exc.args[0] == E.UV_EAGAIN, exc
            return total
        assert 0 < n <= len(chunk)
        total += n
    raise AssertionError(f"the socket took {total} bytes and never reported UV_EAGAIN")


# --- connections and addresses ------------------------------------------------------


@pytest.mark.parametrize("host, family", [("127.0.0.1", socket.AF_INET),
                                          ("::1", socket.AF_INET6)])
def test_connect_accept_addresses_and_echo(loop, runner, host, family):
    server, client, conn = pair(loop, runner, host, read=echo)
    local = server.getsockname()
    if family == socket.AF_INET:
        assert local == (host, local[1]) and len(local) == 2
    else:
        assert local == (host, local[1], 0, 0)
    assert 0 < local[1] < 65536
    assert client.getpeername() == local
    assert conn.getsockname() == local
    assert conn.getpeername() == client.getsockname()
    assert client.getsockname()[1] != local[1]
    for h in (server, client, conn):
        assert h.family == family
        assert isinstance(h.fileno(), int) and h.fileno() >= 0

    chunks, on_read = collector()
    client.start_read(on_read)
    client.write(b"ping")
    runner.until(loop, lambda: joined(chunks) == b"ping")
    client.close()
    server.close()
    runner.run(loop)
    assert conn.closed          # the echo side closed itself at EOF
    assert chunks == [b"ping"]


def test_ipv6_four_tuple_bind_and_connect(loop, runner):
    server = uv.TCP(loop)
    server.bind(("::1", 0, 0, 0), uv.UV_TCP_IPV6ONLY)
    accepted = []
    server.listen(lambda s, e: (accepted.append(uv.TCP(loop)), s.accept(accepted[-1])))
    port = server.getsockname()[1]
    client = connect(loop, runner, ("::1", port, 0, 0))
    runner.until(loop, lambda: accepted)
    assert client.getpeername() == ("::1", port, 0, 0)
    close_all(loop, runner, server, client, *accepted)


def test_family_property(loop, runner):
    unspec = uv.TCP(loop)
    assert unspec.family == socket.AF_UNSPEC
    unspec.bind(("127.0.0.1", 0))
    assert unspec.family == socket.AF_INET
    v4 = uv.TCP(loop, socket.AF_INET)
    assert v4.family == socket.AF_INET
    assert v4.fileno() >= 0            # created early
    v6 = uv.TCP(loop, socket.AF_INET6)
    assert v6.family == socket.AF_INET6
    v6.bind(("::1", 0))
    assert v6.family == socket.AF_INET6
    with pytest.raises(ValueError):
        uv.TCP(loop, socket.AF_UNIX)
    with pytest.raises(ValueError):
        uv.TCP(loop, 12345)
    close_all(loop, runner, unspec, v4, v6)


def test_many_clients_one_server(loop, runner):
    received = {}

    def on_read(handle, data, error):
        if data is None:
            handle.close()
        else:
            received[handle.getpeername()] = received.get(handle.getpeername(), b"") + data

    server, accepted = serve(loop, read=on_read)
    clients = []
    for i in range(20):
        c = uv.TCP(loop)
        c.connect(server.getsockname(),
                  lambda h, err, i=i: h.write(b"client %d" % i, lambda h, e: h.close()))
        clients.append(c)
    runner.until(loop, lambda: len(accepted) == 20 and all(c.closed for c in accepted))
    server.close()
    runner.run(loop)
    assert sorted(received.values()) == sorted(b"client %d" % i for i in range(20))


# --- writing ------------------------------------------------------------------------


def _as_kind(chunk, kind):
    if kind == "bytes":
        return bytes(chunk)
    if kind == "bytearray":
        return bytearray(chunk)
    if kind == "memoryview":
        return memoryview(bytearray(chunk))[0:len(chunk)]
    if kind == "list":
        a, b = len(chunk) // 3, 2 * len(chunk) // 3
        return [chunk[:a], bytearray(chunk[a:b]), memoryview(chunk)[b:]]
    if kind == "list-of-many":   # more buffers than fit on the stack (heap vector)
        step = max(1, len(chunk) // 40)
        return [memoryview(chunk)[i:i + step] for i in range(0, len(chunk), step)]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "list",
                                  "list-of-many"])
@pytest.mark.parametrize("with_callback", [True, False], ids=["callback", "no-callback"])
def test_echo_large_payload_in_order(loop, runner, kind, with_callback):
    payload = os.urandom(6 * 1024 * 1024 + 12345)
    sizes = [1, 7, 100, 4096, 65536, 65537, 1 << 20, 3 << 20]
    pieces, pos = [], 0
    for size in sizes * 10:
        if pos >= len(payload):
            break
        pieces.append(payload[pos:pos + size])
        pos += size
    if pos < len(payload):
        pieces.append(payload[pos:])
    assert b"".join(pieces) == payload

    server, client, conn = pair(loop, runner, read=echo)
    chunks, on_read = collector()
    client.start_read(on_read)
    done = []
    for piece in pieces:
        data = _as_kind(piece, kind)
        if with_callback:
            client.write(data, lambda h, err: done.append(err))
        else:
            client.write(data)
        del data
    gc.collect()      # the write holds its buffers, not the caller
    runner.until(loop, lambda: len(joined(chunks)) >= len(payload), timeout=30)
    got = joined(chunks)
    assert len(got) == len(payload)
    assert got == payload
    if with_callback:
        runner.until(loop, lambda: len(done) == len(pieces))
        assert done == [None] * len(pieces)
    runner.until(loop, lambda: client.write_queue_size == 0)
    client.close()
    server.close()
    runner.run(loop)
    if with_callback:
        assert done == [None] * len(pieces)      # each callback ran exactly once


def test_write_callbacks_run_once_each_in_order(loop, runner):
    server, client, conn = pair(loop, runner)
    chunks, on_read = collector()
    conn.start_read(on_read)
    calls = []
    for i in range(50):
        client.write(b"%03d" % i, lambda h, err, i=i: calls.append((h, i, err)))
    runner.until(loop, lambda: len(calls) == 50)
    runner.until(loop, lambda: len(joined(chunks)) == 150)
    assert [c[1] for c in calls] == list(range(50))
    assert all(h is client and err is None for h, _, err in calls)
    assert joined(chunks) == b"".join(b"%03d" % i for i in range(50))
    close_all(loop, runner, server, client, conn)
    assert len(calls) == 50


def test_empty_writes(loop, runner):
    server, client, conn = pair(loop, runner)
    chunks, on_read = collector()
    conn.start_read(on_read)
    calls = []
    client.write(b"")
    client.write([])
    client.write(b"", lambda h, err: calls.append(("bytes", err)))
    client.write([], lambda h, err: calls.append(("list", err)))
    client.write([b"", bytearray()], lambda h, err: calls.append(("empties", err)))
    client.write(b"end")
    runner.until(loop, lambda: joined(chunks) == b"end" and len(calls) == 3)
    assert sorted(calls) == [("bytes", None), ("empties", None), ("list", None)]
    assert client.try_write(b"") == 0
    assert client.try_write([]) == 0
    close_all(loop, runner, server, client, conn)


def test_write_holds_the_buffer_until_the_callback(loop, runner):
    server, client, conn = pair(loop, runner)
    fill(client)
    buf = bytearray(b"y" * 100000)
    done = []
    client.write(buf, lambda h, err: done.append(err))
    assert client.write_queue_size > 0
    with pytest.raises(BufferError):
        buf.extend(b"more")      # exported to the pending write: cannot resize
    chunks, on_read = collector()
    conn.start_read(on_read)
    runner.until(loop, lambda: done, timeout=10)
    assert done == [None]
    buf.extend(b"more")          # the export was released with the callback
    close_all(loop, runner, server, client, conn)


def test_try_write_returns_count_then_eagain_when_full(loop, runner):
    lsock = socket.create_server(("127.0.0.1", 0))
    try:
        client = connect(loop, runner, lsock.getsockname())
        peer, _ = lsock.accept()            # a peer that never reads
        with peer:
            assert client.try_write(b"hello") == 5
            assert client.try_write([b"ab", bytearray(b"cd"), memoryview(b"ef")]) == 6
            total = fill(client)
            assert total > 65536
            with pytest.raises(TCPError) as info:
                client.try_write(b"z")
            assert info.value.args[0] == E.UV_EAGAIN
            assert isinstance(info.value.args[1], str) and info.value.args[1]
            # The peer sees everything try_write reported as written, in order.
            client.close()
            runner.run(loop)
            peer.settimeout(10)
            got = bytearray()
            while True:
                data = peer.recv(1 << 20)
                if not data:
                    break
                got += data
            assert bytes(got[:11]) == b"helloabcdef"
            assert len(got) == 11 + total
    finally:
        lsock.close()


def test_write_queue_grows_while_the_peer_does_not_read_and_drains_after(loop, runner):
    server, client, conn = pair(loop, runner)
    assert client.write_queue_size == 0
    written = fill(client)
    done = []
    client.write(b"q" * (1 << 20), lambda h, err: done.append(err))
    client.write(b"r" * 1000)           # queued behind, not tried
    queued = client.write_queue_size
    assert 0 < queued <= (1 << 20) + 1000
    for _ in range(5):
        loop.run(uv.UV_RUN_NOWAIT)
    assert client.write_queue_size > 0 and not done
    chunks, on_read = collector()
    conn.start_read(on_read)
    total = written + (1 << 20) + 1000
    runner.until(loop, lambda: len(joined(chunks)) == total, timeout=20)
    assert client.write_queue_size == 0
    assert done == [None]
    got = joined(chunks)
    assert got[written:] == b"q" * (1 << 20) + b"r" * 1000
    close_all(loop, runner, server, client, conn)


def test_write_before_connect_completes_is_sent(loop, runner):
    server, accepted = serve(loop)
    client = uv.TCP(loop)
    client.connect(server.getsockname())
    done = []
    client.write(b"early", lambda h, err: done.append(err))
    client.write(b" bird")
    runner.until(loop, lambda: accepted)
    chunks, on_read = collector()
    accepted[0].start_read(on_read)
    runner.until(loop, lambda: joined(chunks) == b"early bird" and done)
    assert done == [None]
    close_all(loop, runner, server, client, *accepted)


# --- shutdown, EOF, reset, refusal --------------------------------------------------


def test_shutdown_gives_the_peer_eof(loop, runner):
    server, client, conn = pair(loop, runner)
    chunks, on_read = collector()
    conn.start_read(on_read)
    assert client.readable and client.writable
    assert conn.readable and conn.writable
    shut = []
    client.write(b"last words")
    client.shutdown(lambda h, err: shut.append((h, err)))
    assert not client.writable
    runner.until(loop, lambda: shut and chunks and chunks[-1] == ("error", E.UV_EOF))
    assert shut == [(client, None)]
    assert chunks == [b"last words", ("error", E.UV_EOF)]
    assert not conn.active          # reading stopped at EOF
    # The other direction still works after a half-close.
    back, on_back = collector()
    client.start_read(on_back)
    conn.write(b"reply")
    runner.until(loop, lambda: joined(back) == b"reply")
    with pytest.raises(TCPError) as info:
        client.shutdown()
    assert info.value.args[0] == E.UV_ENOTCONN
    close_all(loop, runner, server, client, conn)


def test_shutdown_without_callback_and_python_peer_sees_eof(loop, runner):
    lsock = socket.create_server(("127.0.0.1", 0))
    try:
        client = connect(loop, runner, lsock.getsockname())
        peer, _ = lsock.accept()
        with peer:
            peer.settimeout(5)
            client.write(b"abc")
            client.shutdown()
            runner.until(loop, lambda: client.write_queue_size == 0)
            runner.run(loop)          # nothing keeps the loop alive: shutdown completed
            assert peer.recv(10) == b"abc"
            assert peer.recv(10) == b""
            client.close()
            runner.run(loop)
    finally:
        lsock.close()


def test_peer_close_gives_eof(loop, runner):
    server, client, conn = pair(loop, runner)
    chunks, on_read = collector()
    client.start_read(on_read)
    conn.write(b"bye")
    conn.close()
    runner.until(loop, lambda: chunks and chunks[-1] == ("error", E.UV_EOF))
    assert chunks == [b"bye", ("error", E.UV_EOF)]
    close_all(loop, runner, server, client)


def test_close_reset_makes_a_python_peer_see_connection_reset(loop, runner):
    lsock = socket.create_server(("127.0.0.1", 0))
    try:
        client = connect(loop, runner, lsock.getsockname())
        peer, _ = lsock.accept()
        with peer:
            closed = []
            client.close_reset(lambda h: closed.append(h))
            assert client.closed
            client.close_reset(lambda h: closed.append("again"))   # no-op
            client.close()                                          # no-op
            runner.run(loop)
            assert closed == [client]
            peer.settimeout(5)
            with pytest.raises(ConnectionResetError):
                peer.recv(10)
    finally:
        lsock.close()


def test_close_reset_needs_a_socket(loop, runner):
    tcp = uv.TCP(loop)
    with pytest.raises(TCPError):
        tcp.close_reset()
    assert not tcp.closed
    close_all(loop, runner, tcp)


def test_peer_reset_arrives_as_econnreset(loop, runner):
    server, accepted = serve(loop)
    chunks, on_read = collector()
    peer = socket.create_connection(server.getsockname(), timeout=5)
    try:
        runner.until(loop, lambda: accepted)
        accepted[0].start_read(on_read)
        peer.sendall(b"x")
        runner.until(loop, lambda: chunks)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    finally:
        peer.close()
    runner.until(loop, lambda: len(chunks) == 2)
    assert chunks == [b"x", ("error", E.UV_ECONNRESET)]
    assert not accepted[0].active
    close_all(loop, runner, server, *accepted)


def test_connect_refused_reports_econnrefused(loop, runner):
    closed_port = uv.TCP(loop)
    closed_port.bind(("127.0.0.1", 0))       # bound but not listening: refuses
    address = closed_port.getsockname()
    client = uv.TCP(loop)
    results = []
    client.connect(address, lambda h, err: results.append((h, err)))
    runner.until(loop, lambda: results)
    assert results == [(client, E.UV_ECONNREFUSED)]
    close_all(loop, runner, closed_port, client)


def test_close_while_connecting_cancels_the_connect(loop, runner):
    server, accepted = serve(loop)
    client = uv.TCP(loop)
    events = []
    client.connect(server.getsockname(), lambda h, err: events.append(("connect", err)))
    client.close(lambda h: events.append(("close", h)))
    runner.until(loop, lambda: len(events) == 2)
    assert events == [("connect", E.UV_ECANCELED), ("close", client)]
    server.close()
    for conn in accepted:
        conn.close()
    runner.run(loop)


def test_close_with_pending_writes_cancels_them(loop, runner):
    server, client, conn = pair(loop, runner)
    fill(client)
    done, closed = [], []
    for _ in range(3):
        client.write(b"w" * 100000, lambda h, err: done.append(err))
    client.close(lambda h: (closed.append(h), done.append("closed")))
    runner.until(loop, lambda: closed)
    assert done == [E.UV_ECANCELED] * 3 + ["closed"]
    close_all(loop, runner, server, conn)


# --- Python's socket module as a peer, and open(fd) ---------------------------------


def test_python_client_against_uv_server(loop, runner):
    server, accepted = serve(loop, read=echo)
    with socket.create_connection(server.getsockname(), timeout=5) as peer:
        peer.sendall(b"from python")
        got = bytearray()
        runner.until(loop, lambda: accepted)

        def have_reply():
            try:
                got.extend(peer.recv(100))
            except BlockingIOError:
                pass
            return bytes(got) == b"from python"

        peer.setblocking(False)      # the loop must run while we wait for the echo
        runner.until(loop, have_reply)
        assert accepted[0].getpeername() == peer.getsockname()
    runner.until(loop, lambda: accepted[0].closed)     # echo closes at EOF
    close_all(loop, runner, server)


def test_uv_client_against_python_server(loop, runner):
    with socket.create_server(("127.0.0.1", 0)) as lsock:
        client = connect(loop, runner, lsock.getsockname())
        peer, _ = lsock.accept()
        with peer:
            peer.settimeout(5)
            assert client.getpeername() == lsock.getsockname()
            assert peer.getpeername() == client.getsockname()
            sent = []
            client.write(b"hello python", lambda h, err: sent.append(err))
            runner.until(loop, lambda: sent)
            assert peer.recv(100) == b"hello python"
            chunks, on_read = collector()
            client.start_read(on_read)
            peer.sendall(b"hello uv")
            peer.shutdown(socket.SHUT_WR)
            runner.until(loop, lambda: chunks and chunks[-1] == ("error", E.UV_EOF))
            assert joined(chunks) == b"hello uv"
        close_all(loop, runner, client)


def test_open_a_connected_python_socket(loop, runner):
    server, accepted = serve(loop, read=echo)
    sock = socket.create_connection(server.getsockname(), timeout=5)
    local = sock.getsockname()
    tcp = uv.TCP(loop)
    tcp.open(sock.detach())
    assert tcp.getsockname() == local
    assert tcp.getpeername() == server.getsockname()
    assert tcp.readable and tcp.writable
    chunks, on_read = collector()
    tcp.start_read(on_read)
    tcp.write(b"opened")
    runner.until(loop, lambda: joined(chunks) == b"opened")
    tcp.close()
    runner.until(loop, lambda: accepted and accepted[0].closed)   # echo saw EOF
    close_all(loop, runner, server)


def test_open_a_listening_python_socket(loop, runner):
    lsock = socket.create_server(("127.0.0.1", 0))
    address = lsock.getsockname()
    server = uv.TCP(loop)
    server.open(lsock.detach())
    assert server.getsockname() == address
    assert server.family == socket.AF_INET
    accepted = []
    server.listen(lambda s, e: (accepted.append(uv.TCP(loop)), s.accept(accepted[-1])))
    client = connect(loop, runner, address)
    runner.until(loop, lambda: accepted)
    assert accepted[0].getpeername() == client.getsockname()
    close_all(loop, runner, server, client, *accepted)


def test_open_bad_fd(loop, runner):
    tcp = uv.TCP(loop)
    with pytest.raises(TCPError):
        tcp.open(-1)
    assert not tcp.closed
    close_all(loop, runner, tcp)


# --- socket options -----------------------------------------------------------------


def test_nodelay_keepalive_simultaneous_accepts(loop, runner):
    server, client, conn = pair(loop, runner)
    with sock_of(client) as s:
        client.nodelay(True)
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        client.nodelay(False)
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        client.keepalive(True, 7)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
        client.keepalive(False)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    with pytest.raises(ValueError):
        client.keepalive(True, 0)
    server.simultaneous_accepts(True)
    server.simultaneous_accepts(False)
    # Options set before the socket exists are applied when it is created.
    early = uv.TCP(loop)
    early.nodelay(True)
    early.keepalive(True, 30)
    early.bind(("127.0.0.1", 0))
    close_all(loop, runner, server, client, conn, early)


def test_buffer_sizes(loop, runner):
    server, client, conn = pair(loop, runner)
    client.send_buffer_size = 65536
    assert client.send_buffer_size >= 65536     # Linux doubles it
    client.receive_buffer_size = 65536
    assert client.receive_buffer_size >= 65536
    with pytest.raises(ValueError):
        client.send_buffer_size = 0
    with pytest.raises(ValueError):
        client.receive_buffer_size = -1
    unbound = uv.TCP(loop)
    with pytest.raises(TCPError):
        _ = unbound.send_buffer_size    # no socket yet
    close_all(loop, runner, server, client, conn, unbound)


def test_reuseport_two_listeners_on_one_port(loop, runner):
    first = uv.TCP(loop)
    first.bind(("127.0.0.1", 0), uv.UV_TCP_REUSEPORT)
    address = first.getsockname()
    second = uv.TCP(loop)
    second.bind(address, uv.UV_TCP_REUSEPORT)
    assert second.getsockname() == address
    accepted = {id(first): [], id(second): []}

    def on_connection(srv, error):
        assert error is None
        conn = uv.TCP(loop)
        srv.accept(conn)
        accepted[id(srv)].append(conn)

    first.listen(on_connection)
    second.listen(on_connection)
    clients = [uv.TCP(loop) for _ in range(16)]
    for c in clients:
        c.connect(address)
    runner.until(loop, lambda: sum(map(len, accepted.values())) == 16)
    close_all(loop, runner, first, second, *clients, *accepted[id(first)],
              *accepted[id(second)])


def test_accept_into_a_handle_of_another_loop_is_refused(loop, runner):
    other = uv.Loop()
    errors, accepted = [], []

    def on_connection(srv, error):
        foreign = uv.TCP(other)
        try:
            srv.accept(foreign)
        except ValueError as exc:
            errors.append(exc)
        finally:
            foreign.close()
        conn = uv.TCP(loop)
        srv.accept(conn)
        accepted.append(conn)

    server = uv.TCP(loop)
    server.bind(("127.0.0.1", 0))
    server.listen(on_connection)
    client = connect(loop, runner, server.getsockname())
    runner.until(loop, lambda: accepted)
    other.run()
    assert len(errors) == 1
    close_all(loop, runner, server, client, *accepted)


def test_accept_with_nothing_pending(loop, runner):
    server, accepted = serve(loop)
    conn = uv.TCP(loop)
    with pytest.raises(TCPError) as info:
        server.accept(conn)
    assert info.value.args[0] == E.UV_EAGAIN
    with pytest.raises(TypeError):
        server.accept(None)
    timer = uv.Timer(loop)
    with pytest.raises(TypeError):
        server.accept(timer)
    close_all(loop, runner, server, conn, timer)


def test_exception_in_the_listen_callback_goes_to_excepthook(loop, runner):
    server = uv.TCP(loop)
    server.bind(("127.0.0.1", 0))

    def on_connection(srv, error):
        raise RuntimeError("boom")

    server.listen(on_connection)
    client = uv.TCP(loop)
    client.connect(server.getsockname())
    with pytest.raises(RuntimeError, match="boom"):
        runner.until(loop, lambda: loop.callback_errors)
    close_all(loop, runner, server, client)


# --- bad input ----------------------------------------------------------------------


def test_write_to_a_closed_handle(loop, runner):
    server, client, conn = pair(loop, runner)
    client.close()
    with pytest.raises(HandleClosedError) as info:      # closing
        client.write(b"x")
    assert info.value.args[0] == E.UV_EBADF
    close_all(loop, runner, server, conn)
    with pytest.raises(HandleClosedError):              # closed
        client.write(b"x")
    with pytest.raises(HandleClosedError):
        client.write([b"x"], lambda h, e: None)


def test_write_to_an_unconnected_handle(loop, runner):
    tcp = uv.TCP(loop)
    with pytest.raises(TCPError):
        tcp.write(b"x")
    with pytest.raises(TCPError):
        tcp.write(b"x", lambda h, e: None)
    with pytest.raises(TCPError):
        tcp.try_write(b"x")
    with pytest.raises(TCPError) as info:
        tcp.shutdown()
    assert info.value.args[0] == E.UV_ENOTCONN
    with pytest.raises(TCPError) as info:
        tcp.start_read(lambda *a: None)
    assert info.value.args[0] == E.UV_ENOTCONN
    assert not tcp.readable and not tcp.writable
    close_all(loop, runner, tcp)


def test_bind_address_in_use(loop, runner):
    first = uv.TCP(loop)
    first.bind(("127.0.0.1", 0))
    first.listen(lambda s, e: None)
    second = uv.TCP(loop)
    with pytest.raises(TCPError) as info:
        # libuv reports EADDRINUSE from bind or, deferred, from listen.
        second.bind(first.getsockname())
        second.listen(lambda s, e: None)
    assert info.value.args[0] == E.UV_EADDRINUSE
    assert isinstance(info.value, OSError)
    close_all(loop, runner, first, second)


def test_bind_twice_and_ipv6only_on_ipv4(loop, runner):
    tcp = uv.TCP(loop)
    tcp.bind(("127.0.0.1", 0))
    with pytest.raises(TCPError):
        tcp.bind(("127.0.0.1", 0))
    v4 = uv.TCP(loop)
    with pytest.raises(TCPError) as info:
        v4.bind(("127.0.0.1", 0), uv.UV_TCP_IPV6ONLY)
    assert info.value.args[0] == E.UV_EINVAL
    with pytest.raises(ValueError):
        v4.bind(("127.0.0.1", 0), 0x1000)
    close_all(loop, runner, tcp, v4)


@pytest.mark.parametrize("port", [-1, 65536, 1 << 40])
def test_port_out_of_range(loop, runner, port):
    tcp = uv.TCP(loop)
    with pytest.raises(ValueError):
        tcp.bind(("127.0.0.1", port))
    with pytest.raises(ValueError):
        tcp.connect(("127.0.0.1", port), lambda h, e: None)
    close_all(loop, runner, tcp)


BAD_ADDRESS_TYPES = [
    "127.0.0.1:80",
    ["127.0.0.1", 80],
    None,
    ("127.0.0.1",),
    (),
    ("::1", 80, 0, 0, 0),
    (b"127.0.0.1", 80),
    (None, 80),
    (127, 80),
    ("127.0.0.1", "80"),
    ("127.0.0.1", 80.0),
    ("127.0.0.1", None),
    ("127.0.0.1", True),
    ("::1", 80, "flow"),
]

BAD_ADDRESS_VALUES = [
    ("localhost", 80),
    ("garbage", 80),
    ("999.1.1.1", 80),
    ("1.2.3", 80),
    ("127.0.0.1\0", 80),
    ("\0", 80),
    ("::1\0junk", 80),
    ("h\u00f6st", 80),
    ("127.0.0.1", 80, 0, 0),      # an IPv4 address with IPv6 fields
]


@pytest.mark.parametrize("address", BAD_ADDRESS_TYPES, ids=repr)
def test_malformed_address_type(loop, runner, address):
    tcp = uv.TCP(loop)
    with pytest.raises(TypeError):
        tcp.bind(address)
    with pytest.raises(TypeError):
        tcp.connect(address, lambda h, e: None)
    close_all(loop, runner, tcp)


@pytest.mark.parametrize("address", BAD_ADDRESS_VALUES, ids=repr)
def test_malformed_address_value(loop, runner, address):
    tcp = uv.TCP(loop)
    with pytest.raises(ValueError):
        tcp.bind(address)
    with pytest.raises(ValueError):
        tcp.connect(address, lambda h, e: None)
    close_all(loop, runner, tcp)


def test_negative_ipv6_flowinfo_is_rejected(loop, runner):
    tcp = uv.TCP(loop)
    with pytest.raises((ValueError, OverflowError)):
        tcp.bind(("::1", 0, -1, 0))
    with pytest.raises((ValueError, OverflowError)):
        tcp.bind(("::1", 0, 0, -1))
    close_all(loop, runner, tcp)


@pytest.mark.parametrize("data", ["text", 42, None, 1.5, object(), [b"ok", "text"],
                                  [b"ok", 1], (b"ok", None), {b"a": 1}],
                         ids=repr)
def test_write_rejects_non_buffers(loop, runner, data):
    server, client, conn = pair(loop, runner)
    calls = []
    with pytest.raises(TypeError):
        client.write(data)
    with pytest.raises(TypeError):
        client.write(data, lambda h, e: calls.append(e))
    with pytest.raises(TypeError):
        client.try_write(data)
    runner.until(loop, lambda: client.write_queue_size == 0)
    # Nothing was sent: the peer sees only what follows.
    chunks, on_read = collector()
    conn.start_read(on_read)
    client.write(b"after")
    runner.until(loop, lambda: joined(chunks) == b"after")
    close_all(loop, runner, server, client, conn)
    assert calls == []


def test_non_contiguous_buffer_is_rejected(loop, runner):
    server, client, conn = pair(loop, runner)
    strided = memoryview(b"abcdef")[::2]
    with pytest.raises((BufferError, TypeError, ValueError)):
        client.write(strided)
    with pytest.raises((BufferError, TypeError, ValueError)):
        client.write([b"ok", strided])
    close_all(loop, runner, server, client, conn)


def test_callbacks_must_be_callable(loop, runner):
    server, client, conn = pair(loop, runner)
    fresh = uv.TCP(loop)
    with pytest.raises(TypeError):
        fresh.listen(42)
    with pytest.raises(TypeError):
        client.start_read(None)
    with pytest.raises(TypeError):
        client.start_read("not callable")
    with pytest.raises(TypeError):
        fresh.connect(server.getsockname(), 42)
    with pytest.raises(TypeError):
        client.write(b"x", 42)
    with pytest.raises(TypeError):
        client.write([b"x"], "nope")
    with pytest.raises(TypeError):
        client.shutdown(42)
    with pytest.raises(TypeError):
        client.close(42)
    with pytest.raises(TypeError):
        client.close_reset(42)
    assert not client.closed and client.writable and not fresh.active
    close_all(loop, runner, server, client, conn, fresh)


def test_close_twice_runs_the_callback_once(loop, runner):
    tcp = uv.TCP(loop)
    calls = []
    tcp.close(lambda h: calls.append(("first", h)))
    assert tcp.closed
    tcp.close(lambda h: calls.append(("second", h)))
    tcp.close()
    runner.run(loop)
    tcp.close(lambda h: calls.append(("third", h)))
    runner.run(loop)
    assert calls == [("first", tcp)]


def test_start_read_twice_replaces_the_callback(loop, runner):
    server, client, conn = pair(loop, runner)
    first, second = [], []
    conn.start_read(lambda h, data, err: first.append(data))
    conn.start_read(lambda h, data, err: second.append(data))
    client.write(b"hi")
    runner.until(loop, lambda: second)
    assert first == [] and second == [b"hi"]
    conn.stop_read()
    assert not conn.active
    conn.stop_read()                      # stopping twice is fine
    client.write(b"unread")
    for _ in range(3):
        loop.run(uv.UV_RUN_NOWAIT)
    assert second == [b"hi"]
    conn.start_read(lambda h, data, err: second.append(data))
    runner.until(loop, lambda: len(second) == 2)
    assert second == [b"hi", b"unread"]
    close_all(loop, runner, server, client, conn)


def test_exception_in_the_read_callback_goes_to_excepthook_and_reading_goes_on(loop, runner):
    server, client, conn = pair(loop, runner)
    got = []

    def on_read(h, data, err):
        got.append(data)
        if data == b"bad":
            raise RuntimeError("read callback failed")

    conn.start_read(on_read)
    client.write(b"bad")
    with pytest.raises(RuntimeError, match="read callback failed"):
        runner.until(loop, lambda: loop.callback_errors)
    client.write(b"good")
    runner.until(loop, lambda: b"good" in got)
    assert got == [b"bad", b"good"]
    close_all(loop, runner, server, client, conn)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3)])
def test_keyboard_interrupt_in_the_read_callback_stops_the_loop(loop, runner, exc):
    server, client, conn = pair(loop, runner)
    hooked = []
    loop.excepthook = lambda *args: hooked.append(args)

    def on_read(h, data, err):
        h.stop_read()
        raise exc

    conn.start_read(on_read)
    client.write(b"x")
    with pytest.raises(type(exc)) as info:
        runner.run(loop)               # the server keeps it alive: only exc ends it
    assert info.value is exc and hooked == []
    close_all(loop, runner, server, client, conn)


def test_read_callback_may_close_the_handle(loop, runner):
    server, client, conn = pair(loop, runner)
    calls = []

    def on_read(h, data, err):
        calls.append(data)
        h.close()

    conn.start_read(on_read)
    client.write(b"one")
    runner.until(loop, lambda: conn.closed)
    client.write(b"two")
    for _ in range(3):
        loop.run(uv.UV_RUN_NOWAIT)
    assert calls == [b"one"]
    close_all(loop, runner, server, client)


def _after_close_calls(server_address):
    return {
        "bind": lambda h: h.bind(("127.0.0.1", 0)),
        "listen": lambda h: h.listen(lambda s, e: None),
        "accept": lambda h: h.accept(h),
        "connect": lambda h: h.connect(server_address, lambda c, e: None),
        "open": lambda h: h.open(0),
        "write": lambda h: h.write(b"x"),
        "write-cb": lambda h: h.write(b"x", lambda c, e: None),
        "try_write": lambda h: h.try_write(b"x"),
        "start_read": lambda h: h.start_read(lambda *a: None),
        "stop_read": lambda h: h.stop_read(),
        "shutdown": lambda h: h.shutdown(),
        "getsockname": lambda h: h.getsockname(),
        "getpeername": lambda h: h.getpeername(),
        "nodelay": lambda h: h.nodelay(True),
        "keepalive": lambda h: h.keepalive(True, 10),
        "simultaneous_accepts": lambda h: h.simultaneous_accepts(True),
        "fileno": lambda h: h.fileno(),
        "set_blocking": lambda h: h.set_blocking(True),
        "send_buffer_size": lambda h: h.send_buffer_size,
        "set ref": lambda h: setattr(h, "ref", False),
    }


@pytest.mark.parametrize("fully_closed", [False, True], ids=["closing", "closed"])
def test_methods_after_close_raise_handle_closed(loop, runner, fully_closed):
    server, client, conn = pair(loop, runner)
    client.close()
    if fully_closed:
        runner.until(loop, lambda: not [h for h in loop.handles if h is client])
    failures = []
    for name, call in _after_close_calls(server.getsockname()).items():
        try:
            call(client)
        except HandleClosedError as exc:
            assert isinstance(exc, HandleError)
            assert exc.args[0] == E.UV_EBADF
        except Exception as exc:     # noqa: BLE001 - reported below
            failures.append(f"{name}: {exc!r}")
        else:
            failures.append(f"{name}: no exception")
    assert not failures
    assert client.closed and not client.active
    assert not client.readable and not client.writable
    assert client.write_queue_size == 0
    close_all(loop, runner, server, conn)


# --- references: buffers, callbacks and handles -------------------------------------


def test_writes_do_not_leak_references(loop, runner):
    server, client, conn = pair(loop, runner)
    conn.start_read(lambda h, data, err: None)
    data = b"refcount" * 1000
    view_source = bytearray(data)

    def on_write(h, err):
        assert err is None

    before = (sys.getrefcount(data), sys.getrefcount(view_source), sys.getrefcount(on_write))
    for _ in range(200):
        client.write(data)
        client.write(data, on_write)
        client.write([data, view_source], on_write)
        client.write(memoryview(view_source))
        try:
            client.write([data, "not a buffer"], on_write)
        except TypeError:
            pass
    runner.until(loop, lambda: client.write_queue_size == 0)
    for _ in range(5):
        loop.run(uv.UV_RUN_NOWAIT)
    gc.collect()
    after = (sys.getrefcount(data), sys.getrefcount(view_source), sys.getrefcount(on_write))
    assert after == before
    view_source.extend(b"!")       # no export left behind
    close_all(loop, runner, server, client, conn)


def test_write_of_more_buffers_than_iov_max(loop, runner):
    server, client, conn = pair(loop, runner)
    chunks, on_read = collector()
    conn.start_read(on_read)
    pieces = [b"%05d|" % i for i in range(5000)]      # IOV_MAX is 1024 on Linux
    done = []
    client.write(pieces, lambda h, e: done.append(e))
    client.write(pieces)
    expected = b"".join(pieces)
    runner.until(loop, lambda: len(joined(chunks)) >= 2 * len(expected) and done)
    got = joined(chunks)
    assert got[:2 * len(expected)] == expected * 2
    assert done == [None]
    close_all(loop, runner, server, client, conn)


def test_received_data_is_never_changed_afterwards(loop, runner):
    """Each read is a bytes object of its own: what a callback keeps (even only through
    a memoryview) stays as it was delivered, and a hash taken is the content's hash."""
    server, client, conn = pair(loop, runner)
    views, copies, hashes_ok, ids = [], [], [], set()

    def on_read(h, data, err):
        if data is None:
            return
        ids.add(id(data))
        copies.append(bytes(bytearray(data)))
        hashes_ok.append(hash(data) == hash(copies[-1]))
        if len(copies) % 2:
            views.append((len(copies) - 1, memoryview(data)))   # keep every other one

    conn.start_read(on_read)
    sent = []
    for i in range(60):
        message = bytes([65 + i % 26]) * 1000           # same length, new content
        sent.append(message)
        client.write(message)
        runner.until(loop, lambda n=i + 1: sum(map(len, copies)) >= 1000 * n)
    assert b"".join(copies) == b"".join(sent)
    assert all(hashes_ok)
    for index, view in views:
        assert bytes(view) == copies[index]
        view.release()
    close_all(loop, runner, server, client, conn)


def test_a_connecting_handle_needs_no_python_reference(loop, runner):
    server, accepted = serve(loop)
    results = []

    def on_connect(handle, error):
        results.append((type(handle), error))
        handle.write(b"still here", lambda h, e: h.close())

    uv.TCP(loop).connect(server.getsockname(), on_connect)
    gc.collect()
    chunks, on_read = collector()
    runner.until(loop, lambda: accepted)
    accepted[0].start_read(on_read)
    runner.until(loop, lambda: chunks and chunks[-1] == ("error", E.UV_EOF))
    assert results == [(uv.TCP, None)]
    assert joined(chunks) == b"still here"
    close_all(loop, runner, server, *accepted)

"""Pipe: Unix domain sockets on a path and in the abstract namespace, open(fd) on
os.pipe() ends and socketpairs, and IPC handle passing (TCP and UDP handles sent over a
pipe and accepted on the other end)."""

import os
import socket
import stat
import uuid

import pytest

from sourcey import uv
from sourcey.uv.error import HandleClosedError, PipeError

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


def close_all(loop, runner, *handles):
    for h in handles:
        h.close()
    runner.run(loop)


def collector():
    chunks = []

    def on_read(handle, data, error):
        if data is None:
            chunks.append(("error", error))
        else:
            assert error is None and type(data) is bytes and data
            chunks.append(data)

    return chunks, on_read


def joined(chunks):
    return b"".join(c for c in chunks if isinstance(c, bytes))


def echo(handle, data, error):
    if data is None:
        handle.close()
    else:
        handle.write(data)


def serve(loop, name, read=None):
    server = uv.Pipe(loop)
    server.bind(name)
    accepted = []

    def on_connection(srv, error):
        assert error is None
        conn = uv.Pipe(loop)
        srv.accept(conn)
        accepted.append(conn)
        if read is not None:
            conn.start_read(read)

    server.listen(on_connection)
    return server, accepted


def connect(loop, runner, name):
    client = uv.Pipe(loop)
    results = []
    client.connect(name, lambda h, err: results.append((h, err)))
    runner.until(loop, lambda: results)
    assert results == [(client, None)]
    return client


def abstract_name():
    return "\0sourcey-test-" + uuid.uuid4().hex


def ipc_pair(loop):
    """Two IPC pipes on the ends of a socketpair."""
    a, b = socket.socketpair()
    left = uv.Pipe(loop, ipc=True)
    left.open(a.detach())
    right = uv.Pipe(loop, ipc=True)
    right.open(b.detach())
    return left, right


def tcp_pair(loop, runner):
    """(server, client, accepted) TCP handles connected over 127.0.0.1."""
    server = uv.TCP(loop)
    server.bind(("127.0.0.1", 0))
    accepted = []
    server.listen(lambda s, e: (accepted.append(uv.TCP(loop)), s.accept(accepted[-1])))
    client = uv.TCP(loop)
    done = []
    client.connect(server.getsockname(), lambda h, e: done.append(e))
    runner.until(loop, lambda: done and accepted)
    assert done == [None]
    return server, client, accepted[0]


# --- bind / listen / connect / accept -----------------------------------------------


@pytest.mark.parametrize("kind", ["path", "bytes-path", "abstract"])
def test_bind_connect_accept_echo(loop, runner, tmp_path, kind):
    if kind == "abstract":
        name = abstract_name()
    else:
        name = str(tmp_path / "echo.sock")
    server, accepted = serve(loop, name.encode() if kind == "bytes-path" else name,
                             read=echo)
    assert server.getsockname() == name
    if kind != "abstract":
        assert stat.S_ISSOCK(os.stat(name).st_mode)
    client = connect(loop, runner, name)
    runner.until(loop, lambda: accepted)
    assert client.getpeername() == name
    assert accepted[0].getsockname() == name
    assert client.readable and client.writable
    assert not client.ipc and not server.ipc

    chunks, on_read = collector()
    client.start_read(on_read)
    payload = os.urandom(3 * 1024 * 1024)
    done = []
    client.write(payload[:1000], lambda h, e: done.append(e))
    client.write(bytearray(payload[1000:5000]))
    client.write([memoryview(payload)[5000:1 << 20], payload[1 << 20:]],
                 lambda h, e: done.append(e))
    runner.until(loop, lambda: len(joined(chunks)) >= len(payload), timeout=20)
    assert joined(chunks) == payload
    runner.until(loop, lambda: len(done) == 2)
    assert done == [None, None]
    client.shutdown()
    runner.until(loop, lambda: accepted[0].closed)      # echo closed at EOF
    runner.until(loop, lambda: chunks[-1] == ("error", E.UV_EOF))
    close_all(loop, runner, client, server)
    if kind != "abstract":
        assert not os.path.exists(name)                 # unlinked at close


def test_python_socket_peer_on_a_pipe(loop, runner, tmp_path):
    name = str(tmp_path / "py.sock")
    server, accepted = serve(loop, name, read=echo)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
        peer.settimeout(5)
        peer.connect(name)
        peer.sendall(b"from python")
        got = bytearray()

        def have_reply():
            try:
                got.extend(peer.recv(100))
            except BlockingIOError:
                pass
            return bytes(got) == b"from python"

        peer.setblocking(False)      # the loop must run while we wait for the echo
        runner.until(loop, have_reply)
    runner.until(loop, lambda: accepted and accepted[0].closed)
    close_all(loop, runner, server)


def test_connect_to_a_missing_path_reports_enoent(loop, runner, tmp_path):
    client = uv.Pipe(loop)
    results = []
    client.connect(str(tmp_path / "missing.sock"), lambda h, err: results.append((h, err)))
    runner.until(loop, lambda: results)
    assert results == [(client, E.UV_ENOENT)]
    close_all(loop, runner, client)


def test_connect_to_a_missing_abstract_name_is_refused(loop, runner):
    client = uv.Pipe(loop)
    results = []
    client.connect(abstract_name(), lambda h, err: results.append(err))
    runner.until(loop, lambda: results)
    assert results == [E.UV_ECONNREFUSED]
    close_all(loop, runner, client)


def test_bind_errors(loop, runner, tmp_path):
    name = str(tmp_path / "taken.sock")
    first = uv.Pipe(loop)
    first.bind(name)
    second = uv.Pipe(loop)
    with pytest.raises(PipeError) as info:
        second.bind(name)
    assert info.value.args[0] == E.UV_EADDRINUSE
    third = uv.Pipe(loop)
    with pytest.raises(PipeError) as info:
        third.bind(str(tmp_path / "no" / "such" / "dir.sock"))
    assert info.value.args[0] in (E.UV_ENOENT, E.UV_EACCES)   # gVisor says EACCES
    with pytest.raises(PipeError) as info:
        first.bind(str(tmp_path / "again.sock"))       # already bound
    assert info.value.args[0] == E.UV_EINVAL
    unbound = uv.Pipe(loop)
    with pytest.raises(PipeError):
        unbound.listen(lambda s, e: None)
    close_all(loop, runner, first, second, third, unbound)


@pytest.mark.parametrize("name, exc", [
    ("", ValueError),
    (b"", ValueError),
    ("a\0b", ValueError),
    (b"/tmp/x\0y", ValueError),
    (None, TypeError),
    (42, TypeError),
    (("/tmp/x",), TypeError),
    (bytearray(b"/tmp/x"), TypeError),
], ids=repr)
def test_bad_names(loop, runner, name, exc):
    pipe = uv.Pipe(loop)
    with pytest.raises(exc):
        pipe.bind(name)
    with pytest.raises(exc):
        pipe.connect(name, lambda h, e: None)
    close_all(loop, runner, pipe)


def test_chmod(loop, runner, tmp_path):
    name = str(tmp_path / "mode.sock")
    server = uv.Pipe(loop)
    with pytest.raises(PipeError):
        server.chmod(uv.UV_READABLE)          # not bound yet
    server.bind(name)
    os.chmod(name, 0o600)
    server.chmod(uv.UV_READABLE | uv.UV_WRITABLE)
    assert stat.S_IMODE(os.stat(name).st_mode) == 0o666
    with pytest.raises(PipeError):
        server.chmod(0)
    close_all(loop, runner, server)


def test_pending_instances_and_counts(loop, runner, tmp_path):
    server = uv.Pipe(loop)
    server.pending_instances(4)              # a no-op on Unix
    assert server.pending_count() == 0
    assert server.pending_handle_type() == uv.UV_UNKNOWN_HANDLE
    close_all(loop, runner, server)


# --- open(fd) -----------------------------------------------------------------------


def test_open_os_pipe_ends(loop, runner):
    rfd, wfd = os.pipe()
    reader = uv.Pipe(loop)
    reader.open(rfd)
    writer = uv.Pipe(loop)
    writer.open(wfd)
    assert reader.readable and not reader.writable
    assert writer.writable and not writer.readable
    assert reader.fileno() == rfd and writer.fileno() == wfd
    chunks, on_read = collector()
    reader.start_read(on_read)
    done = []
    writer.write(b"through ", lambda h, e: done.append(e))
    writer.write([b"an ", bytearray(b"os.pipe")])
    runner.until(loop, lambda: joined(chunks) == b"through an os.pipe" and done)
    assert done == [None]
    with pytest.raises(PipeError):
        writer.start_read(on_read)           # the write end cannot be read
    writer.close()
    runner.until(loop, lambda: chunks[-1] == ("error", E.UV_EOF))
    close_all(loop, runner, reader)


def test_open_socketpair_ends(loop, runner):
    a, b = socket.socketpair()
    left = uv.Pipe(loop)
    left.open(a.detach())
    with b:
        b.settimeout(5)
        left.write(b"ping")
        runner.until(loop, lambda: left.write_queue_size == 0)
        assert b.recv(10) == b"ping"
        chunks, on_read = collector()
        left.start_read(on_read)
        b.sendall(b"pong")
        runner.until(loop, lambda: joined(chunks) == b"pong")
    runner.until(loop, lambda: chunks[-1] == ("error", E.UV_EOF))
    close_all(loop, runner, left)


def test_open_bad_fd(loop, runner):
    pipe = uv.Pipe(loop)
    with pytest.raises(PipeError):
        pipe.open(-1)
    close_all(loop, runner, pipe)


# --- IPC: handle passing ------------------------------------------------------------


def test_send_a_connected_tcp_handle_over_an_ipc_pipe(loop, runner):
    server, client, conn = tcp_pair(loop, runner)
    left, right = ipc_pair(loop)
    assert left.ipc and right.ipc
    received = []

    def on_read(pipe, data, error):
        assert error is None, error
        received.append(data)
        # The handle is pending as soon as the data that carried it is read.
        assert pipe.pending_count() == 1
        assert pipe.pending_handle_type() == uv.UV_TCP
        tcp = uv.TCP(loop)
        pipe.accept(tcp)
        received.append(tcp)
        assert pipe.pending_count() == 0
        assert pipe.pending_handle_type() == uv.UV_UNKNOWN_HANDLE

    right.start_read(on_read)
    sent = []
    left.write(b"take this", lambda h, e: sent.append(e), conn)
    runner.until(loop, lambda: sent and len(received) == 2)
    assert sent == [None]
    assert received[0] == b"take this"
    passed = received[1]
    conn.close()                        # the sender's copy is no longer needed
    # The passed handle is the same connection: it talks to the client.
    assert passed.getpeername() == client.getsockname()
    assert passed.getsockname() == server.getsockname()
    assert passed.readable and passed.writable
    chunks, on_read = collector()
    client.start_read(on_read)
    passed.write(b"hello over the passed handle")
    runner.until(loop, lambda: joined(chunks) == b"hello over the passed handle")
    back, on_back = collector()
    passed.start_read(on_back)
    client.write(b"and back")
    runner.until(loop, lambda: joined(back) == b"and back")
    close_all(loop, runner, server, client, passed, left, right)


def test_send_a_listening_tcp_handle_over_an_ipc_pipe(loop, runner):
    listener = uv.TCP(loop)
    listener.bind(("127.0.0.1", 0))
    listener.listen(lambda s, e: None)
    address = listener.getsockname()
    left, right = ipc_pair(loop)
    passed = []

    def on_read(pipe, data, error):
        if pipe.pending_count():
            tcp = uv.TCP(loop)
            pipe.accept(tcp)
            passed.append(tcp)

    right.start_read(on_read)
    left.write(b"L", None, listener)
    runner.until(loop, lambda: passed)
    listener.close()
    accepted = []
    passed[0].listen(lambda s, e: (accepted.append(uv.TCP(loop)), s.accept(accepted[-1])))
    assert passed[0].getsockname() == address
    client = uv.TCP(loop)
    client.connect(address)
    runner.until(loop, lambda: accepted)
    close_all(loop, runner, client, *accepted, *passed, left, right)


def test_send_a_udp_handle_over_an_ipc_pipe(loop, runner):
    udp = uv.UDP(loop)
    udp.bind(("127.0.0.1", 0))
    address = udp.getsockname()
    left, right = ipc_pair(loop)
    passed = []

    def on_read(pipe, data, error):
        if pipe.pending_count():
            assert pipe.pending_handle_type() == uv.UV_UDP
            other = uv.UDP(loop)
            pipe.accept(other)
            passed.append(other)

    right.start_read(on_read)
    left.write(b"U", None, udp)
    runner.until(loop, lambda: passed)
    udp.close()
    assert passed[0].getsockname() == address
    got = []
    passed[0].start_recv(lambda h, addr, flags, data, err: got.append(data))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"to the passed udp", address)
        runner.until(loop, lambda: got)
    assert got == [b"to the passed udp"]
    close_all(loop, runner, *passed, left, right)


def test_send_handle_needs_an_ipc_pipe(loop, runner):
    server, client, conn = tcp_pair(loop, runner)
    a, b = socket.socketpair()
    plain = uv.Pipe(loop)
    plain.open(a.detach())
    with b:
        with pytest.raises(ValueError):
            plain.write(b"x", None, conn)
        with pytest.raises(ValueError):
            plain.write(b"x", lambda h, e: None, conn)
    close_all(loop, runner, server, client, conn, plain)


def test_send_handle_errors(loop, runner):
    left, right = ipc_pair(loop)
    closed = uv.TCP(loop)
    closed.close()
    with pytest.raises(HandleClosedError):
        left.write(b"x", None, closed)
    timer = uv.Timer(loop)
    with pytest.raises(PipeError):         # not a TCP, UDP or Pipe
        left.write(b"x", None, timer)
    unbound = uv.TCP(loop)
    with pytest.raises(PipeError):         # no socket to send
        left.write(b"x", None, unbound)
    with pytest.raises(TypeError):
        left.write(b"x", None, "not a handle")
    with pytest.raises(PipeError) as info:
        left.accept(unbound)      # nothing pending
    assert info.value.args[0] == E.UV_EAGAIN
    close_all(loop, runner, left, right, timer, unbound)


def test_send_handle_with_empty_data_is_refused(loop, runner):
    server, client, conn = tcp_pair(loop, runner)
    left, right = ipc_pair(loop)
    try:
        with pytest.raises(ValueError):
            left.write(b"", None, conn)
    finally:
        close_all(loop, runner, server, client, conn, left, right)


def fill_pipe(pipe, limit=4096):
    for _ in range(limit):
        try:
            pipe.try_write(b"f" * 65536)
        except PipeError as exc:
            assert exc.args[0] == E.UV_EAGAIN
            return
    raise AssertionError("the pipe never filled up")


def test_queued_handle_send_keeps_the_handle_until_written(loop, runner):
    """A handle queued for sending keeps working until its write completes, even if it
    is closed meanwhile: libuv reads the sent handle's memory when it finally writes."""
    left, right = ipc_pair(loop)
    sent = uv.TCP(loop)
    sent.bind(("127.0.0.1", 0))
    address = sent.getsockname()
    fill_pipe(left)
    done = []
    left.write(b"h", lambda h, e: done.append(e), sent)
    assert left.write_queue_size > 0
    sent.close()
    runner.until(loop, lambda: sent not in loop.handles)
    # New handles of the same type may reuse the memory of the one just closed.
    others = [uv.TCP(loop) for _ in range(20)]
    for o in others:
        o.bind(("127.0.0.1", 0))
    received = []

    def on_read(pipe, data, error):
        while pipe.pending_count():
            tcp = uv.TCP(loop)
            pipe.accept(tcp)
            received.append(tcp.getsockname())
            tcp.close()

    right.start_read(on_read)
    try:
        runner.until(loop, lambda: done, timeout=10)
        for _ in range(5):
            loop.run(uv.UV_RUN_NOWAIT)
        # Either the closed handle's socket is refused (UV_EBADF) or it travels; never
        # another handle's socket.
        assert done in ([E.UV_EBADF], [None])
        assert all(r == address for r in received), f"sent {address}, received {received}"
    finally:
        close_all(loop, runner, left, right, *others)


def test_accept_into_a_handle_of_another_loop(loop, runner, tmp_path):
    other = uv.Loop()
    name = str(tmp_path / "other.sock")
    server = uv.Pipe(loop)
    server.bind(name)
    errors, accepted = [], []

    def on_connection(srv, error):
        foreign = uv.Pipe(other)
        try:
            srv.accept(foreign)
        except ValueError as exc:
            errors.append(exc)
        foreign.close()
        conn = uv.Pipe(loop)
        srv.accept(conn)
        accepted.append(conn)

    server.listen(on_connection)
    client = connect(loop, runner, name)
    runner.until(loop, lambda: accepted)
    other.run()
    assert len(errors) == 1
    close_all(loop, runner, server, client, *accepted)


# --- bad input and closed pipes -----------------------------------------------------


def test_callbacks_must_be_callable(loop, runner, tmp_path):
    name = str(tmp_path / "cb.sock")
    server, accepted = serve(loop, name)
    client = connect(loop, runner, name)
    fresh = uv.Pipe(loop)
    with pytest.raises(TypeError):
        fresh.connect(name, 42)
    with pytest.raises(TypeError):
        client.start_read(42)
    with pytest.raises(TypeError):
        client.write(b"x", 42)
    with pytest.raises(TypeError):
        client.shutdown(42)
    bound = uv.Pipe(loop)
    bound.bind(str(tmp_path / "cb2.sock"))
    with pytest.raises(TypeError):
        bound.listen(None)
    runner.until(loop, lambda: accepted)
    close_all(loop, runner, server, client, fresh, bound, *accepted)


@pytest.mark.parametrize("data", ["text", 1, None, [b"a", "b"]], ids=repr)
def test_write_rejects_non_buffers(loop, runner, data):
    left, right = ipc_pair(loop)
    with pytest.raises(TypeError):
        left.write(data)
    with pytest.raises(TypeError):
        left.try_write(data)
    close_all(loop, runner, left, right)


def test_methods_after_close(loop, runner, tmp_path):
    pipe = uv.Pipe(loop)
    calls = []
    pipe.close(lambda h: calls.append(h))
    pipe.close(lambda h: calls.append("again"))
    name = str(tmp_path / "closed.sock")
    for call in (lambda: pipe.bind(name), lambda: pipe.connect(name),
                 lambda: pipe.listen(lambda s, e: None), lambda: pipe.open(0),
                 lambda: pipe.write(b"x"), lambda: pipe.try_write(b"x"),
                 lambda: pipe.start_read(lambda *a: None), lambda: pipe.stop_read(),
                 lambda: pipe.shutdown(), lambda: pipe.getsockname(),
                 lambda: pipe.getpeername(), lambda: pipe.pending_count(),
                 lambda: pipe.pending_handle_type(), lambda: pipe.chmod(uv.UV_READABLE),
                 lambda: pipe.accept(pipe), lambda: pipe.pending_instances(1),
                 lambda: pipe.fileno()):
        with pytest.raises(HandleClosedError):
            call()
    runner.run(loop)
    assert calls == [pipe]
    with pytest.raises(HandleClosedError):
        pipe.write(b"x")
    assert not os.path.exists(name)

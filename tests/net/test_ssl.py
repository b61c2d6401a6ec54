"""SSLSocket and SSLServer: TLS over the C read path, against themselves, openssl's
s_server and s_client, and Python's ssl module. Loopback only; every wait is bounded."""

import gc
import os
import selectors
import shutil
import socket
import ssl
import subprocess
import threading
import time
import weakref

import pytest

from sourcey.net import PeerClosedError, SSLServer, SSLSocket, TCPServer, TCPSocket

trustme = pytest.importorskip("trustme")

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def cert(ca):
    return ca.issue_cert("localhost", "127.0.0.1", "sourcey.test")


@pytest.fixture(scope="module")
def pem_files(ca, cert, tmp_path_factory):
    """(CA file, server key+chain file) for the openssl commands."""
    d = tmp_path_factory.mktemp("tls")
    ca_file, server_file = d / "ca.pem", d / "server.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_file))
    return str(ca_file), str(server_file)


@pytest.fixture
def server_ctx(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ctx(ca):
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def errors(loop):
    """Exceptions raised in callbacks (slots included) fail the test."""
    caught = []
    loop.excepthook = lambda typ, value, tb: caught.append(value)
    yield caught
    assert not caught, f"exceptions in callbacks: {caught!r}"


class Events:
    """Record a socket's signals."""

    def __init__(self, sock):
        self.connects = 0
        self.data = bytearray()
        self.chunks = 0
        self.errors = []
        self.closed = False
        self.connected_after_close = False
        sock.Connect.attach(self._connect)
        sock.Recv.attach(self._recv)
        sock.Error.attach(self._error)
        sock.Close.attach(self._close)

    def _connect(self, sock):
        self.connects += 1

    def _recv(self, sock, data, peer):
        self.data += data
        self.chunks += 1

    def _error(self, sock, exc):
        self.errors.append(exc)

    def _close(self, sock):
        self.closed = True


def echo_server(loop, ctx, accepted=None, **kwargs):
    """An SSLServer echoing on every connection; ``accepted`` gets (socket, Events)."""

    def on_accept(sock):
        events = Events(sock)
        sock.Recv.attach(lambda s, data, peer: s.send(data))
        if accepted is not None:
            accepted.append((sock, events))

    return SSLServer("127.0.0.1", 0, on_accept, context=ctx, loop=loop, **kwargs)


def payload(n):
    block = bytes(range(256))
    return (block * (n // 256 + 1))[:n]


# -- SSLSocket to SSLSocket ----------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 4 * 1024 * 1024])
def test_echo(loop, runner, errors, server_ctx, client_ctx, size):
    accepted = []
    server = echo_server(loop, server_ctx, accepted)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    data = payload(size)
    client.Connect.attach(lambda s: s.send(data))
    client.Recv.attach(lambda s, d, p: s.close() if len(ev.data) >= size else None)
    client.connect("localhost", server.address.port, timeout=5)
    assert repr(client) == "<SSLSocket connecting>"
    runner.until(loop, lambda: ev.closed, timeout=20)
    server.close()
    runner.until(loop, lambda: accepted and accepted[0][1].closed)
    runner.run(loop)

    assert ev.connects == 1 and not ev.errors
    assert bytes(ev.data) == data
    sock, sev = accepted[0]
    assert sev.connects == 1 and bytes(sev.data) == data
    # The client's close_notify is an orderly close for the server: Close, no Error.
    assert sev.errors == [] and sock.error is None
    assert client.version() == sock.version() and client.version().startswith("TLS")
    assert client.cipher()[0] == sock.cipher()[0]
    assert client.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
    assert client.server_hostname == "localhost"


def test_connect_emitted_after_handshake_and_state(loop, runner, errors, server_ctx,
                                                   client_ctx):
    server = echo_server(loop, server_ctx)
    client = SSLSocket(loop, client_ctx)
    seen = []

    def on_connect(s):
        seen.append((s.connected, s.handshake_done, s.version() is not None, repr(s)))
        s.close()
        seen.append((s.connected, s.closed))

    client.Connect.attach(on_connect)
    ev = Events(client)
    client.connect("127.0.0.1", server.address.port)
    runner.until(loop, lambda: ev.closed)
    server.close(close_connections=True)
    runner.run(loop)
    assert seen == [(True, True, True, "<SSLSocket open>"), (False, True)]
    assert not ev.errors
    assert client.connected is False and client.closed


def test_send_before_handshake_is_held(loop, runner, errors, server_ctx, client_ctx):
    """Data an accepted socket sends before its handshake goes out, in order, after it."""

    def on_accept(sock):
        assert repr(sock) == "<SSLSocket handshaking>"
        assert sock.send(b"hello, ") is True
        sock.send([b"before ", bytearray(b"connect; ")])
        sock.Connect.attach(lambda s: s.send(b"after"))

    server = SSLServer("127.0.0.1", 0, on_accept, context=server_ctx, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    expected = b"hello, before connect; after"
    client.Recv.attach(lambda s, d, p: s.close() if len(ev.data) >= len(expected) else None)
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: ev.closed)
    server.close(close_connections=True)
    runner.run(loop)
    assert bytes(ev.data) == expected and not ev.errors


def test_close_flushes_queued_data(loop, runner, errors, server_ctx, client_ctx):
    """close() right after a large send: everything arrives, then the orderly close."""
    size = 8 * 1024 * 1024
    accepted = []
    server = SSLServer("127.0.0.1", 0, lambda s: accepted.append((s, Events(s))),
                       context=server_ctx, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    sent = []

    def on_connect(s):
        sent.append(s.send(payload(size)))
        assert s.write_queue_size > 0          # the kernel did not take 8 MB at once
        s.close()
        assert s.closed and repr(s) == "<SSLSocket closing>"

    client.Connect.attach(on_connect)
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: accepted and accepted[0][1].closed, timeout=20)
    server.close()
    runner.run(loop)
    sock, sev = accepted[0]
    assert sent == [False]                      # above the high watermark
    assert len(sev.data) == size and bytes(sev.data) == payload(size)
    assert sev.errors == [] and ev.errors == [] and ev.closed


def test_watermarks_and_drain(loop, runner, errors, server_ctx, client_ctx):
    """send returns False above the high watermark (ciphertext queued) and Drain comes
    at the low one, as on TCPSocket."""
    accepted = []

    def on_accept(sock):
        accepted.append((sock, Events(sock)))
        sock.Connect.attach(lambda s: s.pause_reading())   # let the client's queue grow

    server = SSLServer("127.0.0.1", 0, on_accept, context=server_ctx, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.set_watermarks(high=256 * 1024, low=64 * 1024)
    results, drained = [], []
    chunk = payload(64 * 1024)

    def on_connect(s):
        while len(results) < 4000:
            results.append(s.send(chunk))
            if not results[-1]:
                break

    client.Connect.attach(on_connect)
    client.Drain.attach(lambda s: drained.append(s.write_queue_size))
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: results and accepted and accepted[0][1].connects)
    assert results[-1] is False and all(results[:-1])
    assert client.write_queue_size > 256 * 1024 and not drained
    sock, sev = accepted[0]
    sock.resume_reading()
    total = len(results) * len(chunk)
    runner.until(loop, lambda: len(sev.data) == total and drained, timeout=20)
    client.close()
    runner.until(loop, lambda: ev.closed and sev.closed)
    server.close()
    runner.run(loop)
    assert len(drained) == 1 and drained[0] <= 64 * 1024
    assert bytes(sev.data) == chunk * len(results)
    assert not ev.errors and not sev.errors


def test_close_in_recv_slot(loop, runner, errors, server_ctx, client_ctx):
    """Closing in a Recv slot: no more Recv, no Error, Close once."""

    def on_accept(sock):
        def flood(s):
            for _ in range(64):
                s.send(payload(64 * 1024))
        sock.Connect.attach(flood)

    server = SSLServer("127.0.0.1", 0, on_accept, context=server_ctx, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    closes = []
    client.Recv.attach(lambda s, d, p: s.close(), priority=1)
    client.Close.attach(lambda s: closes.append(1))
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: ev.closed)
    server.close(close_connections=True)
    runner.run(loop)
    assert ev.chunks == 1 and ev.errors == [] and closes == [1]


def test_send_after_close_errors_once(loop, runner, errors, server_ctx, client_ctx):
    server = echo_server(loop, server_ctx)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.Connect.attach(lambda s: s.close())
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: ev.closed)
    assert client.send(b"late") is False
    assert client.send(b"later") is False
    server.close(close_connections=True)
    runner.run(loop)
    assert len(ev.errors) == 1 and isinstance(ev.errors[0], BrokenPipeError)
    assert client.error is ev.errors[0]


def test_send_before_connect_raises(loop, runner):
    client = SSLSocket(loop)
    with pytest.raises(OSError) as info:
        client.send(b"x")
    assert info.value.errno == 107     # ENOTCONN
    client.close()
    runner.run(loop)


def test_peer_close_notify_is_orderly(loop, runner, errors, server_ctx, client_ctx):
    """The server closing (close_notify) after its data: the client gets the data, then
    Close without an Error."""

    def on_accept(sock):
        sock.Connect.attach(lambda s: (s.send(b"bye"), s.close()))

    server = SSLServer("127.0.0.1", 0, on_accept, context=server_ctx, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: ev.closed)
    server.close()
    runner.run(loop)
    assert bytes(ev.data) == b"bye" and ev.errors == [] and client.error is None


def test_abort_resets(loop, runner, errors, server_ctx, client_ctx):
    """abort(): no close_notify, a TCP reset; the aborting side closes without an Error,
    the peer sees the reset."""
    accepted = []
    server = echo_server(loop, server_ctx, accepted)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.Connect.attach(lambda s: s.send(b"x"))
    client.Recv.attach(lambda s, d, p: s.abort())
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: ev.closed and accepted and accepted[0][1].closed)
    server.close()
    runner.run(loop)
    assert ev.errors == [] and ev.data == b"x"
    sev = accepted[0][1]
    assert len(sev.errors) == 1 and isinstance(sev.errors[0], ConnectionResetError)


def test_no_reference_cycles_after_close(loop, runner, errors, server_ctx, client_ctx):
    accepted = []
    server = echo_server(loop, server_ctx, accepted)
    client = SSLSocket(loop, client_ctx)
    done = []
    client.Connect.attach(lambda s: s.send(b"ping"))
    client.Recv.attach(lambda s, d, p: s.close())
    client.Close.attach(lambda s: done.append(1))
    client.connect("localhost", server.address.port)
    runner.until(loop, lambda: done and accepted and accepted[0][1].closed)
    server.close()
    runner.run(loop)
    refs = [weakref.ref(client), weakref.ref(accepted[0][0]), weakref.ref(server.listener)]
    gc.collect()
    gc.disable()
    try:
        del client, accepted[:], server
        assert [r() for r in refs] == [None, None, None]
    finally:
        gc.enable()


def test_listener_needs_a_context(loop, runner):
    sock = SSLSocket(loop)
    sock.bind("127.0.0.1", 0)
    with pytest.raises(ValueError):
        sock.listen()
    sock.close()
    client_side = SSLSocket(loop, ssl.create_default_context())
    client_side.bind("127.0.0.1", 0)
    with pytest.raises(ValueError):
        client_side.listen()
    client_side.close()
    with pytest.raises(ValueError):
        SSLSocket(loop, server_side=True)
    with pytest.raises(TypeError):
        SSLSocket(loop, context="not a context")
    runner.run(loop)


def test_connect_twice_raises(loop, runner, client_ctx):
    server = TCPServer("127.0.0.1", 0, lambda s: s.close(), loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.connect("127.0.0.1", server.address.port, server_hostname="localhost")
    with pytest.raises(OSError):
        client.connect("127.0.0.1", server.address.port)
    runner.until(loop, lambda: ev.closed)
    server.close()
    runner.run(loop)


# -- SNI, ALPN, verification -------------------------------------------------------------


def handshake(loop, runner, server_ctx, client_ctx, host="localhost", **connect_kwargs):
    """Connect a client to an SSLServer; returns (client Events, server Events)."""
    accepted = []
    server = echo_server(loop, server_ctx, accepted)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.Connect.attach(lambda s: s.close())
    client.connect(host, server.address.port, timeout=5, **connect_kwargs)
    runner.until(loop, lambda: ev.closed and accepted and accepted[0][1].closed)
    server.close()
    runner.run(loop)
    return client, ev, accepted[0][0], accepted[0][1]


def test_sni_seen_by_the_server(loop, runner, errors, server_ctx, client_ctx):
    names = []
    server_ctx.sni_callback = lambda sslobj, name, ctx: names.append(name)
    handshake(loop, runner, server_ctx, client_ctx, host="127.0.0.1",
              server_hostname="sourcey.test")
    handshake(loop, runner, server_ctx, client_ctx, host="localhost")
    # An IP address is checked against the certificate, and sent as no SNI.
    client, ev, _, _ = handshake(loop, runner, server_ctx, client_ctx, host="127.0.0.1")
    assert names == ["sourcey.test", "localhost", None]
    assert ev.connects == 1 and not ev.errors


def test_alpn(loop, runner, errors, server_ctx, client_ctx):
    client_ctx.set_alpn_protocols(["h2", "http/1.1"])
    server_ctx.set_alpn_protocols(["http/1.1"])
    client, ev, sock, sev = handshake(loop, runner, server_ctx, client_ctx)
    assert ev.connects == 1 and sev.connects == 1
    assert client.selected_alpn_protocol() == "http/1.1"
    assert sock.selected_alpn_protocol() == "http/1.1"


def test_unknown_ca_fails_verification(loop, runner, errors, server_ctx):
    client_ctx = ssl.create_default_context()     # the system's CAs: not trustme's
    client, ev, sock, sev = handshake(loop, runner, server_ctx, client_ctx)
    assert ev.connects == 0 and ev.closed
    assert len(ev.errors) == 1 and isinstance(ev.errors[0], ssl.SSLCertVerificationError)
    assert ev.errors[0].verify_code == 20         # unable to get local issuer certificate
    # The server hears about it through the client's alert.
    assert sev.connects == 0 and sev.closed
    assert len(sev.errors) == 1 and isinstance(sev.errors[0], ssl.SSLError)


def test_hostname_mismatch(loop, runner, errors, server_ctx, client_ctx):
    client, ev, _, _ = handshake(loop, runner, server_ctx, client_ctx, host="127.0.0.1",
                                 server_hostname="other.test")
    assert ev.connects == 0 and ev.closed and len(ev.errors) == 1
    assert isinstance(ev.errors[0], ssl.SSLCertVerificationError)
    assert ev.errors[0].verify_code == 62         # hostname mismatch
    assert client.getpeercert() is None


def test_handshake_failure_against_garbage(loop, runner, errors, client_ctx):
    def on_accept(sock):
        sock.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

    server = TCPServer("127.0.0.1", 0, on_accept, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.connect("127.0.0.1", server.address.port, server_hostname="localhost")
    runner.until(loop, lambda: ev.closed)
    server.close(close_connections=True)
    runner.run(loop)
    assert ev.connects == 0 and len(ev.errors) == 1
    assert isinstance(ev.errors[0], ssl.SSLError)
    assert not isinstance(ev.errors[0], ssl.SSLCertVerificationError)


def test_eof_during_handshake(loop, runner, errors, client_ctx):
    server = TCPServer("127.0.0.1", 0, lambda s: s.close(), loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.connect("127.0.0.1", server.address.port, server_hostname="localhost")
    runner.until(loop, lambda: ev.closed)
    server.close()
    runner.run(loop)
    assert ev.connects == 0 and len(ev.errors) == 1
    assert isinstance(ev.errors[0], ssl.SSLEOFError)


def test_timeout_covers_the_handshake(loop, runner, errors, client_ctx):
    """A server that accepts and says nothing: TimeoutError, then Close."""
    server = TCPServer("127.0.0.1", 0, loop=loop)
    client = SSLSocket(loop, client_ctx)
    ev = Events(client)
    client.connect("localhost", server.address.port, timeout=0.2)
    runner.until(loop, lambda: ev.closed)
    server.close(close_connections=True)
    runner.run(loop)
    assert ev.connects == 0 and len(ev.errors) == 1
    assert isinstance(ev.errors[0], TimeoutError) and "handshake" in str(ev.errors[0])


def test_plaintext_client_against_ssl_server(loop, runner, errors, server_ctx):
    accepted = []
    server = SSLServer("127.0.0.1", 0, lambda s: accepted.append(Events(s)),
                       context=server_ctx, loop=loop)
    client = TCPSocket(loop)
    client.Connect.attach(lambda s: s.send(b"GET / HTTP/1.0\r\n\r\n"))
    client.connect("127.0.0.1", server.address.port)
    runner.until(loop, lambda: accepted and accepted[0].closed)
    client.close()
    server.close()
    runner.run(loop)
    assert accepted[0].connects == 0 and len(accepted[0].errors) == 1
    assert isinstance(accepted[0].errors[0], ssl.SSLError)


# -- Python's ssl module as the peer, on a thread ----------------------------------------


def run_thread(target):
    result = {}

    def main():
        try:
            result["value"] = target()
        except BaseException as exc:  # reported by the test
            result["error"] = exc

    t = threading.Thread(target=main, daemon=True)
    t.start()
    return t, result


def test_python_ssl_server_peer(loop, runner, errors, server_ctx, client_ctx):
    """SSLSocket client, Python ssl server: echo, then the client's close_notify is seen
    as a clean end of stream (recv returns b"" with ragged EOFs not suppressed)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    size = 1024 * 1024

    def serve():
        conn, _ = listener.accept()
        conn.settimeout(10)
        tls = server_ctx.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
        total = 0
        while True:
            data = tls.recv(65536)        # raises SSLEOFError on a ragged EOF
            if not data:
                break
            total += len(data)
            tls.sendall(data)
        try:
            tls.unwrap()
        except OSError:
            pass                          # the client may have closed TCP already
        tls.close()
        return total

    thread, result = run_thread(serve)
    try:
        client = SSLSocket(loop, client_ctx)
        ev = Events(client)
        data = payload(size)
        client.Connect.attach(lambda s: s.send(data))
        client.Recv.attach(lambda s, d, p: s.close() if len(ev.data) >= size else None)
        client.connect("localhost", port, timeout=5)
        runner.until(loop, lambda: ev.closed, timeout=20)
        runner.run(loop)
        thread.join(10)
        assert not thread.is_alive()
        assert result == {"value": size}
        assert bytes(ev.data) == data and ev.errors == []
    finally:
        listener.close()


def test_python_ssl_server_truncates(loop, runner, errors, server_ctx, client_ctx):
    """The peer closing TCP without close_notify: Error(PeerClosedError), then Close."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        conn.settimeout(10)
        tls = server_ctx.wrap_socket(conn, server_side=True)
        tls.sendall(b"partial")
        tls.shutdown(socket.SHUT_RDWR)    # TCP FIN under TLS: no close_notify
        tls.close()

    thread, result = run_thread(serve)
    try:
        client = SSLSocket(loop, client_ctx)
        ev = Events(client)
        client.connect("localhost", port, timeout=5)
        runner.until(loop, lambda: ev.closed)
        runner.run(loop)
        thread.join(10)
        assert result == {"value": None}
        assert bytes(ev.data) == b"partial"
        assert len(ev.errors) == 1 and isinstance(ev.errors[0], PeerClosedError)
        assert "close_notify" in str(ev.errors[0])
    finally:
        listener.close()


def test_python_ssl_client_peer(loop, runner, errors, server_ctx, cert, ca):
    """Python ssl client, SSLServer: echo; the client's unwrap() (close_notify) is an
    orderly close for the server, which answers with its own close_notify."""
    accepted = []
    server = echo_server(loop, server_ctx, accepted)
    port = server.address.port
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    data = payload(300 * 1000)

    def client():
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            tls = client_ctx.wrap_socket(raw, server_hostname="localhost",
                                         suppress_ragged_eofs=False)
            tls.sendall(data)
            got = bytearray()
            while len(got) < len(data):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                got += chunk
            version = tls.version()
            tls.unwrap()                  # sends close_notify, waits for the server's
            return bytes(got), version

    thread, result = run_thread(client)
    runner.until(loop, lambda: accepted and accepted[0][1].closed, timeout=20)
    server.close()
    runner.run(loop)
    thread.join(10)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    got, version = result["value"]
    assert got == data
    sock, sev = accepted[0]
    assert sev.connects == 1 and sev.errors == [] and bytes(sev.data) == data
    assert sock.version() == version


# -- openssl s_server and s_client -------------------------------------------------------


def read_until(proc, marker, timeout=10.0):
    """Read proc.stdout until a line starting with ``marker``; returns that line."""
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(marker):
                    return line.decode()
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise TimeoutError(f"openssl did not print {marker!r}")
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise EOFError(f"openssl exited before {marker!r}: {proc.wait(5)}")
            buf += chunk


def kill(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


@needs_openssl
def test_openssl_s_server(loop, runner, errors, pem_files, client_ctx):
    """SSLSocket client against ``openssl s_server -rev`` (each line sent back reversed)."""
    ca_file, server_file = pem_files
    proc = subprocess.Popen(
        [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert", server_file,
         "-naccept", "1", "-rev"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        port = int(read_until(proc, b"ACCEPT").rsplit(":", 1)[1])
        lines = [f"line {i} from sourcey ".encode() * 4 for i in range(2000)]
        expected = b"".join(line[::-1] + b"\n" for line in lines)
        client = SSLSocket(loop, client_ctx)
        ev = Events(client)
        client.Connect.attach(lambda s: s.send(b"\n".join(lines) + b"\n"))
        client.Recv.attach(lambda s, d, p: s.close() if len(ev.data) >= len(expected)
                           else None)
        client.connect("127.0.0.1", port, timeout=5, server_hostname="localhost")
        runner.until(loop, lambda: ev.closed, timeout=20)
        runner.run(loop)
        assert ev.errors == [] and ev.connects == 1
        assert bytes(ev.data) == expected
    finally:
        kill(proc)


@needs_openssl
def test_openssl_s_client(loop, runner, errors, pem_files, server_ctx, tmp_path):
    """``openssl s_client`` (verifying, with SNI) against an SSLServer echoing its input;
    the server closes (close_notify) once it has echoed everything, and s_client ends."""
    ca_file, _ = pem_files
    names = []
    server_ctx.sni_callback = lambda sslobj, name, ctx: names.append(name)
    data = b"".join(f"hello {i} from s_client\n".encode() for i in range(100))
    accepted = []

    def on_accept(sock):
        events = Events(sock)
        accepted.append((sock, events))

        def echo(s, d, p):
            s.send(d)
            if len(events.data) >= len(data):
                s.close()

        sock.Recv.attach(echo)

    server = SSLServer("127.0.0.1", 0, on_accept, context=server_ctx, loop=loop)
    (tmp_path / "input").write_bytes(data)
    with open(tmp_path / "input", "rb") as stdin:   # -quiet: s_client ignores its EOF
        proc = subprocess.Popen(
            [OPENSSL, "s_client", "-connect", f"127.0.0.1:{server.address.port}",
             "-CAfile", ca_file, "-servername", "localhost", "-verify_hostname", "localhost",
             "-verify_return_error", "-quiet"],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        runner.until(loop, lambda: accepted and accepted[0][1].closed, timeout=20)
        server.close()
        runner.run(loop)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == data
        sock, sev = accepted[0]
        assert sev.connects == 1 and sev.errors == [] and bytes(sev.data) == data
        assert names == ["localhost"]
    finally:
        kill(proc)


def test_a_client_that_never_says_hello_is_cut_off(loop, runner, errors, server_ctx):
    """An accepted connection must finish its handshake within handshake_timeout: a
    client that connects and sends nothing gets closed (Error: TimeoutError, then Close)."""
    accepted = []
    server = echo_server(loop, server_ctx, accepted, handshake_timeout=0.2)
    client = socket.create_connection(server.address, timeout=5)
    try:
        runner.until(loop, lambda: accepted and accepted[0][1].closed, timeout=5)
        sock, events = accepted[0]
        assert len(events.errors) == 1 and isinstance(events.errors[0], TimeoutError)
        assert events.connects == 0
        assert client.recv(100) == b""               # the server closed the connection
    finally:
        client.close()
        server.close()
        runner.run(loop)


def test_handshake_timeout_must_be_positive(loop, server_ctx):
    with pytest.raises(ValueError):
        SSLServer("127.0.0.1", 0, context=server_ctx, loop=loop, handshake_timeout=0)

"""sourcey.http.Server: upgrade hand-over, streamed request bodies, TLS, 501, the body
timeout, the connection cap, and the checks on what a handler puts in a response."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time

import pytest
from test_server import hello, raw, responses, serve

from sourcey import uv
from sourcey.http import Server

trustme = pytest.importorskip("trustme")


# --- upgrade --------------------------------------------------------------------------


def test_upgrade_hands_the_connection_over(loop, runner):
    sockets = []

    def handler(request, response):
        assert request.upgrade and not request.keep_alive
        sock, remainder = response.upgrade([("Upgrade", "echo"), ("Connection", "Upgrade")])
        sockets.append(sock)
        sock.Recv += lambda s, data, peer: s.send(data.upper())
        sock.Close += lambda s: None
        if remainder:
            sock.send(remainder.upper())

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                      b"Upgrade: echo\r\n\r\nfirst")
            got = b""
            while b"FIRST" not in got:
                got += s.recv(4096)
            s.sendall(b"second")
            while b"SECOND" not in got:
                got += s.recv(4096)
        return got

    got = serve(loop, runner, handler, client, server_box=[])
    for sock in sockets:
        sock.close()
    runner.until(loop, lambda: all(s.closed for s in sockets))
    head, _, rest = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"\r\nUpgrade: echo" in head
    assert rest == b"FIRSTSECOND"


def test_upgrade_refused_for_a_plain_request(loop, runner):
    errors = []

    def handler(request, response):
        try:
            response.upgrade({"Upgrade": "x"})
        except RuntimeError as exc:
            errors.append(exc)
        response.end(b"plain")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert responses(data)[0].body == b"plain"
    assert "does not ask for an upgrade" in str(errors[0])


# --- streamed bodies --------------------------------------------------------------------


def test_stream_bodies_delivers_pieces_then_end(loop, runner):
    seen = []

    def handler(request, response):
        assert request.body is None and not request.complete
        seen.append(("head", request.method, request.path))

        def data(req, chunk):
            seen.append(("data", chunk))

        def end(req):
            seen.append(("end",))
            response.end(b"got %d" % sum(len(s[1]) for s in seen if s[0] == "data"))

        request.stream(data, end)

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b"abc", b"defgh", b"ij"):
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            s.sendall(b"0\r\n\r\n")
            got = b""
            while b"got 10" not in got:
                got += s.recv(4096)
        return got

    got = serve(loop, runner, handler, client, server_box=[], stream_bodies=True)
    assert b"got 10" in got
    assert seen[0] == ("head", "POST", "/up")
    assert b"".join(s[1] for s in seen if s[0] == "data") == b"abcdefghij"
    assert seen[-1] == ("end",)


def test_stream_bodies_read_whole_and_bodiless_requests(loop, runner):
    def handler(request, response):
        if request.complete:                    # GET: no body, complete at once
            response.end(b"none")
        else:
            request.read(lambda req, body: response.end(b"len=%d" % len(body)))

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
              b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n"
              b"\r\n" + b"z" * 5000), server_box=[], stream_bodies=True)
    assert [m.body for m in responses(data)] == [b"none", b"len=5000"]


def test_stream_bodies_pause_stops_reading_until_resume(loop, runner):
    state = {"bytes": 0, "paused": 0}
    timers = []

    def handler(request, response):
        def data(req, chunk):
            state["bytes"] += len(chunk)
            if state["paused"] < 3:
                state["paused"] += 1
                req.pause()
                t = uv.Timer(loop)
                timers.append(t)
                t.start(lambda timer: (timer.close(), req.resume()), 0.02, 0)

        request.stream(data, lambda req: response.end(b"%d" % state["bytes"]))

    size = 1 << 20
    data = serve(loop, runner, handler, lambda port: raw(
        port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n"
              b"\r\n" % size + b"q" * size, timeout=10),
        server_box=[], stream_bodies=True)
    assert responses(data)[0].body == b"%d" % size
    assert state["paused"] == 3


def test_streamed_body_handler_sees_pieces_before_the_end(loop, runner):
    firsts = []

    def handler(request, response):
        request.stream(lambda req, chunk: firsts.append(req.complete),
                       lambda req: response.end(b"ok"))

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
            s.sendall(b"def")
            got = b""
            while not got.endswith(b"ok"):
                got += s.recv(4096)
        return got

    assert serve(loop, runner, handler, client, server_box=[],
                 stream_bodies=True).endswith(b"ok")
    assert firsts and firsts[0] is False


# --- statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize("coding, status", [
    (b"gzip, chunked", 501),
    (b"br, chunked", 501),
    (b"gzip", 400),
    (b"chunked, gzip", 400),
])
def test_transfer_codings_we_do_not_implement(loop, runner, coding, status):
    data = serve(loop, runner, hello, lambda port: raw(
        port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
              b"\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
    msgs = responses(data)
    assert [m.status for m in msgs] == [status]
    assert (b"Connection", b"close") in msgs[0].headers


def test_body_timeout_gives_408(loop, runner):
    server = Server(hello, loop=loop, body_timeout=0.2)
    _, port = server.listen("127.0.0.1", 0)
    out = {}

    def client():
        out["data"] = raw(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")

    t = threading.Thread(target=client)
    t.start()
    runner.until(loop, lambda: not t.is_alive(), timeout=5)
    t.join()
    server.close()
    runner.until(loop, lambda: server.connections == 0)
    assert responses(out["data"])[0].status == 408


def test_max_connections_closes_the_extra_ones(loop, runner):
    server = Server(hello, loop=loop, max_connections=1)
    _, port = server.listen("127.0.0.1", 0)
    first = socket.create_connection(("127.0.0.1", port), timeout=5)
    runner.until(loop, lambda: server.connections == 1)
    second = socket.create_connection(("127.0.0.1", port), timeout=5)
    runner.until(loop, lambda: _closed_by_peer(second), timeout=5)
    first.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    runner.until(loop, lambda: server.connections == 0, timeout=5)
    assert b"Hello, world!" in first.recv(4096)
    first.close()
    second.close()
    server.close()
    runner.run(loop, timeout=5)


def _closed_by_peer(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.setblocking(True)


@pytest.mark.parametrize("name, value", [
    ("X-Bad", "a\r\nInjected: yes"),
    ("X-Bad", "nul\x00"),
    ("Bad Name", "v"),
    ("", "v"),
    ("X-Wide", "\u20ac"),
])
def test_handler_header_injection_becomes_500(loop, runner, name, value, caplog):
    def handler(request, response):
        response.headers[name] = value
        response.end(b"never")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    msgs = responses(data)
    assert [m.status for m in msgs] == [500]
    assert b"Injected" not in data
    assert "handler failed" in caplog.text


@pytest.mark.parametrize("status", [99, 100, 101, 1000])
def test_invalid_statuses_become_500(loop, runner, status):
    def handler(request, response):
        response.status = status
        response.end(b"x")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert [m.status for m in responses(data)] == [500]


def test_custom_reason_and_date(loop, runner):
    def handler(request, response):
        response.status = 299
        response.reason = "Fine Thanks"
        response.end(b"x")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert data.startswith(b"HTTP/1.1 299 Fine Thanks\r\n")
    date = dict(responses(data)[0].headers)[b"Date"].decode()
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|"
                        r"Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", date)
    stamp = time.mktime(time.strptime(date, "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
    assert abs(stamp - time.time()) < 5


def test_response_ended_after_the_client_left(loop, runner):
    later = []

    def handler(request, response):
        later.append(response)

    server = Server(handler, loop=loop)
    _, port = server.listen("127.0.0.1", 0)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        runner.until(loop, lambda: later, timeout=5)
    later[0].end(b"too late")       # the client is gone: the write fails quietly
    runner.until(loop, lambda: server.connections == 0, timeout=5)
    server.close()
    runner.run(loop, timeout=5)


# --- TLS ----------------------------------------------------------------------------------


def test_https_with_http_client(loop, runner):
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    def handler(request, response):
        response.headers["Content-Type"] = "text/plain"
        response.end(b"secure %s %s" % (request.method.encode(), request.body))

    server = Server(handler, loop=loop, ssl_context=server_ctx)
    _, port = server.listen("127.0.0.1", 0)
    out = {}

    def client():
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client_ctx, timeout=5)
        try:
            got = []
            for body in (b"one", b"two"):
                conn.request("POST", "/", body=body)
                r = conn.getresponse()
                got.append((r.status, r.read()))
            out["got"] = got
        finally:
            conn.close()

    t = threading.Thread(target=client)
    t.start()
    runner.until(loop, lambda: not t.is_alive(), timeout=10)
    t.join()
    server.close()
    runner.until(loop, lambda: server.connections == 0, timeout=5)
    runner.run(loop, timeout=5)
    assert out["got"] == [(200, b"secure POST one"), (200, b"secure POST two")]


# --- send_file ----------------------------------------------------------------------------


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "big.txt"
    data = bytes(range(256)) * (5 * 4096 + 7)       # ~5 MiB, not a multiple of a chunk
    path.write_bytes(data)
    return path, data


def _open_fds():
    import os
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    return sorted(fds.values())


def test_send_file_whole_and_ranges(loop, runner, big_file):
    path, data = big_file

    def handler(request, response):
        if request.path == "/part":
            response.send_file(path, offset=1000, length=70000,
                               content_type="application/x-test")
        else:
            response.send_file(path)

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            out = []
            for method, target in (("GET", "/"), ("HEAD", "/"), ("GET", "/part")):
                conn.request(method, target)
                r = conn.getresponse()
                out.append((r.status, r.getheader("Content-Type"),
                            r.getheader("Content-Length"), r.read()))
            return out
        finally:
            conn.close()

    whole, head, part = serve(loop, runner, handler, client)
    assert whole == (200, "text/plain", str(len(data)), data)
    assert head == (200, "text/plain", str(len(data)), b"")
    assert part == (200, "application/x-test", "70000", data[1000:71000])


def test_send_file_pipelined_in_order(loop, runner, tmp_path):
    files = []
    for i in range(3):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(bytes([65 + i]) * (300_000 + i))
        files.append(p)

    def handler(request, response):
        response.send_file(files[int(request.path[1:])])

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(3)) +
              b"GET /0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=10))
    bodies = [m.body for m in responses(data)]
    assert bodies == [f.read_bytes() for f in files] + [files[0].read_bytes()]


def test_send_file_missing_file_is_500(loop, runner, tmp_path, caplog):
    def handler(request, response):
        response.send_file(tmp_path / "nope")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert [m.status for m in responses(data)] == [500]
    assert "FileNotFoundError" in caplog.text


def test_send_file_client_leaves_midway_closes_the_file(loop, runner, big_file):
    path, _ = big_file
    started = []

    def handler(request, response):
        response.send_file(path)
        started.append(True)

    server = Server(handler, loop=loop)
    _, port = server.listen("127.0.0.1", 0)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    runner.until(loop, lambda: started, timeout=5)
    assert str(path) in _open_fds()
    s.recv(1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()                                   # RST
    runner.until(loop, lambda: server.connections == 0, timeout=5)
    server.close()
    runner.run(loop, timeout=5)
    assert str(path) not in _open_fds()


def test_send_file_over_tls(loop, runner, big_file):
    path, data = big_file
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    server = Server(lambda req, resp: resp.send_file(path), loop=loop,
                    ssl_context=server_ctx)
    _, port = server.listen("127.0.0.1", 0)
    out = {}

    def client():
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client_ctx, timeout=10)
        try:
            conn.request("GET", "/")
            out["body"] = conn.getresponse().read()
        finally:
            conn.close()

    t = threading.Thread(target=client)
    t.start()
    runner.until(loop, lambda: not t.is_alive(), timeout=20)
    t.join()
    server.close()
    runner.until(loop, lambda: server.connections == 0, timeout=5)
    runner.run(loop, timeout=5)
    assert out["body"] == data

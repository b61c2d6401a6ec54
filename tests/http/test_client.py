"""sourcey.http.Client against sourcey's own Server and hand-written servers: requests
and bodies, keep-alive and the pool, streaming both ways, redirects, timeouts, retries,
closing. Loopback only; every wait is bounded by the runner."""

from __future__ import annotations

import socket

import pytest
from clientlib import RawServer, fetch, finish, reply_once

from sourcey.http import (
    Client,
    ClientClosedError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    Server,
    TooManyRedirectsError,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def echo(request, response):
    """Answers with what it received, so a test can check what the client sent."""
    response.headers["X-Method"] = request.method
    response.headers["X-Target"] = request.target
    response.headers["X-Peer-Port"] = str(request.peer[1])
    for name in ("Transfer-Encoding", "Content-Length", "X-Test", "Host"):
        value = request.headers.get(name)
        if value is not None:
            response.headers["X-Got-" + name] = value
    response.end(request.body)


@pytest.fixture
def server(loop):
    srv = Server(echo, loop=loop)
    srv.listen("127.0.0.1", 0)
    srv.url = f"http://127.0.0.1:{srv.port}"
    yield srv
    srv.close()


def test_get(loop, runner, server):
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", server.url + "/a/b?c=d#frag")
    assert err is None
    assert resp.status == 200 and resp.reason == "OK" and resp.version == "1.1"
    assert resp.body == b""
    assert resp.headers["x-method"] == "GET" and resp.headers["X-TARGET"] == "/a/b?c=d"
    assert resp.headers["X-Got-Host"] == f"127.0.0.1:{server.port}"
    assert (b"X-Method", b"GET") in resp.raw_headers
    assert resp.url == server.url + "/a/b?c=d#frag" and resp.history == []
    finish(loop, runner, client, server)


def test_post_bytes_gets_content_length(loop, runner, server):
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "POST", server.url + "/", body=b"x" * 100000,
                      headers={"X-Test": "yes"})
    assert err is None and resp.body == b"x" * 100000
    assert resp.headers["X-Got-Content-Length"] == "100000"
    assert resp.headers["X-Got-X-Test"] == "yes"
    assert "X-Got-Transfer-Encoding" not in resp.headers
    resp, err = fetch(loop, runner, client, "POST", server.url + "/")
    assert err is None and resp.headers["X-Got-Content-Length"] == "0"
    finish(loop, runner, client, server)


def test_chunked_upload_from_a_generator(loop, runner, server):
    client = Client(loop)
    pieces = [b"a" * 70000, b"", bytearray(b"b" * 5), memoryview(b"c" * 300000)]

    def gen():
        yield from pieces

    resp, err = fetch(loop, runner, client, "PUT", server.url + "/up", body=gen())
    assert err is None
    assert resp.headers["X-Got-Transfer-Encoding"] == "chunked"
    assert resp.body == b"".join(bytes(p) for p in pieces)
    # The connection is kept for the next request.
    resp, err = fetch(loop, runner, client, "GET", server.url + "/")
    assert err is None and client.connections == 1
    finish(loop, runner, client, server)


def test_failing_body_iterator_fails_the_request(loop, runner, server):
    client = Client(loop)

    def gen():
        yield b"abc"
        raise RuntimeError("no more")

    resp, err = fetch(loop, runner, client, "POST", server.url + "/", body=gen())
    assert resp is None and isinstance(err, RuntimeError)
    finish(loop, runner, client, server)


def test_keep_alive_reuses_one_connection(loop, runner, server):
    client = Client(loop)
    ports = set()
    for i in range(5):
        resp, err = fetch(loop, runner, client, "GET", f"{server.url}/{i}")
        assert err is None
        ports.add(resp.headers["X-Peer-Port"])
    assert len(ports) == 1
    assert client.connections == 1 and client.idle_connections == 1
    finish(loop, runner, client, server)


def test_pool_limits_connections_per_host(loop, runner, server):
    client = Client(loop, max_per_host=3)
    done = []
    for i in range(20):
        client.request("GET", f"{server.url}/{i}", callback=lambda r, e: done.append((r, e)))
    assert client.connections == 3
    runner.until(loop, lambda: len(done) == 20)
    assert all(e is None and r.status == 200 for r, e in done)
    assert {r.headers["X-Target"] for r, _ in done} == {f"/{i}" for i in range(20)}
    assert len({r.headers["X-Peer-Port"] for r, _ in done}) == 3
    finish(loop, runner, client, server)


def test_head_has_no_body(loop, runner):
    def handler(request, response):
        response.headers["Content-Length"] = "5"
        response.end(b"" if request.method == "HEAD" else b"hello")

    srv = Server(handler, loop=loop)
    _, port = srv.listen("127.0.0.1", 0)
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "HEAD", f"http://127.0.0.1:{port}/")
    assert err is None and resp.body == b"" and resp.headers["Content-Length"] == "5"
    resp, err = fetch(loop, runner, client, "GET", f"http://127.0.0.1:{port}/")
    assert err is None and resp.body == b"hello" and client.connections == 1
    finish(loop, runner, client, srv)


def test_streamed_download(loop, runner):
    def handler(request, response):
        for i in range(50):
            response.write(b"%04d" % i * 1000)
        response.end()

    srv = Server(handler, loop=loop)
    _, port = srv.listen("127.0.0.1", 0)
    client = Client(loop, max_body=1000)        # streaming is not bound by max_body
    chunks = []
    resp, err = fetch(loop, runner, client, "GET", f"http://127.0.0.1:{port}/",
                      on_data=lambda r, chunk: chunks.append((r.status, chunk)))
    assert err is None and resp.status == 200 and resp.body == b""
    assert all(status == 200 for status, _ in chunks)
    assert b"".join(c for _, c in chunks) == b"".join(b"%04d" % i * 1000 for i in range(50))
    finish(loop, runner, client, srv)


def redirecting(request, response):
    """/r/CODE/N redirects N times with CODE, then echoes."""
    parts = request.path.split("/")
    if len(parts) == 4 and parts[1] == "r":
        code, n = int(parts[2]), int(parts[3])
        response.status = code
        response.headers["Location"] = f"/r/{code}/{n - 1}" if n > 1 else "/done"
        response.end(b"moved")
        return
    echo(request, response)


@pytest.mark.parametrize("code,method,want_method,want_body", [
    (301, "POST", "GET", b""),
    (302, "POST", "GET", b""),
    (303, "POST", "GET", b""),
    (303, "PUT", "GET", b""),
    (302, "PUT", "PUT", b"data"),
    (307, "POST", "POST", b"data"),
    (308, "PUT", "PUT", b"data"),
])
def test_redirect_method_rewriting(loop, runner, code, method, want_method, want_body):
    srv = Server(redirecting, loop=loop)
    _, port = srv.listen("127.0.0.1", 0)
    client = Client(loop, follow_redirects=True)
    url = f"http://127.0.0.1:{port}/r/{code}/2"
    resp, err = fetch(loop, runner, client, method, url, body=b"data")
    assert err is None and resp.status == 200
    assert resp.headers["X-Method"] == want_method and resp.body == want_body
    assert resp.url == f"http://127.0.0.1:{port}/done"
    assert [r.status for r in resp.history] == [code, code]
    assert resp.history[0].url == url
    finish(loop, runner, client, srv)


def test_redirects_are_opt_in_and_bounded(loop, runner):
    srv = Server(redirecting, loop=loop)
    _, port = srv.listen("127.0.0.1", 0)
    url = f"http://127.0.0.1:{port}/r/302/5"
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", url)
    assert err is None and resp.status == 302 and resp.body == b"moved"
    assert resp.headers["Location"] == "/r/302/4"
    limited = Client(loop, follow_redirects=True, max_redirects=3)
    resp, err = fetch(loop, runner, limited, "GET", url)
    assert resp is None and isinstance(err, TooManyRedirectsError)
    assert err.response.status == 302 and len(err.response.history) == 3
    finish(loop, runner, client, limited, srv)


def test_streamed_upload_is_not_replayed_on_307(loop, runner):
    srv = Server(redirecting, loop=loop)
    _, port = srv.listen("127.0.0.1", 0)
    client = Client(loop, follow_redirects=True)
    resp, err = fetch(loop, runner, client, "POST", f"http://127.0.0.1:{port}/r/307/1",
                      body=iter([b"once"]))
    assert err is None and resp.status == 307
    finish(loop, runner, client, srv)


def test_connection_refused(loop, runner):
    probe = RawServer(loop, lambda conn, data: None)
    port = probe.port
    finish(loop, runner, probe)               # nothing listens on this port now
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", f"http://127.0.0.1:{port}/")
    assert resp is None and isinstance(err, ConnectionRefusedError)
    finish(loop, runner, client)


def test_read_timeout(loop, runner):
    silent = RawServer(loop, lambda conn, data: None)
    client = Client(loop, read_timeout=0.2)
    resp, err = fetch(loop, runner, client, "GET", silent.url + "/")
    assert resp is None and isinstance(err, ReadTimeoutError)
    assert isinstance(err, TimeoutError)
    assert client.connections == 0
    finish(loop, runner, client, silent)


def test_read_timeout_between_body_bytes(loop, runner):
    def on_data(conn, data):
        if b"\r\n\r\n" in conn.data:
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")

    stalled = RawServer(loop, on_data)
    client = Client(loop, read_timeout=0.2)
    resp, err = fetch(loop, runner, client, "GET", stalled.url + "/")
    assert resp is None and isinstance(err, ReadTimeoutError)
    finish(loop, runner, client, stalled)


def test_connect_timeout_covers_the_tls_handshake(loop, runner):
    silent = RawServer(loop, lambda conn, data: None)
    client = Client(loop, connect_timeout=0.2)
    resp, err = fetch(loop, runner, client, "GET", f"https://127.0.0.1:{silent.port}/")
    assert resp is None and isinstance(err, ConnectTimeoutError)
    assert isinstance(err, TimeoutError)
    finish(loop, runner, client, silent)


def test_idempotent_request_retried_once_on_a_stale_connection(loop, runner):
    # The server answers, keeps the connection "alive", then closes it as soon as the
    # next request arrives, before any response byte: GET is sent again on a new one.
    def on_data(conn, data):
        if b"\r\n\r\n" not in conn.data:
            return
        conn.data = b""
        if conn is raw.conns[0] and answered.count(conn):
            conn.close()
            return
        answered.append(conn)
        conn.write(OK)

    answered = []

    raw = RawServer(loop, on_data)
    client = Client(loop)
    assert fetch(loop, runner, client, "GET", raw.url + "/")[0].body == b"ok"
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/")
    assert err is None and resp.body == b"ok" and len(raw.conns) == 2
    # POST is not repeated.
    raw.conns[0], raw.conns[1] = raw.conns[1], raw.conns[0]
    resp, err = fetch(loop, runner, client, "POST", raw.url + "/", body=b"x")
    assert resp is None and isinstance(err, ConnectionClosedError)
    finish(loop, runner, client, raw)


def test_server_closing_idle_connection_is_dropped(loop, runner):
    raw = RawServer(loop, reply_once(OK))
    client = Client(loop)
    assert fetch(loop, runner, client, "GET", raw.url + "/")[1] is None
    assert client.idle_connections == 1
    raw.conns[0].close()
    runner.until(loop, lambda: client.connections == 0)
    assert fetch(loop, runner, client, "GET", raw.url + "/")[1] is None
    finish(loop, runner, client, raw)


def test_idle_timeout_closes_pooled_connections(loop, runner, server):
    client = Client(loop, idle_timeout=0.1)
    assert fetch(loop, runner, client, "GET", server.url + "/")[1] is None
    runner.until(loop, lambda: client.connections == 0)
    finish(loop, runner, client, server)


def test_close_fails_requests_in_flight(loop, runner):
    silent = RawServer(loop, lambda conn, data: None)
    client = Client(loop, max_per_host=1)
    done = []
    for _ in range(3):
        client.request("GET", silent.url + "/", callback=lambda r, e: done.append(e))
    runner.until(loop, lambda: silent.conns and silent.conns[0].data)
    client.close()
    assert len(done) == 3 and all(isinstance(e, ClientClosedError) for e in done)
    with pytest.raises(RuntimeError):
        client.request("GET", silent.url + "/", callback=lambda r, e: None)
    finish(loop, runner, client, silent)


def test_callback_exception_goes_to_the_excepthook(loop, runner, server):
    client = Client(loop)
    raised = []
    loop.excepthook = lambda typ, value, tb: raised.append(value)

    def boom(resp, err):
        raise ValueError("from the callback")

    client.request("GET", server.url + "/", callback=boom)
    runner.until(loop, lambda: raised)
    assert isinstance(raised[0], ValueError)
    # The client goes on.
    assert fetch(loop, runner, client, "GET", server.url + "/")[1] is None
    finish(loop, runner, client, server)


@pytest.mark.parametrize("url,headers,body,exc", [
    ("ftp://127.0.0.1/", None, None, ValueError),
    ("http:///nohost", None, None, ValueError),
    ("http://user:pw@127.0.0.1/", None, None, ValueError),
    ("http://127.0.0.1/a b", None, None, ValueError),
    ("http://bad\u2028host/", None, None, ValueError),
    ("http://127.0.0.1:99999/", None, None, ValueError),
    ("http://127.0.0.1/", {"Bad Name": "x"}, None, ValueError),
    ("http://127.0.0.1/", {"X": "a\r\nInjected: 1"}, None, ValueError),
    ("http://127.0.0.1/", {"Content-Length": "3"}, None, ValueError),
    ("http://127.0.0.1/", None, "text", TypeError),
    ("http://127.0.0.1/", None, 42, TypeError),
])
def test_bad_requests_raise_at_once(loop, url, headers, body, exc):
    client = Client(loop)
    with pytest.raises(exc):
        client.request("GET", url, headers, body, callback=lambda r, e: None)
    assert client.connections == 0
    client.close()


def test_ipv6_literal(loop, runner):
    srv = Server(echo, loop=loop)
    try:
        _, port = srv.listen("::1", 0)
    except OSError as exc:
        srv.close()
        pytest.skip(f"no IPv6 loopback: {exc}")
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", f"http://[::1]:{port}/v6")
    assert err is None and resp.headers["X-Target"] == "/v6"
    assert resp.headers["X-Got-Host"] == f"[::1]:{port}"
    finish(loop, runner, client, srv)


def test_early_response_during_a_chunked_upload(loop, runner):
    # The server refuses the body before it is all sent: the client hands over the 413
    # and does not reuse the connection (the rest of the body is not sent).
    srv = Server(echo, loop=loop, max_body=1000)
    _, port = srv.listen("127.0.0.1", 0)
    client = Client(loop)
    pieces = (b"x" * 65536 for _ in range(160))
    resp, err = fetch(loop, runner, client, "POST", f"http://127.0.0.1:{port}/", body=pieces)
    assert err is None and resp.status == 413
    assert client.connections == 0
    finish(loop, runner, client, srv)


def test_connect_timeout(loop, runner):
    # A listener that never accepts, its accept queue filled: the kernel drops further
    # SYNs, so the client's connect hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        client = Client(loop, connect_timeout=0.3)
        resp, err = fetch(loop, runner, client, "GET", f"http://127.0.0.1:{port}/")
        assert resp is None and isinstance(err, ConnectTimeoutError)
        assert client.connections == 0
        finish(loop, runner, client)
    finally:
        for s in fillers:
            s.close()
        listener.close()

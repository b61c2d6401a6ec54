"""sourcey.http.Server against real clients: http.client (keep-alive), curl, raw
sockets (pipelining, HTTP/1.0, malformed requests). The loop runs in the test thread;
each client runs in a thread and, when done, wakes the loop (Async) to close the server,
after which the loop ends by itself. Loopback only; every wait is bounded."""

from __future__ import annotations

import http.client
import logging
import shutil
import socket
import subprocess
import threading

import pytest

from sourcey import uv
from sourcey.http import Headers, Server, parse

CURL = shutil.which("curl") or "/usr/bin/curl"


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def serve(loop, runner, handler, client, timeout=10.0, server_box=None, **options):
    """Serve ``handler`` on a loopback port (``Server`` ``options``), run
    ``client(port)`` in a thread; returns its result (or raises its exception) once the
    server has closed (and, unless ``server_box`` is given to receive the server, its
    connections too)."""
    server = Server(handler, loop=loop, **options)
    _, port = server.listen("127.0.0.1", 0)
    box = {}
    if server_box is not None:
        server_box.append(server)

    def stop(handle):
        server.close()
        handle.close()

    done = uv.Async(loop, stop)

    def main():
        try:
            box["result"] = client(port)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc
        finally:
            done.send()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        runner.run(loop, timeout)
    finally:
        thread.join(timeout)
    if server_box is None:
        assert server.connections == 0
    if "error" in box:
        raise box["error"]
    return box["result"]


def raw(port, data, timeout=5.0):
    """Send ``data`` on a fresh connection; return all bytes received until EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def responses(data):
    return parse("response", [data])


def hello(request, response):
    response.headers["Content-Type"] = "text/plain"
    response.end(b"Hello, world!")


# --- real clients -------------------------------------------------------------------


def test_http_client_keep_alive(loop, runner):
    peers = []

    def handler(request, response):
        peers.append(request.peer)
        response.headers["X-Path"] = request.path
        response.end(b"%s %s q=%s %s" % (request.method.encode(), request.path.encode(),
                                          request.query.encode(), request.body))

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        out = []
        try:
            for i in range(3):
                conn.request("POST", f"/p{i}?x={i}", body=b"body%d" % i)
                r = conn.getresponse()
                out.append((r.status, r.reason, r.getheader("X-Path"),
                            r.getheader("Content-Length"), r.getheader("Date"), r.read()))
        finally:
            conn.close()
        return out

    out = serve(loop, runner, handler, client)
    assert [o[:4] for o in out] == [(200, "OK", f"/p{i}", str(len(o[5]))) for i, o in
                                    enumerate(out)]
    assert [o[5] for o in out] == [b"POST /p%d q=x=%d body%d" % (i, i, i) for i in range(3)]
    assert all(o[4].endswith(" GMT") for o in out)
    assert len(set(peers)) == 1 and peers[0][0] == "127.0.0.1"   # one connection


def test_curl_reuses_the_connection(loop, runner):
    def client(port):
        url = f"http://127.0.0.1:{port}/"
        return subprocess.run([CURL, "-sS", "-v", url, url + "again", "--data-binary", "xy"],
                              capture_output=True, timeout=10)

    seen = []

    def handler(request, response):
        seen.append((request.method, request.path, request.body))
        hello(request, response)

    result = serve(loop, runner, handler, client)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Hello, world!" * 2
    assert b"Re-using existing connection" in result.stderr \
        or b"Reusing existing connection" in result.stderr
    assert seen == [("POST", "/", b"xy"), ("POST", "/again", b"xy")]


def test_chunked_write_and_custom_status(loop, runner):
    def handler(request, response):
        if request.path == "/missing":
            response.status = 404
            response.end(b"no such thing")
            return
        response.write(b"part one, ")
        response.write(b"part two")
        response.end()

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/stream")
            r = conn.getresponse()
            first = (r.status, r.getheader("Transfer-Encoding"), r.read())
            conn.request("GET", "/missing")
            r = conn.getresponse()
            second = (r.status, r.reason, r.read())
        finally:
            conn.close()
        return first, second

    first, second = serve(loop, runner, handler, client)
    assert first == (200, "chunked", b"part one, part two")
    assert second == (404, "Not Found", b"no such thing")


def test_head_has_no_body(loop, runner):
    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("HEAD", "/")
            r = conn.getresponse()
            head = (r.status, r.getheader("Content-Length"), r.read())
            conn.request("GET", "/")     # the connection is still in step
            r = conn.getresponse()
            get = (r.status, r.read())
        finally:
            conn.close()
        return head, get

    head, get = serve(loop, runner, hello, client)
    assert head == (200, "13", b"")
    assert get == (200, b"Hello, world!")


def test_pipelined_responses_in_request_order(loop, runner):
    def handler(request, response):
        if request.path == "/slow":   # answered in a later loop iteration
            timer = uv.Timer(loop)

            def later(t):
                t.close()
                response.end(b"slow")

            timer.start(later, 0.0)
        else:
            response.end(request.path.encode())

    def client(port):
        return raw(port, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    got = responses(serve(loop, runner, handler, client))
    assert [m.body for m in got] == [b"slow", b"/fast", b"/last"]
    assert (b"Connection", b"close") in got[2].headers


def test_http10_keep_alive_then_close(loop, runner):
    def client(port):
        return raw(port, b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                         b"GET /b HTTP/1.0\r\n\r\n")

    def handler(request, response):
        response.end(request.path.encode())

    first, second = responses(serve(loop, runner, handler, client))
    assert first.body == b"/a" and (b"Connection", b"keep-alive") in first.headers
    assert second.body == b"/b" and (b"Connection", b"close") in second.headers


# --- errors -------------------------------------------------------------------------


def test_handler_exception_is_500_and_the_server_goes_on(loop, runner, caplog):
    def handler(request, response):
        if request.path == "/boom":
            raise RuntimeError("boom")
        hello(request, response)

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            out = []
            for path in ("/boom", "/ok"):
                conn.request("GET", path)
                r = conn.getresponse()
                out.append((r.status, r.read()))
        finally:
            conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/")
            out.append(conn.getresponse().status)
        finally:
            conn.close()
        return out

    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        out = serve(loop, runner, handler, client)
    assert out == [(500, b"Internal Server Error\n"), (200, b"Hello, world!"), 200]
    assert any("handler failed on GET /boom" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


def test_handler_exception_after_the_head_cuts_the_connection(loop, runner, caplog):
    def handler(request, response):
        response.write(b"partial")
        raise RuntimeError("late")

    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        data = serve(loop, runner, handler,
                     lambda port: raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"7\r\npartial\r\n" in data
    assert not data.endswith(b"0\r\n\r\n")       # no last chunk: the client sees the cut


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),                         # malformed
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 10000 + b"\r\n\r\n", 431),        # oversized header
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),                 # oversized target
    (b"GET / HTTP/2.0\r\n\r\n", 505),                                    # bad version
])
def test_parse_errors_answer_and_close(loop, runner, request_bytes, status):
    handled = []

    def handler(request, response):
        handled.append(request.path)
        response.end(b"ok")

    data = serve(loop, runner, handler, lambda port: raw(port, request_bytes))
    (m,) = responses(data)       # one response, then EOF
    assert m.status == status
    assert (b"Connection", b"close") in m.headers
    assert handled == []


def test_parse_error_after_good_requests(loop, runner):
    data = serve(loop, runner, hello, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBAD\r\n\r\n"))
    ok, bad = responses(data)
    assert (ok.status, ok.body, bad.status) == (200, b"Hello, world!", 400)


# --- closing ------------------------------------------------------------------------


def test_close_finishes_in_flight_responses(loop, runner):
    holder = {}

    def handler(request, response):
        server = holder["server"]
        server.close()                      # while this request is in flight
        timer = uv.Timer(loop)

        def later(t):
            t.close()
            response.end(b"finished")

        timer.start(later, 0.0)

    server = Server(handler, loop=loop)
    holder["server"] = server
    _, port = server.listen("127.0.0.1", 0)
    box = {}

    def client():
        try:
            box["data"] = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        runner.run(loop, 10.0)
    finally:
        thread.join(10.0)
    assert "error" not in box, box
    (m,) = responses(box["data"])
    assert (m.status, m.body) == (200, b"finished")
    assert (b"Connection", b"close") in m.headers
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# --- Headers ------------------------------------------------------------------------


def test_headers():
    h = Headers([("Content-Type", "a"), ("Set-Cookie", "1")])
    h.add("set-cookie", "2")
    assert h["content-type"] == "a" and h.get("X") is None
    assert h.get_all("SET-COOKIE") == ["1", "2"]
    assert "CONTENT-TYPE" in h and len(h) == 3
    assert list(h) == ["Content-Type", "Set-Cookie", "set-cookie"]
    h["Set-Cookie"] = "3"
    assert h.items() == [("Content-Type", "a"), ("Set-Cookie", "3")]
    del h["content-type"]
    with pytest.raises(KeyError):
        h["Content-Type"]
    with pytest.raises(KeyError):
        del h["nope"]
    assert Headers({"A": 1}) == Headers([("A", "1")])


def test_expect_100_continue(loop, runner):
    def handler(request, response):
        response.end(b"got %d" % len(request.body))

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                chunk = s.recv(1)
                assert chunk, interim
                interim += chunk
            s.sendall(b"hello")
            rest = []
            while chunk := s.recv(65536):
                rest.append(chunk)
        return interim, b"".join(rest)

    interim, rest = serve(loop, runner, handler, client)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    (m,) = responses(rest)
    assert (m.status, m.body) == (200, b"got 5")


def test_large_response_arrives_whole_before_the_close(loop, runner):
    big = bytes(range(256)) * (16 * 1024)        # 4 MiB: more than the socket takes at once

    def handler(request, response):
        response.end(big)

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    (m,) = responses(data)
    assert m.body == big


def test_response_ended_after_the_client_left(loop, runner):
    held = []

    def handler(request, response):
        held.append(response)
        response.write(b"x")

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(65536)

    def end_later(handle):
        handle.close()
        held[0].end(b"too late")        # the connection is gone: nothing to send, no error

    servers = []
    serve(loop, runner, handler, client, server_box=servers)
    assert servers[0].connections == 1   # held open for the response in flight
    late = uv.Async(loop, end_later)
    late.send()
    runner.run(loop, 5.0)
    assert held[0].finished and servers[0].connections == 0


def test_many_pipelined_requests_with_deferred_answers(loop, runner):
    count = 200        # more than the server keeps pending before it pauses reading

    def handler(request, response):
        timer = uv.Timer(loop)

        def later(t):
            t.close()
            response.end(request.path.encode())

        timer.start(later, 0.0)

    reqs = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(count))
    reqs += b"GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    got = responses(serve(loop, runner, handler, lambda port: raw(port, reqs)))
    assert [m.body for m in got] == [b"/%d" % i for i in range(count)] + [b"/end"]


def test_upgrade_request_is_answered_then_closed(loop, runner):
    data = serve(loop, runner, hello, lambda port: raw(
        port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: foo\r\n\r\n"
              b"not http"))
    (m,) = responses(data)
    assert m.status == 200 and (b"Connection", b"close") in m.headers

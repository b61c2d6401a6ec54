"""sourcey.http.Server and bad input on raw sockets: smuggling attempts get one 400 and
the close, never a response to the smuggled request; handlers that raise mid-pipeline or
after writing; response heads and framing the handler gets wrong; input that must not
make memory grow (endless chunked bodies, pipelining clients that never read); Host,
Connection and Expect handling. Only the public API, so these keep passing whatever the
server is made of.

The server's loop runs in the test thread, bounded by the runner's timeout; the client
runs in a thread and, when done, wakes the loop to close the server. Loopback only."""

from __future__ import annotations

import logging
import socket
import threading
import tracemalloc

import pytest

from sourcey import uv
from sourcey.http import Server, parse


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def serve(loop, runner, handler, client, timeout=20.0, **options):
    """Serve ``handler`` (a Server made with ``options``) on a loopback port and run
    ``client(port)`` in a thread; return its result (or raise its exception) once the
    server and all its connections have closed."""
    server = Server(handler, loop=loop, **options)
    _, port = server.listen("127.0.0.1", 0)
    box = {}

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
    assert server.connections == 0
    if "error" in box:
        raise box["error"]
    return box["result"]


def read_all(s):
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def raw(port, data, timeout=5.0):
    """Send ``data`` on a fresh connection; return all bytes received until EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return read_all(s)


def hello(request, response):
    response.headers["Content-Type"] = "text/plain"
    response.end(b"Hello, world!")


def echo_path(request, response):
    response.end(request.path.encode())


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("attack", [
    b"Content-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\n",
    b"Content-Length: 5\r\nContent-Length: 40\r\n\r\nhello",
    b"Content-Length: +5\r\n\r\nhello",
    b"Content-Length: 0x5\r\n\r\nhello",
    b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
    b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\n1;\x00\r\nA\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\n10000000000000001\r\nA\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\n-1\r\nA\r\n0\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n",
    b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
    b"X: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
], ids=["cl-te", "te-cl", "two-cl", "cl-plus", "cl-hex", "te-not-final",
        "te-twice-not-final", "space-before-colon", "obs-fold", "nul-in-extension",
        "size-overflow", "no-crlf-after-data", "negative-size", "folded-trailer",
        "vtab-in-te", "bare-lf"])
def test_smuggling_attempt_gets_one_400_and_the_close(loop, runner, attack):
    handled = []

    def handler(request, response):
        handled.append(request.target)
        response.end(b"handled")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"POST / HTTP/1.1\r\nHost: x\r\n" + attack + SMUGGLED))
    (m,) = parse("response", [data])          # exactly one response, then EOF
    assert m.status == 400
    assert (b"Connection", b"close") in m.headers
    assert handled == []


def test_chunked_in_http10_is_refused(loop, runner):
    """RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing."""
    handled = []

    def handler(request, response):
        handled.append(request.target)
        response.end(b"handled")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive"
              b"\r\n\r\n0\r\n\r\n" + SMUGGLED))
    (m,) = parse("response", [data])
    assert m.status == 400 and handled == []


def test_garbage_after_a_chunked_body_is_one_400(loop, runner):
    handled = []

    def handler(request, response):
        handled.append((request.target, request.body))
        response.end(b"handled")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n0\r\n\r\nX\r\n" + SMUGGLED))
    first, bad = parse("response", [data])
    assert (first.status, first.body, bad.status) == (200, b"handled", 400)
    assert handled == [("/first", b"hello")]


def test_unknown_transfer_coding_is_501(loop, runner):
    handled = []

    def handler(request, response):
        handled.append(request.target)
        response.end(b"handled")

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
              b"3\r\nabc\r\n0\r\n\r\n" + SMUGGLED), idle_timeout=0.5)
    (m,) = parse("response", [data])
    assert m.status == 501 and (b"Connection", b"close") in m.headers
    assert handled == []


def test_handler_raising_mid_pipeline(loop, runner, caplog):
    def handler(request, response):
        if request.path == "/boom":
            raise ValueError("boom")
        echo_path(request, response)

    reqs = b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % p for p in (b"a", b"boom", b"c"))
    reqs += b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        got = parse("response", [serve(loop, runner, handler, lambda port: raw(port, reqs))])
    assert [(m.status, m.body) for m in got] == [
        (200, b"/a"), (500, b"Internal Server Error\n"), (200, b"/c"), (200, b"/d")]
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


def test_handler_raising_after_write_drops_the_rest_of_the_pipeline(loop, runner, caplog):
    handled = []

    def handler(request, response):
        handled.append(request.path)
        if request.path == "/partial":
            response.write(b"some")
            raise ValueError("late")
        echo_path(request, response)

    reqs = (b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /partial HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        data = serve(loop, runner, handler, lambda port: raw(port, reqs))
    first, rest = data.split(b"/first", 1)
    (m,) = parse("response", [first + b"/first"], eof=False)
    assert m.status == 200
    # the aborted response: its head and the piece written, no last chunk, nothing more
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\n4\r\nsome\r\n")
    assert b"/after" not in rest


def test_handler_raising_after_end_keeps_the_connection(loop, runner, caplog):
    def handler(request, response):
        echo_path(request, response)
        if request.path == "/then-raise":
            raise ValueError("after the end")

    reqs = (b"GET /then-raise HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        got = parse("response", [serve(loop, runner, handler, lambda port: raw(port, reqs))])
    assert [(m.status, m.body) for m in got] == [(200, b"/then-raise"), (200, b"/next")]
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


def test_header_injection_from_the_handler_is_a_500(loop, runner, caplog):
    def handler(request, response):
        response.headers["X-Name"] = "value\r\nSet-Cookie: injected=1"
        response.end(b"should not be sent")

    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        data = serve(loop, runner, handler, lambda port: raw(
            port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    (m,) = parse("response", [data])
    assert m.status == 500 and b"injected" not in data


@pytest.mark.parametrize("body", [b"abc", b"abcdefghij" + b"HTTP/1.1 200 OK\r\n\r\n"],
                         ids=["short", "long"])
def test_body_not_matching_the_handlers_content_length(loop, runner, body):
    def handler(request, response):
        if request.path == "/bad":
            response.headers["Content-Length"] = "10"
            response.end(body)
        else:
            echo_path(request, response)

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET /bad HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        idle_timeout=0.5)
    # the mismatch is caught before the head goes: the handler's error is a 500, framed
    # right, and the next response follows it intact
    first, second = parse("response", [data])
    assert first.status == 500
    assert second.status == 200 and b"/next" in second.body


def send_endless(port, head, piece, limit=8 << 20):
    """Send ``head`` then ``piece`` again and again (up to ``limit`` bytes) until the
    server stops reading; return what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head)
        sent = 0
        try:
            while sent < limit:
                s.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return read_all(s)
        except ConnectionResetError:
            return b""


CHUNKED_HEAD = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(("head", "piece", "status"), [
    (CHUNKED_HEAD, b"2\r\nxy\r\n" * 1024, 413),
    (CHUNKED_HEAD + b"1;", b"e" * 4096, 400),                         # endless extension
    (CHUNKED_HEAD + b"1\r\nx\r\n0\r\n", b"X-Trailer: t\r\n" * 256, 431),  # endless trailers
], ids=["tiny-chunks", "chunk-extension", "trailers"])
def test_endless_chunked_input_is_bounded(loop, runner, head, piece, status):
    """Memory stays within a few times max_body whatever shape the chunked body takes."""
    max_body = 256 << 10
    tracemalloc.start()
    try:
        data = serve(loop, runner, hello, lambda port: send_endless(port, head, piece),
                     max_body=max_body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (m,) = parse("response", [data])
    assert m.status == status and (b"Connection", b"close") in m.headers
    assert peak < 4 * max_body, peak


@pytest.mark.parametrize("connection", [
    b"Connection: close\r\n", b"Connection: keep-alive, close\r\n",
    b"Connection: Close\r\n", b"Connection: keep-alive\r\nConnection: close\r\n",
], ids=["close", "list", "case", "two-lines"])
def test_nothing_is_answered_after_connection_close(loop, runner, connection):
    handled = []

    def handler(request, response):
        handled.append(request.path)
        echo_path(request, response)

    data = serve(loop, runner, handler, lambda port: raw(
        port, b"GET /a HTTP/1.1\r\nHost: x\r\n" + connection + b"\r\n"
              b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
    (m,) = parse("response", [data])
    assert (m.body, handled) == (b"/a", ["/a"])
    assert (b"Connection", b"close") in m.headers


def test_client_half_close_still_gets_its_answers(loop, runner):
    def handler(request, response):
        timer = uv.Timer(loop)          # answered after the client's FIN has arrived

        def later(t):
            t.close()
            echo_path(request, response)

        timer.start(later, 0.0)

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            return read_all(s)

    got = parse("response", [serve(loop, runner, handler, client)])
    assert [m.body for m in got] == [b"/a", b"/b"]


@pytest.mark.parametrize("head", [
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    b"GET / HTTP/1.0\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
], ids=["missing", "twice", "twice-http10"])
def test_bad_host_is_400(loop, runner, head):
    handled = []

    def handler(request, response):
        handled.append(request.headers.get_all("Host"))
        response.end(b"handled")

    data = serve(loop, runner, handler, lambda port: raw(port, head), idle_timeout=0.5)
    (m,) = parse("response", [data])
    assert m.status == 400 and handled == []


def test_100_continue_after_an_earlier_response_in_flight(loop, runner):
    def handler(request, response):
        if request.path == "/slow":
            timer = uv.Timer(loop)

            def later(t):
                t.close()
                response.end(b"slow")

            timer.start(later, 0.0)
        else:
            response.end(b"got " + request.body)

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
            data = b""
            while b"HTTP/1.1 100 Continue\r\n\r\n" not in data:
                chunk = s.recv(65536)     # 2 s timeout: the 100 must come before
                assert chunk, data
                data += chunk
            s.sendall(b"abc")
            return data + read_all(s)

    data = serve(loop, runner, handler, client)
    slow, rest = data.split(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert [m.body for m in parse("response", [slow + rest])] == [b"slow", b"got abc"]


def test_pipelining_client_that_does_not_read_keeps_memory_bounded(loop, runner):
    size, count = 256 << 10, 200

    def handler(request, response):
        response.end(bytes(size))          # a fresh body each time, as a real handler's

    reqs = (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * (count - 1)
            + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(reqs)                   # everything asked before anything is read
            buf = bytearray(1 << 16)
            total = 0
            while n := s.recv_into(buf):      # counted, not kept: the peak is the server's
                total += n
            return total

    tracemalloc.start()
    try:
        total = serve(loop, runner, handler, client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > count * size              # every response arrived
    assert peak < 16 << 20, peak             # not all 50 MB at once


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("X-Nul", "a\x00b", None), ("X-Ctl", "a\x01b\x7f", None), ("", "v", None),
    ("Bad Name", "v", None), ("X-Colon:", "v", None), ("X-Ok", "v", "Fine\x00"),
], ids=["nul-value", "control-value", "empty-name", "space-in-name", "colon-in-name",
        "nul-reason"])
def test_invalid_response_head_from_the_handler_is_a_500(loop, runner, caplog, name,
                                                         value, reason):
    def handler(request, response):
        response.headers[name] = value
        response.reason = reason
        response.end(b"should not be sent")

    with caplog.at_level(logging.ERROR, logger="sourcey.http.server"):
        data = serve(loop, runner, handler, lambda port: raw(
            port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    (m,) = parse("response", [data])
    assert m.status == 500 and b"should not be sent" not in data


@pytest.mark.parametrize("stalled", [
    b"Content-Length: 10\r\n\r\nabc",
    b"Transfer-Encoding: chunked\r\n\r\n3\r\nab",
], ids=["content-length", "chunked"])
def test_stalled_body_is_408(loop, runner, stalled):
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n" + stalled)
            return read_all(s)        # 2 s timeout, several times the server's

    data = serve(loop, runner, hello, client, header_timeout=0.3, idle_timeout=0.3,
                 body_timeout=0.3)
    (m,) = parse("response", [data])
    assert m.status == 408 and (b"Connection", b"close") in m.headers

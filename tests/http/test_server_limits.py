"""sourcey.http.Server's limits and timeouts: 413 (Content-Length or a chunked body past
max_body), 408 (a request head not complete in time, slowloris included), the idle
keep-alive close, the parser's limits passed through, and memory that stays bounded
whatever the client sends. The loop runs in the test thread, the client in another; the
timeouts are short (0.3-0.5 s) and every wait is a socket timeout of a few seconds."""

from __future__ import annotations

import socket
import time
import tracemalloc

import pytest
from serverlib import raw, read_all, serve

from sourcey.http import Server, parse


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def hello(request, response):
    response.end(b"Hello, world!")


def not_called(request, response):
    raise AssertionError(f"the handler got {request!r}")


def assert_closing_error(data, status):
    (m,) = parse("response", [data])       # one response, then EOF
    assert m.status == status
    assert (b"Connection", b"close") in m.headers
    return m


def silent_for(s, seconds):
    """True if nothing (not even EOF) arrives on ``s`` within ``seconds``."""
    s.settimeout(seconds)
    try:
        s.recv(1)
    except TimeoutError:
        return True
    finally:
        s.settimeout(5.0)
    return False


# --- 413 ----------------------------------------------------------------------------


def test_413_by_content_length_before_the_body(loop, runner):
    def client(port):
        return raw(port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n"
                         b"Expect: 100-continue\r\n\r\n")     # no body sent: not awaited

    data = serve(loop, runner, not_called, client, max_body=1000)
    assert data.startswith(b"HTTP/1.1 413 ")                  # no 100 Continue first
    assert_closing_error(data, 413)


def test_413_for_a_whole_body_in_one_read(loop, runner):
    data = serve(loop, runner, not_called, lambda port: raw(
        port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"800\r\n" + b"x" * 0x800 + b"\r\n0\r\n\r\n"), max_body=1000)
    assert_closing_error(data, 413)


def test_bodies_within_max_body(loop, runner):
    def handler(request, response):
        response.end(b"%d" % len(request.body))

    reqs = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000
            + b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"1f4\r\n" + b"y" * 500 + b"\r\n" + b"1f4\r\n" + b"y" * 500 + b"\r\n0\r\n\r\n"
            + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = parse("response", [serve(loop, runner, handler, lambda port: raw(port, reqs),
                                   max_body=1000)])
    assert [(m.status, m.body) for m in got] == [(200, b"1000"), (200, b"1000"), (200, b"0")]


def test_413_for_endless_chunks_with_bounded_memory(loop, runner):
    chunk = b"1000\r\n" + b"z" * 0x1000 + b"\r\n"
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    def client(port):
        sent = 0
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(head)
            try:
                while sent < 8 << 20:          # "endless", up to 8 MiB
                    s.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return sent, read_all(s)

    tracemalloc.start()
    try:
        sent, data = serve(loop, runner, not_called, client, max_body=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_closing_error(data, 413)
    assert sent >= 1 << 20              # the server drained the rest after answering
    assert peak < 2 << 20, peak


# --- 408 and idle -------------------------------------------------------------------


def test_408_for_an_incomplete_head(loop, runner):
    def client(port):
        start = time.monotonic()
        data = raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n")
        return time.monotonic() - start, data

    elapsed, data = serve(loop, runner, not_called, client, header_timeout=0.3)
    assert_closing_error(data, 408)
    assert 0.25 <= elapsed < 4.0


def test_408_for_a_slowloris(loop, runner):
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 4000

    def client(port):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for i, byte in enumerate(head):      # one byte, then wait up to 0.05 s
                s.sendall(bytes([byte]))
                s.settimeout(0.05)
                try:
                    first = s.recv(65536)
                except TimeoutError:
                    if time.monotonic() - start > 5.0:
                        raise AssertionError("no 408 after 5 s") from None
                    continue
                s.settimeout(5.0)
                return i + 1, time.monotonic() - start, first + read_all(s)
        raise AssertionError("the whole head went through")

    sent, elapsed, data = serve(loop, runner, not_called, client, header_timeout=0.3)
    assert_closing_error(data, 408)
    assert elapsed >= 0.25 and sent >= 4       # bytes kept arriving: no reprieve


def test_idle_keep_alive_connection_is_closed_silently(loop, runner):
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b"Hello, world!"):
                data += s.recv(65536)
            start = time.monotonic()
            rest = read_all(s)                   # EOF once idle_timeout passes
            return data, rest, time.monotonic() - start

    data, rest, elapsed = serve(loop, runner, hello, client, idle_timeout=0.3)
    (m,) = parse("response", [data], eof=False)
    assert m.status == 200 and (b"Connection", b"close") not in m.headers
    assert rest == b""
    assert 0.25 <= elapsed < 4.0


def test_new_connection_sending_nothing_is_closed_silently(loop, runner):
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            return read_all(s)

    assert serve(loop, runner, not_called, client, header_timeout=0.3) == b""


def test_keep_alive_client_within_the_timeouts_is_unaffected(loop, runner):
    rounds = 5
    seen = []

    def handler(request, response):
        seen.append(request.path)
        response.end(request.path.encode())

    def client(port):
        out = []
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for i in range(rounds):
                assert silent_for(s, 0.15)       # idle between requests, under 0.6 s
                s.sendall(b"GET /%d HTTP/1.1\r\n" % i)
                assert silent_for(s, 0.15)       # inside the head, under 0.6 s
                s.sendall(b"Host: x\r\n\r\n")
                data = b""
                while not data.endswith(b"/%d" % i):
                    data += s.recv(65536)
                out.append(data)
        return out, time.monotonic() - start

    out, elapsed = serve(loop, runner, handler, client, header_timeout=0.6,
                         idle_timeout=0.6)
    assert [m.body for d in out for m in parse("response", [d], eof=False)] == \
        [b"/%d" % i for i in range(rounds)]
    assert seen == [f"/{i}" for i in range(rounds)]
    assert elapsed > 1.2                          # longer than both timeouts together


# --- head limits and memory ---------------------------------------------------------


@pytest.mark.parametrize("stream", [
    b"GET / HTTP/1.1\r\nX-Long: " + b"a" * (10 << 20),                     # one line
    b"GET / HTTP/1.1\r\n" + b"X-Many: aaaaaaaaaaaaaaaaaaaaaa\r\n" * (320 << 10),  # many
], ids=["long-line", "many-lines"])
def test_10mb_head_without_end_is_431_with_bounded_memory(loop, runner, stream):
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                s.sendall(stream)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return read_all(s)

    assert len(stream) >= 10 << 20
    tracemalloc.start()
    try:
        data = serve(loop, runner, not_called, client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_closing_error(data, 431)
    assert peak < 2 << 20, peak


@pytest.mark.parametrize(("options", "request_bytes", "status"), [
    ({"max_start_line": 32}, b"GET /" + b"a" * 40 + b" HTTP/1.1\r\n\r\n", 414),
    ({"max_header_line": 32}, b"GET / HTTP/1.1\r\nX: " + b"a" * 40 + b"\r\n\r\n", 431),
    ({"max_headers": 2}, b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431),
    ({"max_head": 64}, b"GET / HTTP/1.1\r\n" + b"A: 1234567890\r\n" * 5 + b"\r\n", 431),
])
def test_parser_limits_are_passed_through(loop, runner, options, request_bytes, status):
    data = serve(loop, runner, not_called, lambda port: raw(port, request_bytes), **options)
    assert_closing_error(data, status)


def test_options():
    server = Server(hello, max_body=None, header_timeout=None, idle_timeout=None)
    assert (server.max_body, server.header_timeout, server.idle_timeout) == (None, None, None)
    server = Server(hello)
    assert (server.max_body, server.header_timeout, server.idle_timeout) == (1 << 20, 10.0, 60.0)
    with pytest.raises(ValueError):
        Server(hello, header_timeout=0)
    with pytest.raises(ValueError):
        Server(hello, idle_timeout=-1.0)
    with pytest.raises(ValueError):
        Server(hello, max_body=-1)
    with pytest.raises(ValueError):
        Server(hello, max_body=1 << 70)
    with pytest.raises(ValueError):
        Server(hello, max_head=0)

"""sourcey.http.Server against real clients: curl, http.client (and raw sockets for
pipelining), requests, httpx and wrk, over IPv4 and IPv6 loopback. Only the public API
(Server, Request, Response), so these keep passing whatever the server is made of. Bad
input is in test_server_bad_input.py.

One pattern throughout: the server's loop runs in the test thread, bounded by the
runner's timeout; the client runs in a thread (curl and wrk as subprocesses under
``timeout``) and, when done, wakes the loop to close the server. Loopback only."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import tracemalloc

import pytest

from sourcey import uv
from sourcey.http import Server, parse

CURL = shutil.which("curl")
WRK = shutil.which("wrk")
TIMEOUT = shutil.which("timeout")

needs_curl = pytest.mark.skipif(CURL is None or TIMEOUT is None,
                                reason="curl (and coreutils' timeout) not installed")
needs_wrk = pytest.mark.skipif(WRK is None or TIMEOUT is None,
                               reason="wrk (and coreutils' timeout) not installed")


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def serve(loop, runner, handler, client, timeout=20.0, setup=None, host="127.0.0.1",
          **options):
    """Serve ``handler`` (a Server made with ``options``) on a ``host`` port and run
    ``client(port)`` in a thread; return its result (or raise its exception) once the
    server and all its connections have closed. ``setup(server)``, if given, runs in the
    loop thread before the client starts (to make handles the handler needs)."""
    server = Server(handler, loop=loop, **options)
    _, port = server.listen(host, 0)
    if setup is not None:
        setup(server)
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


def curl(*args, data=None, seconds=10):
    """Run curl with ``args`` (``data`` on its stdin), killed after ``seconds``."""
    return subprocess.run([TIMEOUT, str(seconds), CURL, "-sS", *args], input=data,
                          capture_output=True, timeout=seconds + 5)


def hello(request, response):
    response.headers["Content-Type"] = "text/plain"
    response.end(b"Hello, world!")


def echo_path(request, response):
    response.end(request.path.encode())


def streamed(request, response):
    """A body of unknown length: three write()s, then end()."""
    for part in (b"one,", b"two,", b"three"):
        response.write(part)
    response.end()


def digest(data):
    return hashlib.sha256(data).hexdigest()


# --- curl ---------------------------------------------------------------------------


@needs_curl
def test_curl_several_urls_share_one_connection(loop, runner):
    peers = []

    def handler(request, response):
        peers.append(request.peer)
        echo_path(request, response)

    def client(port):
        base = f"http://127.0.0.1:{port}"
        return curl("--write-out", " %{num_connects} %{http_code}\n",
                    f"{base}/a", f"{base}/b", f"{base}/c")

    result = serve(loop, runner, handler, client)
    assert result.returncode == 0, result.stderr
    # num_connects: new connections this transfer made; only the first one connects
    assert result.stdout == b"/a 1 200\n/b 0 200\n/c 0 200\n"
    assert len(peers) == 3 and len(set(peers)) == 1


@needs_curl
def test_curl_http10_gets_a_close_delimited_response(loop, runner):
    versions = []

    def handler(request, response):
        versions.append((request.version, request.keep_alive))
        (streamed if request.path == "/stream" else hello)(request, response)

    def client(port):
        base = f"http://127.0.0.1:{port}"
        return curl("-0", "-i", "--write-out", "[%{num_connects}]\n",
                    f"{base}/fixed", f"{base}/stream")

    result = serve(loop, runner, handler, client)
    assert result.returncode == 0, result.stderr
    fixed, stream = result.stdout.split(b"]\n")[:2]
    assert versions == [("1.0", False), ("1.0", False)]
    for out in (fixed, stream):
        head = out.split(b"\r\n\r\n")[0].lower()
        assert head.startswith(b"http/1.1 200 ")
        assert b"\r\nconnection: close" in head
        assert b"transfer-encoding" not in head       # chunked is HTTP/1.1 only
        assert out.endswith(b"[1")                    # closed: each URL connects anew
    assert fixed.split(b"\r\n\r\n", 1)[1] == b"Hello, world![1"
    assert stream.split(b"\r\n\r\n", 1)[1] == b"one,two,three[1"


@needs_curl
def test_curl_head_then_get_on_one_connection(loop, runner):
    methods = []

    def handler(request, response):
        methods.append((request.method, request.path))
        (streamed if request.path == "/stream" else hello)(request, response)

    def client(port):
        base = f"http://127.0.0.1:{port}"
        head = curl("-I", "--write-out", "[%{num_connects}]", f"{base}/fixed",
                    f"{base}/stream")
        get = curl(f"{base}/stream")
        return head, get

    head, get = serve(loop, runner, handler, client)
    assert head.returncode == 0, head.stderr
    fixed, stream, _ = head.stdout.split(b"]")
    assert b"Content-Length: 13\r\n" in fixed and fixed.endswith(b"\r\n\r\n[1")
    assert b"Transfer-Encoding: chunked\r\n" in stream and stream.endswith(b"\r\n\r\n[0")
    assert get.stdout == b"one,two,three"
    assert methods == [("HEAD", "/fixed"), ("HEAD", "/stream"), ("GET", "/stream")]


def sized_echo(request, response):
    """The request's body back, with what framed it."""
    response.headers["X-Framing"] = ("chunked" if "Transfer-Encoding" in request.headers
                                     else request.headers.get("Content-Length", "none"))
    response.headers["X-Expect"] = request.headers.get("Expect", "")
    response.end(request.body)


@needs_curl
def test_curl_post_binary_body(loop, runner):
    body = bytes(range(256)) * 1024

    def client(port):
        return curl("-i", "--data-binary", "@-", f"http://127.0.0.1:{port}/", data=body)

    result = serve(loop, runner, sized_echo, client)
    assert result.returncode == 0, result.stderr
    head, got = result.stdout.split(b"\r\n\r\n", 1)
    assert b"\r\nX-Framing: 262144" in head
    assert got == body


@needs_curl
def test_curl_chunked_upload(loop, runner):
    body = b"".join(b"line %d\n" % i for i in range(20000))

    def client(port):
        return curl("-i", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                    f"http://127.0.0.1:{port}/", data=body)

    result = serve(loop, runner, sized_echo, client)
    assert result.returncode == 0, result.stderr
    head, got = result.stdout.split(b"\r\n\r\n", 1)
    assert b"\r\nX-Framing: chunked" in head
    assert digest(got) == digest(body)


@needs_curl
def test_curl_expect_100_continue_with_a_large_body(loop, runner):
    body = bytes(range(251)) * 3000           # 753 KB, under the default max_body

    def client(port):
        # a long expect100-timeout: curl sends the body only on the server's 100
        return curl("-v", "--expect100-timeout", "30", "-H", "Expect: 100-continue",
                    "--data-binary", "@-", f"http://127.0.0.1:{port}/", data=body,
                    seconds=20)

    result = serve(loop, runner, sized_echo, client, timeout=30.0)
    assert result.returncode == 0, result.stderr
    assert b"< HTTP/1.1 100 Continue" in result.stderr
    assert b"< X-Expect: 100-continue" in result.stderr
    assert digest(result.stdout) == digest(body)


@needs_curl
def test_curl_huge_header_is_431(loop, runner):
    def client(port):
        return curl("--write-out", "%{http_code}", "-o", "/dev/null",
                    "-H", "X-Big: " + "b" * 100_000, f"http://127.0.0.1:{port}/")

    result = serve(loop, runner, hello, client)
    assert result.stdout == b"431"


# --- http.client and raw sockets ----------------------------------------------------


def test_http_client_one_socket_for_mixed_requests(loop, runner):
    peers = []

    def handler(request, response):
        peers.append(request.peer)
        if request.path == "/stream":
            streamed(request, response)
        elif request.path == "/nothing":
            response.status = 204
            response.end()
        else:
            sized_echo(request, response)

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        out = []
        try:
            conn.request("GET", "/stream")
            r = conn.getresponse()
            out.append((r.status, r.getheader("Transfer-Encoding"), r.read()))
            sock = conn.sock
            conn.request("POST", "/up", body=iter([b"ab", b"", b"cd"]), encode_chunked=True)
            r = conn.getresponse()
            out.append((r.status, r.getheader("X-Framing"), r.read()))
            conn.request("GET", "/nothing")
            r = conn.getresponse()
            out.append((r.status, r.getheader("Content-Length"), r.read()))
            conn.request("PUT", "/put", body=b"xyz")
            r = conn.getresponse()
            out.append((r.status, r.getheader("X-Framing"), r.read()))
            assert conn.sock is sock
        finally:
            conn.close()
        return out

    assert serve(loop, runner, handler, client) == [
        (200, "chunked", b"one,two,three"), (200, "chunked", b"abcd"),
        (204, None, b""), (200, "3", b"xyz")]
    assert len(peers) == 4 and len(set(peers)) == 1


def test_pipelined_mixed_requests_sent_in_small_pieces(loop, runner):
    def handler(request, response):
        response.end(b"%s %s %s" % (request.method.encode(), request.path.encode(),
                                    request.body))

    reqs = (b"POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
            b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nthi\r\n2;ext=1\r\nrd\r\n0\r\nX-Trailer: t\r\n\r\n"
            b"DELETE /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(0, len(reqs), 7):
                s.sendall(reqs[i:i + 7])
            return read_all(s)

    got = parse("response", [serve(loop, runner, handler, client)])
    assert [m.body for m in got] == [b"POST /1 first", b"GET /2 ", b"POST /3 third",
                                     b"DELETE /4 "]
    assert (b"Connection", b"close") in got[3].headers


class HTTP10Connection(http.client.HTTPConnection):
    """http.client speaking HTTP/1.0 (its version attributes are the only switch)."""

    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"


def test_http_client_http10_post_and_streamed_answer(loop, runner):
    seen = []

    def handler(request, response):
        seen.append((request.version, request.keep_alive, request.body))
        streamed(request, response)

    def client(port):
        conn = HTTP10Connection("127.0.0.1", port, timeout=5)
        try:
            conn.request("POST", "/", body=b"old client")
            r = conn.getresponse()
            return (r.version, r.status, r.getheader("Connection"),
                    r.getheader("Transfer-Encoding"), r.will_close, r.read())
        finally:
            conn.close()

    assert serve(loop, runner, handler, client) == (11, 200, "close", None, True,
                                                    b"one,two,three")
    assert seen == [("1.0", False, b"old client")]


def test_empty_writes_do_not_end_a_chunked_body(loop, runner):
    def handler(request, response):
        response.write(b"")
        response.write(b"abc")
        response.write(memoryview(b""))
        response.end(b"def")

    def client(port):
        return raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")

    got = parse("response", [serve(loop, runner, handler, client)])
    assert [m.body for m in got] == [b"abcdef", b"abcdef"]


# --- requests and httpx -------------------------------------------------------------


def http_session(kind):
    """A keep-alive session of the ``kind`` library, and a function doing one request
    on it: ``do(method, url, body=None, json=None) -> (status, headers, body bytes)``."""
    if kind == "requests":
        requests = pytest.importorskip("requests", reason="requests is not installed")
        session = requests.Session()

        def do(method, url, body=None, json=None):
            r = session.request(method, url, data=body, json=json, timeout=5)
            return r.status_code, r.headers, r.content
    else:
        httpx = pytest.importorskip("httpx", reason="httpx is not installed")
        session = httpx.Client(timeout=5)

        def do(method, url, body=None, json=None):
            r = session.request(method, url, content=body, json=json)
            return r.status_code, r.headers, r.content
    return session, do


@pytest.mark.parametrize("kind", ["requests", "httpx"])
def test_session_keep_alive(loop, runner, kind):
    session, do = http_session(kind)
    peers = []

    def handler(request, response):
        peers.append(request.peer)
        if request.path == "/stream":
            streamed(request, response)
        else:
            response.end(b"%s %s" % (request.method.encode(), request.body))

    def client(port):
        url = f"http://127.0.0.1:{port}"
        with session:
            return [do("GET", url + "/"), do("POST", url + "/", body=b"data"),
                    do("GET", url + "/stream"), do("DELETE", url + "/")]

    out = serve(loop, runner, handler, client)
    assert [(status, body) for status, _, body in out] == [
        (200, b"GET "), (200, b"POST data"), (200, b"one,two,three"), (200, b"DELETE ")]
    assert out[2][1]["Transfer-Encoding"] == "chunked"
    assert len(peers) == 4 and len(set(peers)) == 1


def stream_pieces(kind, url, ack):
    """Download ``url`` as a stream with ``kind``; call ``ack()`` after each complete
    ``;``-terminated piece; return the pieces and the Transfer-Encoding."""
    buf = b""
    if kind == "requests":
        import requests
        with requests.get(url, stream=True, timeout=5) as r:
            te = r.headers.get("Transfer-Encoding")
            for data in r.iter_content(chunk_size=None):
                before = buf.count(b";")
                buf += data
                for _ in range(buf.count(b";") - before):
                    ack()
    else:
        import httpx
        with httpx.stream("GET", url, timeout=5) as r:
            te = r.headers.get("Transfer-Encoding")
            for data in r.iter_bytes():
                before = buf.count(b";")
                buf += data
                for _ in range(buf.count(b";") - before):
                    ack()
    return buf.split(b";")[:-1], te


@pytest.mark.parametrize("kind", ["requests", "httpx"])
def test_streamed_download_piece_by_piece(loop, runner, kind):
    """The handler writes its next piece only once the client has received the last
    one, so the client must see the body arrive in pieces, not at the end."""
    pytest.importorskip(kind, reason=f"{kind} is not installed")
    pieces = 6
    state = {"sent": 0}

    def handler(request, response):
        state["response"] = response
        response.write(b"piece 0;")
        state["sent"] = 1

    def on_ack(handle):
        response = state["response"]
        if state.get("failed"):
            response.end()
            handle.close()
        elif state["sent"] < pieces:
            response.write(b"piece %d;" % state["sent"])
            state["sent"] += 1
        else:
            response.end()
            handle.close()

    def setup(server):
        state["ack"] = uv.Async(loop, on_ack)

    def client(port):
        try:
            return stream_pieces(kind, f"http://127.0.0.1:{port}/", state["ack"].send)
        except BaseException:
            state["failed"] = True      # end the response and close the Async
            state["ack"].send()
            raise

    got, te = serve(loop, runner, handler, client, setup=setup)
    assert got == [b"piece %d" % i for i in range(pieces)]
    assert te == "chunked"


def json_echo(request, response):
    document = json.loads(request.body)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.end(json.dumps({"got": document, "type": request.headers["Content-Type"]},
                            ensure_ascii=False).encode())


@pytest.mark.parametrize("kind", ["requests", "httpx"])
def test_json_round_trip(loop, runner, kind):
    session, do = http_session(kind)
    document = {"name": "sourcey ünïcödé ✓", "n": [1, 2.5, None, True],
                "nested": {"k": "v" * 5000}, "list": list(range(1000))}

    def client(port):
        with session:
            return do("POST", f"http://127.0.0.1:{port}/json", json=document)

    status, headers, body = serve(loop, runner, json_echo, client)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body.decode("utf-8")) == {"got": document, "type": "application/json"}


# --- wrk ----------------------------------------------------------------------------


@needs_wrk
def test_wrk_short_run_has_no_errors_and_leaks_nothing(loop, runner):
    """wrk -t1 -c10 -d1s: every response a 2xx, no socket errors; afterwards the
    server answers, wrk's 10 connections are all gone, and Python memory is back."""
    state = {}

    def handler(request, response):
        if request.path != "/stats":
            hello(request, response)
            return
        # answer once this is the only connection left: wrk's have all been closed

        def check(timer=None):
            if state["server"].connections == 1:
                if timer is not None:
                    timer.close()
                current, _ = tracemalloc.get_traced_memory()
                response.end(b"%d %d" % (state["server"].connections, current))
                return True
            return False

        if not check():
            uv.Timer(loop).start(check, 0.01, 0.01)

    def setup(server):
        state["server"] = server

    def client(port):
        url = f"http://127.0.0.1:{port}/"
        warm = raw(port, b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        result = subprocess.run([TIMEOUT, "20", WRK, "-t1", "-c10", "-d1s", url],
                                capture_output=True, timeout=25)
        after = raw(port, b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return warm, result, after

    tracemalloc.start()
    try:
        warm, result, after = serve(loop, runner, handler, client, setup=setup,
                                    timeout=30.0)
    finally:
        tracemalloc.stop()
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "Socket errors" not in out and "Non-2xx" not in out, out
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    assert requests > 0
    (before_m,) = parse("response", [warm])
    (after_m,) = parse("response", [after])
    connections, before_mem = map(int, before_m.body.split())
    connections_after, after_mem = map(int, after_m.body.split())
    assert connections == connections_after == 1
    # the requests made garbage, not lasting allocations: far under 1 KB a request
    assert after_mem - before_mem < max(256 << 10, requests * 16), (requests, before_mem,
                                                                     after_mem)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6_loopback(loop, runner):
    def handler(request, response):
        response.end(repr(request.peer[:2]).encode())

    def client(port):
        conn = http.client.HTTPConnection("::1", port, timeout=5)
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    status, body = serve(loop, runner, handler, client, host="::1")
    assert status == 200 and body.startswith(b"('::1', ")

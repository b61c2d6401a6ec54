"""The HTTP examples run as programs: each is started on a free loopback port (``--port
0``; the port is read from its banner), talked to with http.client or a raw socket, then
stopped with SIGTERM or SIGINT, after which it must exit by itself with status 0. Every
wait is bounded: the banner, each socket read, and the exit."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

import sourcey
from sourcey.http import parse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# the examples import the same sourcey as these tests (the build, not the source tree)
LIB = str(Path(sourcey.__file__).resolve().parents[1])


def read_line(proc, timeout=10.0):
    """The next line of ``proc``'s stdout, waiting at most ``timeout`` seconds."""
    line = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"no line from {proc.args} in {timeout} s: {line!r}")
            byte = os.read(proc.stdout.fileno(), 1)
            if not byte:
                raise AssertionError(f"{proc.args} exited: {line!r}, "
                                     f"{proc.stderr.read().decode(errors='replace')}")
            line += byte
    return line.decode()


@contextmanager
def example(name, *args):
    """Run ``examples/<name>`` on a free port; yield ``(proc, port)``. On the way out
    the process is killed if it is still running (a test that passes has ended it)."""
    env = dict(os.environ, PYTHONPATH=LIB)
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / name), "--host", "127.0.0.1",
                             "--port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=EXAMPLES)
    try:
        banner = read_line(proc)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert match, banner
        yield proc, int(match.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def stop(proc, signum=signal.SIGTERM):
    """Signal ``proc`` and check it closes cleanly: exit status 0, nothing on stderr."""
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode(errors="replace")
    assert err == b""
    assert f"{signal.Signals(signum).name}: closing" in out.decode()


def get(port, method="GET", target="/", body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Transfer-Encoding"), r.read()
    finally:
        conn.close()


def exchange(port, data):
    """Send ``data``, read until EOF (the request asks for the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_hello(signum):
    with example("http_hello.py") as (proc, port):
        assert get(port) == (200, None, b"Hello, world!\n")
        assert get(port, "HEAD") == (200, None, b"")
        stop(proc, signum)


def decode_echo(document):
    """The echo's JSON with every base64 field decoded back to bytes."""
    d = json.loads(document)
    return {
        "method": base64.b64decode(d["method"]),
        "target": base64.b64decode(d["target"]),
        "version": base64.b64decode(d["version"]),
        "headers": [(base64.b64decode(n), base64.b64decode(v)) for n, v in d["headers"]],
        "body": base64.b64decode(d["body"]),
    }


@pytest.mark.parametrize("request_bytes", [
    b"POST /p%20a/th?q=1&r=%ff HTTP/1.1\r\nHost: example\r\nX-Latin: caf\xe9 \xff\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Length: 8\r\n"
    b"Connection: close\r\n\r\n\x00\x01\xfe\xff\r\n{}",
    b"PUT /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Dup: 1\r\n"
    b"x-dup:   2  \r\nConnection: close\r\n\r\n"
    b"4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n",
    b"GET * HTTP/1.0\r\n\r\n",
], ids=["binary-body", "chunked", "http10"])
def test_echo_matches_the_parser_byte_for_byte(request_bytes):
    (expected,) = parse("request", [request_bytes])
    with example("http_echo.py") as (proc, port):
        (response,) = parse("response", [exchange(port, request_bytes)])
        stop(proc)
    assert response.status == 200
    assert (b"Content-Type", b"application/json") in response.headers
    assert decode_echo(response.body) == {
        "method": expected.method.encode(), "target": expected.target.encode("latin-1"),
        "version": expected.version.encode(), "headers": expected.headers,
        "body": expected.body}


def test_echo_keep_alive_with_http_client():
    with example("http_echo.py") as (proc, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            got = []
            for i in range(3):
                conn.request("POST", f"/{i}", body=b"body %d" % i)
                got.append(decode_echo(conn.getresponse().read()))
        finally:
            conn.close()
        stop(proc)
    assert [(g["target"], g["body"]) for g in got] == [
        (b"/%d" % i, b"body %d" % i) for i in range(3)]


def test_stream_sends_its_lines_chunked():
    with example("http_stream.py", "--lines", "4", "--interval", "0.01") as (proc, port):
        status, te, body = get(port)
        assert get(port, "HEAD") == (200, "chunked", b"")
        stop(proc)
    assert (status, te) == (200, "chunked")
    assert body == b"".join(b"line %d of 4\n" % i for i in range(1, 5))


def test_stream_in_flight_finishes_after_sigterm():
    """Graceful close: the stream under way runs to its end, then the process exits."""
    lines = 5
    with example("http_stream.py", "--lines", str(lines), "--interval", "0.05") as (
            proc, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"line 1 of" not in data:        # the stream has started
                chunk = s.recv(65536)
                assert chunk, data
                data += chunk
            proc.send_signal(signal.SIGTERM)
            while chunk := s.recv(65536):           # the server closes after the stream
                data += chunk
        stop_out, stop_err = proc.communicate(timeout=10)
    assert proc.returncode == 0, stop_err.decode(errors="replace")
    (m,) = parse("response", [data])
    assert m.body == b"".join(b"line %d of %d\n" % (i, lines) for i in range(1, lines + 1))
    assert (b"Transfer-Encoding", b"chunked") in m.headers
    assert b"SIGTERM: closing" in stop_out


def test_stream_options_are_checked():
    result = subprocess.run([sys.executable, str(EXAMPLES / "http_stream.py"),
                             "--lines", "-1"], capture_output=True, timeout=30,
                            env=dict(os.environ, PYTHONPATH=LIB), cwd=EXAMPLES)
    assert result.returncode == 2 and b"must not be negative" in result.stderr


@pytest.mark.parametrize("name", ["http_hello.py", "http_echo.py", "http_stream.py"])
def test_port_in_use_is_a_clear_error(name):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, str(EXAMPLES / name), "--port", str(port)],
                                capture_output=True, timeout=30,
                                env=dict(os.environ, PYTHONPATH=LIB), cwd=EXAMPLES)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}".encode() in result.stderr

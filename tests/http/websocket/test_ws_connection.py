"""WebSocket connections end to end: our client against our server, and raw sockets
(hand-made handshakes and frames) against each, for the closing handshake, protocol
violations, rejections, limits and backpressure."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import struct

import pytest

from sourcey import uv
from sourcey.http import parse
from sourcey.http.websocket import (
    ConnectionClosed,
    Deflate,
    HandshakeError,
    WebSocketError,
    WebSocketServer,
    accept_key,
    connect,
)
from sourcey.http.websocket._frame import CLOSE, TEXT, Codec


def open_pair(loop, on_server=None, *, client_kw=None, **server_kw):
    """Our server and a client connecting to it; returns (server, client ws, record)."""
    record: dict = {"server": [], "client": []}

    def on_connect(ws):
        record["server_ws"] = ws
        ws.Message += lambda w, d, t: record["server"].append((d, t))
        ws.Close += lambda w, c, r: record.setdefault("server_close", (c, r))
        ws.Error += lambda w, e: record.setdefault("server_error", e)
        if on_server is not None:
            on_server(ws)

    server = WebSocketServer(on_connect, loop=loop, **server_kw)
    ws = connect(f"ws://127.0.0.1:{server.port}/chat?room=1", loop=loop, **(client_kw or {}))
    ws.Message += lambda w, d, t: record["client"].append((d, t))
    ws.Error += lambda w, e: record.setdefault("client_error", e)

    def closed(w, c, r):
        record["client_close"] = (c, r)
        server.close(close_connections=True)

    ws.Close += closed
    return server, ws, record


def echo(ws):
    ws.Message += lambda w, d, t: w.send(d)


def test_echo_and_close_handshake(loop, runner):
    server, ws, rec = open_pair(loop, echo)
    pongs = []

    def opened(w):
        assert w.open and w.protocol is None and w.deflate is not None
        w.send("héllo")
        w.send(b"\x00\xff" * 5000)
        w.ping(b"are you there")

    def on_message(w, data, is_text):
        if len(rec["client"]) == 2:
            w.close(4000, "done")

    ws.Connect += opened
    ws.Message += on_message
    ws.Pong += lambda w, p: pongs.append(p)
    runner.run(loop)
    assert rec["client"] == [("héllo", True), (b"\x00\xff" * 5000, False)]
    assert pongs == [b"are you there"]
    assert rec["client_close"] == (4000, "")        # the server echoes the code
    assert rec["server_close"] == (4000, "done")
    assert rec["server_ws"].request.path == "/chat"
    assert rec["server_ws"].request.query == "room=1"
    assert ws.closed and "client_error" not in rec and "server_error" not in rec


def test_server_initiates_close(loop, runner):
    def on_server(ws):
        ws.close(1001, "bye")

    server, ws, rec = open_pair(loop, on_server)
    runner.run(loop)
    assert rec["client_close"] == (1001, "bye")
    assert rec["server_close"] == (1001, "")


def test_send_after_close_raises(loop, runner):
    server, ws, rec = open_pair(loop)
    errors = []

    def opened(w):
        w.close()
        w.close()                       # idempotent
        with pytest.raises(ConnectionClosed):
            w.send("late")
        errors.append("checked")

    ws.Connect += opened
    runner.run(loop)
    assert errors == ["checked"] and rec["client_close"] == (1000, "")


@pytest.mark.parametrize("compression", [None, Deflate(), Deflate(
    server_no_context_takeover=True, client_no_context_takeover=True,
    server_max_window_bits=10, client_max_window_bits=9)])
def test_compression_settings(loop, runner, compression):
    server, ws, rec = open_pair(loop, echo, client_kw={"compression": compression},
                                compression=Deflate(client_no_context_takeover=True))
    messages = ["x" * 10000, "y" * 10000, os.urandom(2000)]

    def opened(w):
        for m in messages:
            w.send(m)

    def on_message(w, data, is_text):
        if len(rec["client"]) == len(messages):
            w.close()

    ws.Connect += opened
    ws.Message += on_message
    runner.run(loop)
    assert [d for d, _ in rec["client"]] == messages
    if compression is None:
        assert ws.deflate is None
    else:
        assert ws.deflate.client_no_context_takeover        # the server asked for it
        assert ws.deflate.server_max_window_bits == compression.server_max_window_bits


def test_subprotocol_choice(loop, runner):
    server, ws, rec = open_pair(loop, client_kw={"protocols": ["v1", "v2"]},
                                protocols=["v2", "v3"])
    ws.Connect += lambda w: w.close()
    runner.run(loop)
    assert ws.protocol == "v2" and rec["server_ws"].protocol == "v2"


def test_message_limit_closes_with_1009(loop, runner):
    server, ws, rec = open_pair(loop, max_message=1000)
    ws.Connect += lambda w: w.send(b"z" * 1001)
    runner.run(loop)
    assert isinstance(rec["server_error"], WebSocketError) and rec["server_error"].code == 1009
    assert rec["client_close"][0] == 1009 and rec["server_close"][0] == 1009


def test_backpressure_and_drain(loop, runner):
    """The server sends until its queue has passed the high watermark three times (how
    much that takes depends on how much the kernel's loopback buffers take, which grow
    with use), resuming at each Drain. 1024 messages (64 MiB) without it is a failure."""
    drained = []
    state = {"sent": 0, "blocked": 0}
    chunk = os.urandom(64 * 1024)

    def on_server(sws):
        sws.set_watermarks(128 * 1024, 16 * 1024)
        assert sws.watermarks == (128 * 1024, 16 * 1024)
        sws.Drain += lambda w: (drained.append(w.write_queue_size), pump(w))
        pump(sws)

    def pump(sws):
        while state["blocked"] < 3 and state["sent"] < 1024:
            state["sent"] += 1
            if not sws.send(chunk):
                state["blocked"] += 1
                return
        sws.close()

    server, ws, rec = open_pair(loop, on_server,
                                client_kw={"compression": None}, compression=None)
    runner.run(loop, timeout=30)
    assert len(rec["client"]) == state["sent"]
    assert state["blocked"] == 3 and len(drained) == 3
    assert all(size <= 16 * 1024 for size in drained)


# --- raw peers --------------------------------------------------------------------------

def handshake_request(key=None, extra=b"", version=b"13"):
    key = key or base64.b64encode(os.urandom(16))
    return (b"GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: " + version +
            b"\r\n" + extra + b"\r\n")


def recv_all(s):
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def raw_exchange(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        return recv_all(s)


def response_status(port, data):
    """Send a handshake; the status of the response (without waiting for the end)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            assert chunk, head
            head += chunk
    return int(head.split(b" ", 2)[1])


def split_response(data):
    head, _, rest = data.partition(b"\r\n\r\n")
    return parse("response", [head + b"\r\n\r\n"], eof=False)[0], rest


def run_raw(loop, in_thread, fn, on_connect=None, **kw):
    server = WebSocketServer(on_connect or echo, loop=loop, **kw)
    try:
        return in_thread.run(lambda: fn(server.port),
                             after=lambda: server.close(close_connections=True))
    finally:
        server.close(close_connections=True)


def test_handshake_and_frame_in_one_write(loop, in_thread):
    """Frames sent right behind the request (the parser's remainder) are not lost."""
    key = base64.b64encode(os.urandom(16))
    c = Codec(client=True, compression=False)
    data = handshake_request(key) + c.send("early") + c.close(1000)
    out = run_raw(loop, in_thread, lambda port: raw_exchange(port, data))
    response, rest = split_response(out)
    assert response.status == 101
    assert dict(response.headers)[b"Sec-WebSocket-Accept"] == accept_key(key.decode()).encode()
    assert Codec(client=True).feed(rest) == [(TEXT, "early"), (CLOSE, (1000, ""))]


@pytest.mark.parametrize("frame,code", [
    (b"\x81\x05hello", 1002),                                    # not masked
    (b"\x83\x80\x00\x00\x00\x00", 1002),                         # reserved opcode
    (b"\x81\x82\x00\x00\x00\x00\xc3\x28", 1007),                 # invalid UTF-8
    (b"\x82\xff" + struct.pack("!Q", 2**40) + b"\0\0\0\0", 1009),  # too big
])
def test_violation_gets_close_code_and_tcp_close(loop, in_thread, frame, code):
    errors = []

    def on_connect(ws):
        ws.Error += lambda w, e: errors.append(e)

    out = run_raw(loop, in_thread,
                  lambda port: raw_exchange(port, handshake_request() + frame), on_connect)
    _, rest = split_response(out)
    assert Codec(client=True).feed(rest) == [(CLOSE, (code, ""))]
    assert [e.code for e in errors] == [code]


@pytest.mark.parametrize("request_bytes,status", [
    (handshake_request(version=b"8"), 426),
    (handshake_request(key=b"c2hvcnQ="), 400),                  # 5 bytes, not 16
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426),                # no upgrade at all
    (handshake_request().replace(b"GET", b"POST"), 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),  # not HTTP
])
def test_invalid_handshakes_are_rejected(loop, in_thread, request_bytes, status):
    out = run_raw(loop, in_thread, lambda port: raw_exchange(port, request_bytes))
    response = parse("response", [out])[0]
    assert response.status == status
    if status == 426:
        assert (b"Sec-WebSocket-Version", b"13") in response.headers


def test_origin_and_application_check(loop, in_thread):
    def check(request):
        return 404 if request.path == "/raw" and request.get("X-Deny") else None

    def client(port):
        return [response_status(port, handshake_request(extra=extra))
                for extra in (b"Origin: https://good.example\r\n",
                              b"Origin: https://evil.example\r\n",
                              b"",
                              b"Origin: https://good.example\r\nX-Deny: 1\r\n")]

    statuses = run_raw(loop, in_thread, client, origins=["https://good.example"],
                       check=check)
    assert statuses == [101, 403, 403, 404]


def test_handshake_timeout(loop, in_thread):
    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\n")
            return recv_all(s)

    assert run_raw(loop, in_thread, client, handshake_timeout=0.2) == b""


# --- our client against raw servers -----------------------------------------------------

def raw_server(respond):
    """A one-connection server in a thread: ``respond(conn, key)`` answers the handshake."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve():
        try:
            conn, _ = listener.accept()
        finally:
            listener.close()
        with conn:
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return None
                head += chunk
            request = parse("request", [head], eof=False)[0]
            key = dict(request.headers)[b"Sec-WebSocket-Key"].decode()
            return respond(conn, key)

    return listener.getsockname()[1], serve


def client_against(loop, in_thread, respond, **kw):
    port, serve = raw_server(respond)
    rec: dict = {"errors": [], "messages": []}
    ws = connect(f"ws://127.0.0.1:{port}/", loop=loop, compression=None, **kw)
    ws.Error += lambda w, e: rec["errors"].append(e)
    ws.Connect += lambda w: rec.setdefault("connected", True)
    ws.Message += lambda w, d, t: rec["messages"].append(d)
    ws.Close += lambda w, c, r: rec.setdefault("close", (c, r))
    rec["server"] = in_thread.run(serve)
    return rec


def ok_head(key, extra=""):
    return (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept_key(key)}\r\n"
            f"{extra}\r\n").encode()


@pytest.mark.parametrize("head", [
    lambda key: ok_head("AAAAAAAAAAAAAAAAAAAAAA=="),                 # wrong accept
    lambda key: ok_head(key, "Sec-WebSocket-Protocol: nope\r\n"),     # not offered
    lambda key: ok_head(key, "Sec-WebSocket-Extensions: x-foo\r\n"),  # not offered
    lambda key: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    lambda key: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
])
def test_client_rejects_bad_responses(loop, in_thread, head):
    def respond(conn, key):
        conn.sendall(head(key))
        return recv_all(conn)

    rec = client_against(loop, in_thread, respond)
    assert "connected" not in rec
    assert len(rec["errors"]) == 1 and isinstance(rec["errors"][0], HandshakeError)
    assert rec["close"][0] == 1006


def test_client_frames_and_close_timeout(loop, in_thread):
    """A server that sends a message with the 101, then answers our close frame but never
    closes TCP: the client closes it itself after close_timeout."""
    def respond(conn, key):
        conn.sendall(ok_head(key) + Codec().send("with the head"))
        data = b""
        codec = Codec()
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return data
            data += chunk
            for kind, value in codec.feed(chunk):
                if kind == CLOSE:
                    conn.sendall(Codec().close(value[0]))

    port, serve = raw_server(respond)
    ws = connect(f"ws://127.0.0.1:{port}/", loop=loop, compression=None, close_timeout=0.2)
    got = []
    ws.Message += lambda w, d, t: (got.append(d), w.close(1000, "bye"))
    ws.Close += lambda w, c, r: got.append((c, r))
    sent = in_thread.run(serve)
    assert got == ["with the head", (1000, "")]
    assert [k for k, _ in Codec().feed(sent)] == [CLOSE]
    assert sent[1] & 0x80                                # masked: we are the client


def test_connect_refused_and_bad_urls(loop, runner):
    with pytest.raises(ValueError):
        connect("http://127.0.0.1/", loop=loop)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    errors, closes = [], []
    ws = connect(f"ws://127.0.0.1:{port}/", loop=loop)
    ws.Error += lambda w, e: errors.append(e)
    ws.Close += lambda w, c, r: closes.append(c)
    runner.run(loop)
    assert isinstance(errors[0], ConnectionRefusedError) and closes == [1006]


# --- wss ------------------------------------------------------------------------------

def test_wss(loop, runner):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    got = []
    server = WebSocketServer(echo, "127.0.0.1", 0, loop=loop, ssl_context=server_ctx)
    ws = connect(f"wss://localhost:{server.port}/", loop=loop, ssl_context=client_ctx)
    ws.Connect += lambda w: w.send("secure")
    ws.Message += lambda w, d, t: (got.append(d), w.close())
    ws.Close += lambda w, c, r: (got.append(c), server.close(close_connections=True))
    runner.run(loop, timeout=10)
    assert got == ["secure", 1000]


def test_loop_timer_free_after_close(loop, runner):
    """Every timer the connection used (remainder delivery, close timeout) is closed."""
    server, ws, rec = open_pair(loop)
    ws.Connect += lambda w: w.close()
    runner.run(loop)
    assert not [h for h in loop.handles if not h.closed and isinstance(h, uv.Timer)]

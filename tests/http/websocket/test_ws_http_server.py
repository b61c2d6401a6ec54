"""WebSocket on sourcey.http's Server: ``handler`` routes upgrade requests, ``accept``
takes the connection over with ``response.upgrade``, ``reject`` refuses with a status;
plain requests still get HTTP."""

from __future__ import annotations

import base64
import os
import socket

import pytest

from sourcey.http import Server, parse
from sourcey.http.websocket import accept, connect, handler
from sourcey.http.websocket._frame import CLOSE, TEXT, Codec

websockets = pytest.importorskip("websockets", reason="the websockets package is absent")
from websockets.sync.client import connect as ws_connect  # noqa: E402


def app(request, response):
    response.headers["Content-Type"] = "text/plain"
    response.end(b"plain HTTP")


def echo(ws):
    ws.Message += lambda w, d, t: w.send(d)


def serve(loop, handle):
    server = Server(handle, loop=loop)
    _, port = server.listen("127.0.0.1", 0)
    return server, port


def test_handler_routes_upgrades_and_plain_requests(loop, in_thread):
    seen = []

    def on_connect(ws):
        seen.append((ws.request.path, ws.protocol))
        echo(ws)

    server, port = serve(loop, handler(on_connect, app, protocol=["chat"]))

    def client():
        import urllib.request
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/page", timeout=5).read()
        with ws_connect(f"ws://127.0.0.1:{port}/ws", subprotocols=["chat"],
                        compression="deflate") as w:
            w.send("héllo")
            text = w.recv(timeout=5)
            w.send(b"\x00" * 100_000)
            binary = w.recv(timeout=5)
        return body, text, binary

    body, text, binary = in_thread.run(client, after=server.close)
    assert body == b"plain HTTP" and text == "héllo" and binary == b"\x00" * 100_000
    assert seen == [("/ws", "chat")]


def test_our_client_on_http_server_with_early_frames(loop, in_thread):
    """The client's first frames may arrive with the request head (the remainder)."""
    server, port = serve(loop, handler(echo))
    key = base64.b64encode(os.urandom(16))
    c = Codec(client=True)
    data = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
            + c.send("early") + c.close(1000))

    def client():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    out = in_thread.run(client, after=server.close)
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    assert Codec(client=True).feed(rest) == [(TEXT, "early"), (CLOSE, (1000, ""))]


def test_connect_to_http_server(loop, runner):
    got = []
    server, port = serve(loop, handler(echo))
    ws = connect(f"ws://127.0.0.1:{port}/", loop=loop)
    ws.Connect += lambda w: w.send("over http.Server")
    ws.Message += lambda w, d, t: (got.append(d), w.close())
    ws.Close += lambda w, c, r: (got.append(c), server.close())
    runner.run(loop)
    assert got == ["over http.Server", 1000]


@pytest.mark.parametrize("headers,status", [
    ({"Sec-WebSocket-Version": "8"}, 426),
    ({"Sec-WebSocket-Key": "short"}, 400),
    ({"Origin": "https://evil.example"}, 403),
    ({"Upgrade": "h2c"}, 426),                      # not WebSocket: no fallback given
])
def test_rejections(loop, in_thread, headers, status):
    server, port = serve(loop, handler(echo, origins=["https://good.example", None]))
    fields = {"Host": "x", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
              "Sec-WebSocket-Version": "13", **headers}
    data = ("GET / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
            + "Content-Length: 0\r\n\r\n").encode()

    def client():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    response = parse("response", [in_thread.run(client, after=server.close)])[0]
    assert response.status == status
    if status == 426 and headers.get("Upgrade") != "h2c":
        assert (b"Sec-WebSocket-Version", b"13") in response.headers


def test_accept_in_own_handler(loop, runner):
    got = []

    def handle(request, response):
        ws = accept(request, response, compression=None)
        ws.Message += lambda w, d, t: w.close(4001, d)

    server, port = serve(loop, handle)
    ws = connect(f"ws://127.0.0.1:{port}/", loop=loop)
    ws.Connect += lambda w: w.send("bye")
    ws.Close += lambda w, c, r: (got.append((c, r, w.deflate)), server.close())
    runner.run(loop)
    assert got == [(4001, "bye", None)]

"""Interop with other implementations: the websockets package and Node's ws, each as
client against our server and as server for our client."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

import pytest

from sourcey.http.websocket import Deflate, WebSocketServer, connect

websockets = pytest.importorskip("websockets", reason="the websockets package is absent")
from websockets.sync.client import connect as ws_connect  # noqa: E402
from websockets.sync.server import serve as ws_serve  # noqa: E402

NODE = shutil.which("node")
NODE_PATH = os.environ.get("NODE_PATH", "/usr/share/nodejs")
HAS_NODE_WS = NODE is not None and os.path.isdir(os.path.join(NODE_PATH, "ws"))
needs_node_ws = pytest.mark.skipif(not HAS_NODE_WS,
                                   reason="node or Debian's node-ws (NODE_PATH) is absent")

MESSAGES = ["hello", "", "ünïcödé ✓" * 100, b"\x00\x01\x02", b"", os.urandom(200_000),
            "x" * 70_000]


def echo_server(loop, **kw):
    def on_connect(ws):
        ws.Message += lambda w, d, t: w.send(d)

    return WebSocketServer(on_connect, loop=loop, **kw)


# --- websockets as client ---------------------------------------------------------------

@pytest.mark.parametrize("compression", ["deflate", None])
def test_websockets_client(loop, in_thread, compression):
    server = echo_server(loop, protocols=["chat"])
    closes = []
    server.Connect += lambda ws: ws.Close.attach(lambda w, c, r: closes.append((c, r)))

    def client():
        with ws_connect(f"ws://127.0.0.1:{server.port}/", compression=compression,
                        subprotocols=["other", "chat"], max_size=None) as w:
            assert w.subprotocol == "chat"
            echoed = []
            for m in MESSAGES:
                w.send(m)
                echoed.append(w.recv(timeout=5))
            w.ping(b"ping").wait(5)
            w.close(4001, "bye")
            return echoed, w.response.headers.get("Sec-WebSocket-Extensions")

    echoed, extensions = in_thread.run(client, after=lambda: server.close(True))
    assert echoed == MESSAGES
    assert (extensions is not None) == (compression is not None)
    assert closes == [(4001, "bye")]


def test_websockets_client_sees_1009(loop, in_thread):
    server = echo_server(loop, max_message=1024)

    def client():
        with ws_connect(f"ws://127.0.0.1:{server.port}/") as w:
            w.send(b"x" * 2000)
            try:
                w.recv(timeout=5)
            except websockets.ConnectionClosedError as exc:
                return exc.rcvd.code
        return None

    assert in_thread.run(client, after=lambda: server.close(True)) == 1009


# --- websockets as server ---------------------------------------------------------------

def websockets_echo_server(**kw):
    """A websockets echo server in a thread; returns (port, stop)."""
    def handler(conn):
        try:
            for message in conn:
                conn.send(message)
        except websockets.ConnectionClosed:
            pass

    server = ws_serve(handler, "127.0.0.1", 0, max_size=None, **kw)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        thread.join(5)

    return server.socket.getsockname()[1], stop


@pytest.mark.parametrize("compression", [Deflate(), None, Deflate(
    server_no_context_takeover=True, client_no_context_takeover=True,
    server_max_window_bits=11, client_max_window_bits=10)])
def test_our_client_against_websockets(loop, runner, compression):
    port, stop = websockets_echo_server()
    got, closes = [], []
    try:
        ws = connect(f"ws://127.0.0.1:{port}/", loop=loop, compression=compression)

        def opened(w):
            for m in MESSAGES:
                w.send(m)

        def on_message(w, data, is_text):
            got.append(data)
            if len(got) == len(MESSAGES):
                w.close(1000, "done")

        ws.Connect += opened
        ws.Message += on_message
        ws.Close += lambda w, c, r: closes.append(c)
        runner.run(loop, timeout=20)
    finally:
        stop()
    assert got == MESSAGES and closes == [1000]
    assert (ws.deflate is None) == (compression is None)


def test_our_client_subprotocol_with_websockets(loop, runner):
    port, stop = websockets_echo_server(subprotocols=["b", "a"])
    try:
        ws = connect(f"ws://127.0.0.1:{port}/", loop=loop, protocols=["a", "b"])
        ws.Connect += lambda w: w.close()
        runner.run(loop)
    finally:
        stop()
    assert ws.protocol in ("a", "b")


# --- Node's ws ------------------------------------------------------------------------

NODE_CLIENT = r"""
const WebSocket = require('ws');
const msgs = ['hello', 'ünïcödé ✓'.repeat(50), Buffer.alloc(100000, 7), ''];
const ws = new WebSocket(process.argv[1], {perMessageDeflate: true});
const got = [];
ws.on('open', () => msgs.forEach((m) => ws.send(m)));
ws.on('message', (data, isBinary) => {
  got.push(isBinary ? 'bin:' + data.length : 'txt:' + data.toString());
  if (got.length === msgs.length) ws.close(1000, 'node done');
});
ws.on('close', (code) => { console.log(JSON.stringify({got, code,
  ext: ws.extensions})); });
ws.on('error', (e) => { console.error(String(e)); process.exit(1); });
"""

NODE_SERVER = r"""
const WebSocket = require('ws');
const wss = new WebSocket.Server({host: '127.0.0.1', port: 0, perMessageDeflate: true});
wss.on('listening', () => console.log(wss.address().port));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary}));
  ws.on('close', (code) => { console.log('closed ' + code); wss.close(); });
});
"""


@needs_node_ws
def test_node_ws_client(loop, in_thread):
    import json

    server = echo_server(loop)

    def client():
        out = subprocess.run([NODE, "-e", NODE_CLIENT, f"ws://127.0.0.1:{server.port}/"],
                             env={**os.environ, "NODE_PATH": NODE_PATH},
                             capture_output=True, text=True, timeout=15)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    result = in_thread.run(client, after=lambda: server.close(True))
    assert result["got"] == ["txt:hello", "txt:" + "ünïcödé ✓" * 50, "bin:100000", "txt:"]
    assert result["code"] == 1000 and "permessage-deflate" in result["ext"]


@needs_node_ws
def test_our_client_against_node_ws(loop, runner):
    proc = subprocess.Popen([NODE, "-e", NODE_SERVER],
                            env={**os.environ, "NODE_PATH": NODE_PATH},
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        got, closes = [], []
        ws = connect(f"ws://127.0.0.1:{port}/", loop=loop)

        def opened(w):
            for m in MESSAGES:
                w.send(m)

        def on_message(w, data, is_text):
            got.append(data)
            if len(got) == len(MESSAGES):
                w.close(1000)

        ws.Connect += opened
        ws.Message += on_message
        ws.Close += lambda w, c, r: closes.append(c)
        runner.run(loop, timeout=20)
        assert proc.stdout.readline().strip() == "closed 1000"
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert got == MESSAGES and closes == [1000] and ws.deflate is not None

"""sourcey.http.Response: ``write_queue_size``, ``closed`` and ``abort()``, what a
streaming producer needs to keep a slow or departed client from holding it up."""

from __future__ import annotations

import socket
import threading

from test_server import serve

from sourcey import uv

CHUNK = b"x" * 65536


def test_write_queue_size_grows_while_the_client_does_not_read_and_abort_cuts_it(loop, runner):
    state = {}
    aborted = threading.Event()

    def pump(timer):
        response = state["response"]
        for _ in range(8):
            response.write(CHUNK)
            state["written"] += len(CHUNK)
            if response.write_queue_size >= 1 << 20:
                state["queued"] = response.write_queue_size
                response.abort()
                timer.close()
                aborted.set()
                return
        assert state["written"] < 512 << 20, "the queue never grew"

    def handler(request, response):
        response.write(b"first")            # inside the handler: in the server's buffer
        state["in_handler"] = response.write_queue_size
        state["response"] = response
        state["written"] = 5
        uv.Timer(loop).start(pump, 0.001, 0.001)

    def client(port):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            assert aborted.wait(10)
            got = []
            try:
                while chunk := s.recv(1 << 20):
                    got.append(chunk)
            except ConnectionResetError:
                pass
        return b"".join(got)

    data = serve(loop, runner, handler, client, timeout=20)
    response = state["response"]
    assert state["in_handler"] >= len(b"5\r\nfirst\r\n")
    assert state["queued"] >= 1 << 20
    assert response.closed and response.finished
    assert response.write_queue_size == 0
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(data) < state["written"]     # cut: the queued rest never went out
    assert not data.endswith(b"0\r\n\r\n")
    response.abort()                        # once gone: nothing to do


def test_closed_turns_true_when_the_client_goes_away(loop, runner):
    state = {"ticks": 0}
    first = threading.Event()

    def tick(timer):
        response = state["response"]
        if response.closed:
            state["ticks_after"] = state["ticks"]
            timer.close()
            return
        state["ticks"] += 1
        response.write(b"tick\n")
        first.set()

    def handler(request, response):
        assert not response.closed
        state["response"] = response
        uv.Timer(loop).start(tick, 0.002, 0.002)

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n")
            assert first.wait(5)
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")

    serve(loop, runner, handler, client)
    response = state["response"]
    assert response.closed and not response.finished
    assert response.write_queue_size == 0
    assert "ticks_after" in state


def test_write_queue_size_counts_output_held_behind_an_earlier_response(loop, runner):
    responses = []

    def handler(request, response):
        responses.append(response)
        if request.path == "/second":
            response.write(b"y" * 100_000)  # held: /first has not ended
            response.write(b"z" * 10)
            assert response.write_queue_size >= 100_010
            responses[0].end(b"first done")
            response.end()

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        return got

    data = serve(loop, runner, handler, client)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert b"first done" in data and data.endswith(b"0\r\n\r\n")

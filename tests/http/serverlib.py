"""Helpers for the sourcey.http.Server tests: serve a handler on loopback while a client
runs in a thread, and raw-socket clients. The loop runs in the test thread, bounded by
the runner's timeout; the client, when done, wakes it (Async) to close the server."""

from __future__ import annotations

import socket
import threading

from sourcey import uv
from sourcey.http import Server, parse


def serve(loop, runner, handler, client, timeout=20.0, server_box=None, setup=None,
          host="127.0.0.1", **options):
    """Serve ``handler`` (a Server made with ``options``) on a ``host`` port and run
    ``client(port)`` in a thread; return its result (or raise its exception) once the
    server has closed and, unless ``server_box`` is given to receive the server, all its
    connections too. ``setup(server)``, if given, runs in the loop thread before the
    client starts (to make handles the handler needs)."""
    server = Server(handler, loop=loop, **options)
    _, port = server.listen(host, 0)
    if server_box is not None:
        server_box.append(server)
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
    if server_box is None:
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


def responses(data):
    return parse("response", [data])


def hello(request, response):
    response.headers["Content-Type"] = "text/plain"
    response.end(b"Hello, world!")


def echo_path(request, response):
    response.end(request.path.encode())

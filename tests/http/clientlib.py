"""Helpers for the sourcey.http.Client tests: a request that waits for its answer, and a
raw loopback server that answers with whatever bytes a test crafts."""

from __future__ import annotations

from sourcey import uv


def fetch(loop, runner, client, method, url, timeout=5.0, **options):
    """Send one request and run the loop until its callback; returns (response, error)."""
    box = []
    client.request(method, url, callback=lambda r, e: box.append((r, e)), **options)
    runner.until(loop, lambda: box, timeout)
    assert len(box) == 1
    return box[0]


def finish(loop, runner, *closables):
    """Close clients and servers, and let the loop run their closes to the end."""
    for c in closables:
        c.close()
    runner.run(loop, 5.0)


class RawConn:
    """One accepted connection of a RawServer: ``data`` holds what the client sent."""

    def __init__(self, server, tcp):
        self.server = server
        self.tcp = tcp
        self.data = b""
        self.eof = False

    def write(self, data):
        if not self.tcp.closed:
            self.tcp.write(data)

    def close(self):
        if not self.tcp.closed:
            self.tcp.close()

    def _read(self, handle, data, error):
        if data is None:
            self.eof = True
            self.close()
            return
        self.data += data
        self.server.on_data(self, data)


class RawServer:
    """A loopback TCP server whose ``on_data(conn, data)`` answers by hand: a test sends
    crafted responses with it, broken ones included. ``conns`` lists every connection."""

    def __init__(self, loop, on_data):
        self.loop = loop
        self.on_data = on_data
        self.conns = []
        self.listener = uv.TCP(loop)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(self._accept)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _accept(self, listener, error):
        tcp = uv.TCP(self.loop)
        listener.accept(tcp)
        conn = RawConn(self, tcp)
        self.conns.append(conn)
        tcp.start_read(conn._read)

    def close(self):
        self.listener.close()
        for conn in self.conns:
            conn.close()


def reply_once(response, close=False):
    """An on_data that answers each complete request head with ``response``."""

    def on_data(conn, data):
        while b"\r\n\r\n" in conn.data:
            _, _, conn.data = conn.data.partition(b"\r\n\r\n")
            conn.write(response)
            if close:
                conn.close()
                return

    return on_data

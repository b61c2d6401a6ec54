"""Echo server on sourcey's raw libuv handles, written against the pyuv API.

    python sourcey_echo.py --proto tcp|udp --port P [--host H]

This is what the binding costs on top of plain C libuv (benchmarks/c/uv_echo_server.c):
the same event loop, one Python callback per read. Nothing is printed on the hot path.
SIGTERM and SIGINT close every handle and stop the loop.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_uv():
    """sourcey.uv from the environment, else from an in-place build in the checkout."""
    try:
        from sourcey import uv

        uv.Loop  # noqa: B018 - a source tree without the built module has no Loop
        return uv
    except (ImportError, AttributeError):
        pass
    sys.path.insert(0, ROOT)
    for name in [m for m in sys.modules if m == "sourcey" or m.startswith("sourcey.")]:
        del sys.modules[name]
    try:
        from sourcey import uv

        uv.Loop  # noqa: B018
        return uv
    except (ImportError, AttributeError) as exc:
        sys.exit(f"sourcey_echo: sourcey.uv is not built or not importable: {exc!r}")


uv = import_uv()


def serve_tcp(loop, host: str, port: int) -> list:
    conns: set = set()

    def on_close(client):
        conns.discard(client)

    def on_read(client, data, error):
        if data is None:
            client.close(on_close)
            return
        client.write(data)

    def on_connection(server, error):
        if error is not None:
            return
        client = uv.TCP(loop)
        server.accept(client)
        client.nodelay(True)
        conns.add(client)
        client.start_read(on_read)

    server = uv.TCP(loop)
    server.bind((host, port))
    server.listen(on_connection, 511)

    def close_all():
        for client in list(conns):
            client.close(on_close)
        server.close()

    return [close_all]


def serve_udp(loop, host: str, port: int) -> list:
    def on_recv(handle, addr, flags, data, error):
        if data:
            handle.send(addr, data)  # tried at once; queued only if the socket is full

    udp = uv.UDP(loop)
    udp.bind((host, port))
    udp.start_recv(on_recv)
    return [udp.close]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proto", choices=("tcp", "udp"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    loop = uv.Loop.default_loop()
    closers = (serve_tcp if args.proto == "tcp" else serve_udp)(loop, args.host, args.port)
    signals = []

    def on_signal(handle, signum):
        for close in closers:
            close()
        for sig in signals:
            sig.close()
        loop.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        sig = uv.Signal(loop)
        sig.start(on_signal, signum)
        signals.append(sig)
    loop.run()


if __name__ == "__main__":
    main()

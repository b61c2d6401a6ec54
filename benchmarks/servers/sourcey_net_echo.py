"""Echo server on sourcey.net's sockets and signals, written the way a user would.

    python sourcey_net_echo.py --proto tcp --port P [--host H]
    python sourcey_net_echo.py --proto tls --port P --cert CERT --key KEY [--host H]

TCP: a listening TCPSocket; each AcceptConnection gets a Recv slot that sends the data
back. TLS: the same slots on an SSLServer's SSLSockets. The cost over
``sourcey_echo.py`` (raw sourcey.uv handles) is what the socket layer adds: the signal
dispatch, the watermark bookkeeping in ``send``, and for TLS the encryption through
``ssl.MemoryBIO``. Nothing is printed on the hot path. SIGTERM and SIGINT close the
listener and every connection; the loop then ends by itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import ssl
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_net():
    """sourcey.uv and sourcey.net from the environment, else from an in-place build."""
    try:
        from sourcey import net, uv

        return uv, net
    except ImportError:
        pass
    sys.path.insert(0, ROOT)
    for name in [m for m in sys.modules if m == "sourcey" or m.startswith("sourcey.")]:
        del sys.modules[name]
    try:
        from sourcey import net, uv

        return uv, net
    except ImportError as exc:
        sys.exit(f"sourcey_net_echo: sourcey.net is not built or not importable: {exc!r}")


uv, net = import_net()


def on_recv(sock, data, peer) -> None:
    sock.send(data)


def serve(loop, proto: str, host: str, port: int, cert: str | None, key: str | None):
    """Start listening; returns a function that closes the listener and connections."""
    conns: set = set()

    def on_accept(sock) -> None:
        conns.add(sock)  # the listener keeps no reference: the application does
        sock.Recv.attach(on_recv)
        sock.Close.attach(conns.discard)

    if proto == "tcp":
        listener = net.TCPSocket(loop)
        listener.AcceptConnection.attach(on_accept)
        listener.bind(host, port)
        listener.listen(511)
        close_listener = listener.close
    else:
        try:
            from sourcey.net import SSLServer
        except ImportError as exc:
            sys.exit(f"sourcey_net_echo: sourcey.net has no SSLServer yet: {exc!r}")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = SSLServer(host, port, on_accept, context=context, loop=loop)
        close_listener = server.close

    def close_all() -> None:
        close_listener()
        for sock in list(conns):
            sock.close()

    return close_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proto", choices=("tcp", "tls"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cert", help="PEM certificate chain (tls)")
    parser.add_argument("--key", help="PEM private key (tls)")
    args = parser.parse_args()
    if args.proto == "tls" and not (args.cert and args.key):
        parser.error("--proto tls needs --cert and --key")

    loop = uv.Loop.default_loop()
    close_all = serve(loop, args.proto, args.host, args.port, args.cert, args.key)
    signals = []

    def on_signal(handle, signum) -> None:
        close_all()
        for sig in signals:
            sig.close()

    for signum in (signal.SIGTERM, signal.SIGINT):
        sig = uv.Signal(loop)
        sig.start(on_signal, signum)
        signals.append(sig)
    loop.run()


if __name__ == "__main__":
    main()

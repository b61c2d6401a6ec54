"""TCP (or TLS) echo server on sourcey.net's sockets and signals.

    python examples/net_echo.py --port 9000
    python examples/net_echo.py --port 9443 --tls --cert cert.pem --key key.pem

A throwaway certificate for trying --tls:

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \\
        -keyout key.pem -out cert.pem -days 1 -subj /CN=localhost
    openssl s_client -connect 127.0.0.1:9443 -quiet      # type lines, see them back

Each connection's Recv slot sends the data back. When send() returns False the
connection's write queue is above its high watermark (the peer is not reading its
echoes): the server stops reading from that peer, and resumes on Drain, so a client
cannot make the server buffer without limit. Ctrl-C (or SIGTERM) closes the listener and
every connection; the loop then ends by itself.
"""

from __future__ import annotations

import argparse
import signal
import ssl
import sys

from sourcey import net, uv


def serve(loop: uv.Loop, args: argparse.Namespace) -> net.TCPServer:
    def on_recv(sock, data: bytes, peer) -> None:
        if not sock.send(data):
            sock.pause_reading()  # the peer is behind on its echoes: stop taking more

    def on_drain(sock) -> None:
        sock.resume_reading()

    def on_error(sock, exc: BaseException) -> None:
        if not isinstance(exc, net.PeerClosedError):  # the peer hanging up is no error
            print(f"{sock.peer_address}: {exc}")

    def on_close(sock) -> None:
        print(f"{sock.peer_address}: closed")

    def on_secure(sock) -> None:  # TLS: Connect comes once the handshake has completed
        print(f"{sock.peer_address}: {sock.version()}, {sock.cipher()[0]}")

    def on_accept(sock) -> None:
        print(f"{sock.peer_address}: connected")
        if args.tls:
            sock.Connect.attach(on_secure)
        sock.Recv.attach(on_recv)
        sock.Drain.attach(on_drain)
        sock.Error.attach(on_error)
        sock.Close.attach(on_close)

    if not args.tls:
        return net.TCPServer(args.host, args.port, on_accept, loop=loop)
    try:
        from sourcey.net import SSLServer
    except ImportError:
        sys.exit("net_echo: this sourcey has no sourcey.net.SSLServer; run without --tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    return SSLServer(args.host, args.port, on_accept, context=context, loop=loop)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--tls", action="store_true", help="TLS echo (needs --cert and --key)")
    ap.add_argument("--cert", help="PEM certificate chain, for --tls")
    ap.add_argument("--key", help="PEM private key, for --tls")
    args = ap.parse_args()
    if args.tls and not (args.cert and args.key):
        ap.error("--tls needs --cert and --key")

    loop = uv.Loop.default_loop()
    try:
        server = serve(loop, args)
    except OSError as exc:
        sys.exit(f"net_echo: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing {len(server.connections)} "
              f"connection(s)")
        server.close(close_connections=True)

    uv.close_on_signals(loop, on_signal=on_signal)
    kind = "TLS" if args.tls else "TCP"
    print(f"{kind} echo server on {server.address}; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

"""Echo server on asyncio (or uvloop): Protocol / DatagramProtocol, nothing else.

    python asyncio_echo.py --loop asyncio|uvloop --proto tcp|udp --port P [--host H]
    python asyncio_echo.py --loop asyncio|uvloop --proto tls --port P --cert C --key K

TLS is the same Protocol on ``create_server(ssl=context)``: the loop's own TLS layer
(asyncio's sslproto, uvloop's) over ssl.MemoryBIO.

SIGTERM and SIGINT stop the loop and close the server.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import ssl


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)


class EchoDatagramProtocol(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


async def serve(proto: str, host: str, port: int, context: ssl.SSLContext | None) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if proto in ("tcp", "tls"):
        server = await loop.create_server(EchoProtocol, host, port, backlog=511, ssl=context)
        try:
            await stop
        finally:
            server.close()
    else:
        transport, _ = await loop.create_datagram_endpoint(
            EchoDatagramProtocol, local_addr=(host, port))
        try:
            await stop
        finally:
            transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--proto", choices=("tcp", "udp", "tls"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cert", help="PEM certificate chain (tls)")
    parser.add_argument("--key", help="PEM private key (tls)")
    args = parser.parse_args()
    context = None
    if args.proto == "tls":
        if not (args.cert and args.key):
            parser.error("--proto tls needs --cert and --key")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    if args.loop == "uvloop":
        import uvloop

        runner = uvloop.run
    else:
        runner = asyncio.run
    runner(serve(args.proto, args.host, args.port, context))


if __name__ == "__main__":
    main()

"""A STUN server that tells clients their public address (RFC 8489 Binding), over UDP
and TCP on IPv4 and IPv6, with a client that asks it once.

    python examples/stun_server.py                       # serve on 127.0.0.1 and ::1
    python examples/stun_server.py --ask 127.0.0.1:3478  # ask a STUN server
    turnutils_stunclient 127.0.0.1                       # or coturn's client

The server is ``sourcey.stun.Server``; the client below is the sans-IO codec
(``stun.Message`` / ``stun.decode``) over a sourcey.net UDPSocket.
"""

from __future__ import annotations

import argparse
import sys

from sourcey import stun, uv
from sourcey.net import Address, UDPSocket


def serve(port: int) -> None:
    loop = uv.Loop.default_loop()
    server = stun.Server(loop, software="sourcey example")
    for host in ("127.0.0.1", "::1"):
        for transport in ("udp", "tcp"):
            try:
                print(f"{transport} {server.listen(host, port, transport=transport)}")
            except OSError as exc:       # no IPv6 here, say
                print(f"{transport} {host}: {exc}", file=sys.stderr)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        loop.run(uv.UV_RUN_NOWAIT)
        print(server.stats)


def ask(server: Address, timeout: float = 3.0) -> int:
    loop = uv.Loop.default_loop()
    sock = UDPSocket(loop)
    sock.bind("::" if ":" in server.host else "0.0.0.0", 0)
    request = stun.Message(stun.BINDING)
    answer: list[stun.Message] = []

    def received(s: UDPSocket, data: bytes, peer: Address) -> None:
        try:
            reply = stun.decode(data)
        except stun.DecodeError:
            return
        if reply.transaction_id == request.transaction_id:
            answer.append(reply)
            s.close()
            timer.close()

    def timed_out(t: uv.Timer) -> None:
        t.close()
        sock.close()

    sock.Recv += received
    timer = uv.Timer(loop)
    timer.start(timed_out, timeout)
    sock.send(request.encode(fingerprint=True), server)
    loop.run()
    if not answer:
        print(f"no answer from {server} in {timeout} s", file=sys.stderr)
        return 1
    reply = answer[0]
    if reply.cls == stun.ERROR:
        print(f"error {reply.get(stun.ERROR_CODE)}", file=sys.stderr)
        return 1
    print(f"my address, as {server} sees it: {reply.get(stun.XOR_MAPPED_ADDRESS)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=3478)
    parser.add_argument("--ask", type=Address.parse, metavar="HOST:PORT",
                        help="ask this STUN server instead of serving")
    args = parser.parse_args()
    if args.ask is not None:
        return ask(args.ask)
    serve(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

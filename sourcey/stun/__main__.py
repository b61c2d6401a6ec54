"""``python -m sourcey.stun``: a STUN server (Binding over UDP, TCP and TLS).

    python -m sourcey.stun --listen 127.0.0.1:3478 --listen [::1]:3478 --tcp
    python -m sourcey.stun --listen 0.0.0.0:5349 --tls-cert cert.pem --tls-key key.pem

Each ``--listen`` address is served over UDP, and over TCP too with ``--tcp``; with a
certificate, over TLS instead of UDP and TCP. Stops on Ctrl-C (the stats are logged).
"""

from __future__ import annotations

import argparse
import logging
import ssl
import sys

from sourcey import uv
from sourcey.net import Address

from .server import Server

log = logging.getLogger("sourcey.stun")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sourcey.stun", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", action="append", type=Address.parse, metavar="HOST:PORT",
                        help="an address to serve on (repeatable; default 0.0.0.0:3478)")
    parser.add_argument("--tcp", action="store_true", help="serve over TCP as well as UDP")
    parser.add_argument("--tls-cert", help="certificate chain (PEM): serve over TLS")
    parser.add_argument("--tls-key", help="its private key (PEM)")
    parser.add_argument("--software", default="sourcey", help="the SOFTWARE attribute "
                        "('' to leave it out)")
    parser.add_argument("--no-fingerprint", action="store_true",
                        help="leave FINGERPRINT out of responses")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    if args.tls_key and not args.tls_cert:
        parser.error("--tls-key needs --tls-cert")
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    loop = uv.Loop.default_loop()
    server = Server(loop, software=args.software or None,
                    fingerprint=not args.no_fingerprint)
    try:
        for address in args.listen or [Address("0.0.0.0", 3478)]:
            if context is not None:
                transports = ["tls"]
            else:
                transports = ["udp", "tcp"] if args.tcp else ["udp"]
            for transport in transports:
                bound = server.listen(address.host, address.port, transport=transport,
                                      context=context)
                log.info("listening on %s/%s", bound, transport)
        loop.run()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.error("%s", exc)
        return 1
    finally:
        server.close()
        loop.run(uv.UV_RUN_NOWAIT)
        log.info("stats: %s", server.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

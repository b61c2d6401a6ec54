"""``python -m sourcey.turn``: a TURN server (UDP relays; clients over UDP, TCP, TLS).

    python -m sourcey.turn --listen 0.0.0.0:3478 --realm example.org --user alice:secret
    python -m sourcey.turn --listen 0.0.0.0:3478 --realm example.org --auth-secret S

Authentication is mandatory: give ``--user`` (repeatable) or ``--auth-secret`` (the TURN
REST API scheme, as coturn's use-auth-secret). Peers in private, loopback and
link-local ranges are refused unless ``--allow-peer`` lists them. Stats are logged every
``--stats-interval`` seconds and at exit (Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import ssl
import sys

from sourcey import uv
from sourcey.net import Address

from .auth import RestApiCredentials, StaticCredentials
from .server import TurnServer

log = logging.getLogger("sourcey.turn")


def _user(text: str) -> tuple[str, str]:
    name, sep, password = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"a user is name:password, not {text!r}")
    return name, password


def _ports(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        return int(low), int(high if sep else low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port range is LOW-HIGH, not {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sourcey.turn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", action="append", type=Address.parse, metavar="HOST:PORT",
                        help="serve on this address, UDP and TCP (repeatable; default "
                             "0.0.0.0:3478)")
    parser.add_argument("--tls-listen", action="append", type=Address.parse, default=[],
                        metavar="HOST:PORT", help="serve over TLS here (with --tls-cert)")
    parser.add_argument("--tls-cert", help="certificate chain (PEM)")
    parser.add_argument("--tls-key", help="its private key (PEM)")
    parser.add_argument("--realm", required=True)
    parser.add_argument("--user", action="append", type=_user, default=[],
                        metavar="NAME:PASSWORD", help="a user (repeatable)")
    parser.add_argument("--auth-secret", help="the TURN REST API shared secret")
    parser.add_argument("--relay-ip", action="append", metavar="IP",
                        help="address relays are bound on (repeatable, one per family; "
                             "default 127.0.0.1 and ::1)")
    parser.add_argument("--relay-ports", type=_ports, default=(49152, 65535),
                        metavar="LOW-HIGH")
    parser.add_argument("--allow-peer", action="append", default=[], metavar="CIDR",
                        help="let peers in this network through the default deny list")
    parser.add_argument("--max-allocations", type=int, default=1000)
    parser.add_argument("--user-quota", type=int, default=10)
    parser.add_argument("--bandwidth", type=float, metavar="BYTES_PER_SECOND",
                        help="limit each allocation's relayed traffic")
    parser.add_argument("--software", default="sourcey")
    parser.add_argument("--stats-interval", type=float, default=60.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if bool(args.user) == bool(args.auth_secret):
        parser.error("give --user (one or more) or --auth-secret")
    if bool(args.tls_listen) != bool(args.tls_cert):
        parser.error("--tls-listen and --tls-cert go together")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    credentials: StaticCredentials | RestApiCredentials = (
        RestApiCredentials(args.auth_secret) if args.auth_secret
        else StaticCredentials(dict(args.user)))

    loop = uv.Loop.default_loop()
    server = TurnServer(loop, realm=args.realm, credentials=credentials,
                        relay_hosts=args.relay_ip or ("127.0.0.1", "::1"),
                        relay_ports=args.relay_ports, software=args.software or None,
                        max_allocations=args.max_allocations, max_per_user=args.user_quota,
                        allowed_peers=args.allow_peer, bandwidth=args.bandwidth)
    stats = uv.Timer(loop)
    stats.start(lambda t: log.info("stats: %s, %d allocations live", server.stats,
                                   len(server.table)),
                args.stats_interval, args.stats_interval)
    stats.ref = False
    try:
        for address in args.listen or [Address("0.0.0.0", 3478)]:
            for transport in ("udp", "tcp"):
                bound = server.listen(address.host, address.port, transport=transport)
                log.info("listening on %s/%s", bound, transport)
        if args.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(args.tls_cert, args.tls_key)
            for address in args.tls_listen:
                bound = server.listen(address.host, address.port, transport="tls",
                                      context=context)
                log.info("listening on %s/tls", bound)
        loop.run()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.error("%s", exc)
        return 1
    finally:
        stats.close()
        server.close()
        loop.run(uv.UV_RUN_NOWAIT)
        log.info("stats: %s", server.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A TURN relay round trip in one process: a TurnServer on 127.0.0.1, an echo peer,
and a TurnClient that allocates a relay, binds a channel to the peer and sends
messages through it; each comes back the same way.

    python examples/turn_server.py --messages 5

For a standalone server: python -m sourcey.turn --realm example.org --user alice:pw
(loopback and private peers are refused unless --allow-peer lists them, as here).
"""

from __future__ import annotations

import argparse
import sys

from sourcey import turn, uv
from sourcey.net import Address, UDPSocket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--tcp", action="store_true", help="client to server over TCP")
    args = parser.parse_args()
    loop = uv.Loop.default_loop()
    transport = "tcp" if args.tcp else "udp"

    server = turn.TurnServer(loop, realm="example.org",
                             credentials=turn.StaticCredentials({"alice": "secret"}),
                             relay_hosts=["127.0.0.1"], allowed_peers=["127.0.0.0/8"])
    address = server.listen("127.0.0.1", 0, transport=transport)

    peer = UDPSocket(loop)      # echoes what the relay sends it
    peer.bind("127.0.0.1", 0)
    peer.Recv += lambda s, data, source: s.send(b"echo: " + data, source)
    peer_address = peer.address
    assert peer_address is not None

    client = turn.TurnClient(loop, address, "alice", "secret", transport=transport)
    replies: list[bytes] = []
    failed: list[BaseException] = []

    def finish() -> None:
        client.close()
        peer.close()

    def allocated(c: turn.TurnClient, relayed: Address) -> None:
        print(f"relayed address {relayed}, peer {peer_address}")

        def bound(reply: object, error: BaseException | None) -> None:
            if error is not None:
                failed.append(error)
                finish()
                return
            for i in range(args.messages):
                c.send(f"message {i}".encode(), peer_address)

        channel = c.bind_channel(peer_address, callback=bound)
        print(f"binding channel {channel:#06x}")

    def received(c: turn.TurnClient, data: bytes, source: Address) -> None:
        print(f"from {source}: {data.decode()}")
        replies.append(data)
        if len(replies) == args.messages:
            finish()

    def error(c: turn.TurnClient, exc: BaseException) -> None:
        failed.append(exc)
        peer.close()

    client.Allocated += allocated
    client.Recv += received
    client.Error += error
    client.Close += lambda c: server.close()
    client.allocate()
    loop.run()
    print(f"server stats: {server.stats}")
    if failed:
        print(f"failed: {failed[0]!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

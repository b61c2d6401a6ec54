"""TURN relay throughput: UDP relayed through a channel, client -> server -> peer and back.

``turn_load`` (benchmarks/c/turn_load.c) allocates with long-term credentials, binds
channel 0x4000 to its own echo peer on 127.0.0.1, then keeps ``inflight`` ChannelData
messages of ``size`` bytes of payload in flight; a round trip (client -> server ->
relay -> peer -> relay -> server -> client) is one message, so the server handles four
datagrams per message.

Servers: ``sourcey`` (sourcey.turn's command line: the relay path in C, see
sourcey/turn/_relay.pyx) and ``coturn`` (``turnserver`` with one relay thread, loopback
peers allowed), each with one static user, listening on 127.0.0.1.
"""

from __future__ import annotations

import os

from harness import Load, Server, Workload, executable


def turn_servers() -> dict[str, Server]:
    coturn = ["turnserver", "-n", "--relay-threads", "1", "--listening-ip", "{host}",
              "--listening-port", "{port}", "--relay-ip", "{host}", "--realm", "bench",
              "--user", "bench:bench", "--lt-cred-mech", "--allow-loopback-peers",
              "--no-tcp", "--no-tls", "--no-dtls", "--no-cli", "--no-stdout-log",
              "--log-file", os.devnull, "--min-port", "40000", "--max-port", "40999",
              "--pidfile", os.devnull]
    return {
        "sourcey": Server(["{python}", "{servers}/sourcey_turn.py", "--listen", "{host}:{port}",
                           "--realm", "bench", "--user", "bench:bench", "--relay-ip",
                           "{host}", "--relay-ports", "41000-41999", "--allow-peer",
                           "127.0.0.0/8", "--stats-interval", "86400"]),
        "coturn": Server(coturn, requires=executable("turnserver")),
    }


TURN_LOAD = Load(["{bin}/turn_load", "--host", "{host}", "--port", "{port}", "--user", "bench",
                  "--password", "bench", "--inflight", "{inflight}", "--size", "{size}",
                  "--duration", "{duration}", "--warmup", "{warmup}"])


WORKLOADS = [
    Workload(
        name="turn-channel-100",
        description="TURN relay, UDP through a channel, {size} B payloads, {inflight} in "
                    "flight, client -> server -> peer and back",
        proto="udp",
        servers=turn_servers(),
        load=TURN_LOAD,
        params={"size": "100", "inflight": "32"},
        reference="coturn",
        baseline="coturn",
    ),
]

"""Echo workloads: the cost of one read and one write through each implementation.

TCP: ``conns`` connections each send a ``size``-byte message and wait for all of it to come
back before sending the next (closed loop, TCP_NODELAY): the rate is messages per second.
UDP: ``inflight`` datagrams of ``size`` bytes are kept in flight; each echo sends the next
one, and a datagram not echoed within 200 ms counts as lost and is sent again.

Servers: ``c-libuv`` (benchmarks/c/uv_echo_server.c, the limit), ``sourcey`` (the pyuv API
of sourcey.uv), ``sourcey-net`` (TCP only: sourcey.net's TCPSocket and its signals),
``asyncio`` and ``uvloop`` (Protocol / DatagramProtocol), ``node``.
"""

from __future__ import annotations

from harness import Load, Server, Workload, executable, python_module


def echo_servers(proto: str) -> dict[str, Server]:
    py = ["{python}", "{servers}/asyncio_echo.py", "--proto", proto, "--port", "{port}",
          "--host", "{host}"]
    net = {}
    if proto == "tcp":  # sourcey.net's UDPSocket has no echo server here (yet)
        net["sourcey-net"] = Server(["{python}", "{servers}/sourcey_net_echo.py", "--proto",
                                     "tcp", "--port", "{port}", "--host", "{host}"])
    return {
        "c-libuv": Server(["{bin}/uv_echo_server", proto, "{port}", "{host}"]),
        "sourcey": Server(["{python}", "{servers}/sourcey_echo.py", "--proto", proto,
                           "--port", "{port}", "--host", "{host}"]),
        **net,
        "asyncio": Server([*py, "--loop", "asyncio"]),
        "uvloop": Server([*py, "--loop", "uvloop"], requires=python_module("uvloop")),
        "node": Server(["node", "{servers}/node_echo.js", proto, "{port}", "{host}"],
                       requires=executable("node")),
    }


TCP_LOAD = Load(["{bin}/tcp_echo_load", "--host", "{host}", "--port", "{port}",
                 "--conns", "{conns}", "--size", "{size}", "--duration", "{duration}",
                 "--warmup", "{warmup}"])

UDP_LOAD = Load(["{bin}/udp_echo_load", "--host", "{host}", "--port", "{port}",
                 "--inflight", "{inflight}", "--size", "{size}", "--sockets", "{sockets}",
                 "--duration", "{duration}", "--warmup", "{warmup}"])


def tcp_echo(name: str, size: int, quick: bool = False) -> Workload:
    return Workload(
        name=name,
        description="TCP echo, {size} B messages, {conns} connections, closed loop",
        proto="tcp",
        servers=echo_servers("tcp"),
        load=TCP_LOAD,
        params={"size": str(size), "conns": "10"},
        metric="msg/s",
        quick=quick,
    )


WORKLOADS = [
    tcp_echo("tcp-echo-1k", 1024, quick=True),
    tcp_echo("tcp-echo-10k", 10 * 1024),
    tcp_echo("tcp-echo-100k", 100 * 1024),
    Workload(
        name="udp-echo-100",
        description="UDP echo, {size} B datagrams, {inflight} in flight over {sockets} "
                    "socket(s), closed loop",
        proto="udp",
        servers=echo_servers("udp"),
        load=UDP_LOAD,
        # 10 in flight, as issue 2 states the bar. Every server reads one datagram per
        # recvmsg and echoes it at once: with recvmmsg, replies wait for the whole batch,
        # the client and server fall into lock-step bursts, and both sleep between them
        # (the C server ran at half the rate, and uvloop, which has no recvmmsg, ahead).
        params={"size": "100", "inflight": "10", "sockets": "1"},
        metric="dgram/s",
        unit="dgram",
        quick=True,
        totals=("lost",),
    ),
]

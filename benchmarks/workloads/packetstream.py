"""PacketStream throughput: packets from producer threads to a loop, in one process.

``producers`` threads write ``size``-byte packets through one processor to a sink on the
event loop's thread that counts them (benchmarks/servers/packetstream_pipeline.py). The
rate is packets counted per second; the latency is producer-to-sink (every 64th packet
carries its send time). ``errors`` counts packets written but never delivered (0).

Rows: ``sourcey`` (PacketStream + synchronize_output, the C queue), ``asyncio``
(``call_soon_threadsafe`` per packet) and ``asyncio-queue`` (the same into an
``asyncio.Queue``). The whole pipeline is the "server" (pinned to one CPU); the "load" is
a control client that only starts it and reads its result.
"""

from __future__ import annotations

from harness import Load, Server, Workload


def pipeline(impl: str) -> Server:
    return Server(["{python}", "{servers}/packetstream_pipeline.py", "--impl", impl,
                   "--host", "{host}", "--port", "{port}", "--producers", "{producers}",
                   "--size", "{size}", "--inflight", "{inflight}"])


WORKLOADS = [
    Workload(
        name="packetstream",
        description="PacketStream: {producers} producer threads, {size} B packets, one "
                    "processor, synchronised to a loop",
        proto="tcp",
        servers={name: pipeline(name) for name in ("sourcey", "asyncio", "asyncio-queue")},
        load=Load(["{python}", "{servers}/packetstream_client.py", "--host", "{host}",
                   "--port", "{port}", "--warmup", "{warmup}", "--duration", "{duration}"]),
        params={"producers": "4", "size": "256", "inflight": "1024"},
        metric="pkt/s",
        unit="pkt",
        reference="asyncio",
        baseline="asyncio-queue",
        totals=("errors",),
    ),
]

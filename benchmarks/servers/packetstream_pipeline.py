"""A packet pipeline for the packetstream workload: producer threads -> one processor ->
a sink on the event loop's thread that counts the packets.

    python packetstream_pipeline.py --impl sourcey --port 9000 [--producers 4 --size 256]

Implementations (``--impl``):

- ``sourcey``: a PacketStream; the producers call ``write`` (the processor runs on
  their thread), ``synchronize_output(loop)`` carries the packets to the loop's thread
  through the C queue (block policy: a full queue makes the producers wait).
- ``asyncio``: the producers run the same processor, then hand each packet to the loop
  with ``loop.call_soon_threadsafe(sink, packet)``.
- ``asyncio-queue``: as ``asyncio``, but through an ``asyncio.Queue``
  (``call_soon_threadsafe(queue.put_nowait, packet)``) that a task drains.

asyncio's handoff has no bound, so its producers pause (sleep) while more than
``--inflight`` packets are on the way, as sourcey's bounded queue (that capacity) does.

The port is a control channel: the client (packetstream_client.py) connects and sends a
JSON line ``{"warmup": s, "duration": s}``; the pipeline runs that long, sends
``#mark start`` / ``#mark end`` around the measured window and then one JSON line: the
sink's ``rate`` (packets per second in the window), ``messages``, the producer-to-sink
latency ``p50_us``/``p99_us`` (of every ``--sample``-th packet, which carries its send
time) and ``errors`` (packets written but never counted: must be 0).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import threading
import time

SAMPLE_EVERY = 64


def percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))] / 1000.0


class Run:
    """The counters both implementations share, read on the loop's thread."""

    def __init__(self, conn: socket.socket, producers: int, size: int) -> None:
        self.conn = conn
        self.payload = bytes(size)
        self.producers = producers
        self.stop = False
        self.written = [0] * producers
        self.count = 0
        self.measuring = False
        self.latencies: list[int] = []
        self.window: list[tuple[float, int]] = []

    def mark(self, what: str) -> None:
        self.window.append((time.perf_counter(), self.count))
        self.measuring = what == "start"
        if what == "end":
            self.stop = True
        self.conn.sendall(f"#mark {what}\n".encode())

    def report(self) -> None:
        (t0, c0), (t1, c1) = self.window
        lat = sorted(self.latencies)
        result = {"rate": (c1 - c0) / (t1 - t0), "messages": c1 - c0,
                  "p50_us": percentile(lat, 0.50), "p99_us": percentile(lat, 0.99),
                  "errors": sum(self.written) - self.count, "written": sum(self.written)}
        self.conn.sendall((json.dumps(result) + "\n").encode())


def run_sourcey(run: Run, warmup: float, duration: float, inflight: int) -> None:
    from sourcey import uv
    from sourcey.stream import FINAL, PacketProcessor, PacketStream

    class Forward(PacketProcessor):
        def process(self, packet):
            self.emit(packet)

    loop = uv.Loop()
    stream = PacketStream("bench")
    stream.attach(Forward())
    stream.synchronize_output(loop, capacity=inflight)
    clock = time.perf_counter_ns

    def sink(packet):
        run.count += 1
        info = packet.info
        if info is not None and run.measuring:
            run.latencies.append(clock() - info)
        if packet.flags & FINAL:
            run.count -= 1  # the end marker is not a packet of the load
            stream.close()

    stream.emitter += sink
    stream.start()

    def produce(index: int) -> None:
        write, payload, n = stream.write, run.payload, 0
        while not run.stop:
            for _ in range(SAMPLE_EVERY - 1):
                write(payload)
            write(payload, 0, clock())
            n += SAMPLE_EVERY
        run.written[index] = n

    def finish(threads: list[threading.Thread]) -> None:
        for t in threads:
            t.join()
        stream.write(b"", FINAL)  # after every producer's packets: the last one delivered

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(run.producers)]
    timers = [uv.Timer(loop), uv.Timer(loop)]
    timers[0].start(lambda t: (t.close(), run.mark("start")), warmup)
    timers[1].start(lambda t: (t.close(), run.mark("end"),
                               threading.Thread(target=finish, args=(threads,)).start()),
                    warmup + duration)
    for t in threads:
        t.start()
    loop.run()


def run_asyncio(run: Run, warmup: float, duration: float, inflight: int,
                queued: bool) -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    clock = time.perf_counter_ns
    end = object()

    def sink(packet):
        if packet is end:
            loop.stop()
            return
        run.count += 1
        info = packet[1]
        if info is not None and run.measuring:
            run.latencies.append(clock() - info)

    if queued:
        queue: asyncio.Queue = asyncio.Queue()

        async def drain() -> None:
            get = queue.get
            while True:
                packet = await get()
                sink(packet)

        handoff = queue.put_nowait
        loop.create_task(drain())
    else:
        handoff = sink

    def process(packet):  # the one processor, on the producer's thread
        return packet

    def produce(index: int) -> None:
        send, payload, n = loop.call_soon_threadsafe, run.payload, 0
        per_producer = max(1, inflight // run.producers)
        while not run.stop:
            for _ in range(SAMPLE_EVERY - 1):
                send(handoff, process((payload, None)))
            send(handoff, process((payload, clock())))
            n += SAMPLE_EVERY
            while n - run.count // run.producers > per_producer and not run.stop:
                time.sleep(0.0002)  # the bound sourcey's queue enforces
        run.written[index] = n

    def finish(threads: list[threading.Thread]) -> None:
        for t in threads:
            t.join()
        loop.call_soon_threadsafe(handoff, end)

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(run.producers)]
    loop.call_later(warmup, run.mark, "start")
    loop.call_later(warmup + duration, lambda: (
        run.mark("end"), threading.Thread(target=finish, args=(threads,)).start()))
    for t in threads:
        t.start()
    loop.run_forever()
    loop.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--impl", choices=["sourcey", "asyncio", "asyncio-queue"], required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--producers", type=int, default=4)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--inflight", type=int, default=16384)
    args = p.parse_args()
    listener = socket.create_server((args.host, args.port))
    conn, _ = listener.accept()
    request = json.loads(conn.makefile("r").readline())
    run = Run(conn, args.producers, args.size)
    if args.impl == "sourcey":
        run_sourcey(run, request["warmup"], request["duration"], args.inflight)
    else:
        run_asyncio(run, request["warmup"], request["duration"], args.inflight,
                    queued=args.impl == "asyncio-queue")
    run.report()
    signal.pause()  # the runner stops the server


if __name__ == "__main__":
    main()

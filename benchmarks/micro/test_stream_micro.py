"""Micro benchmarks of sourcey.stream (pytest-benchmark).

    PYTHONPATH=build/release/lib .venv/bin/pytest -p no:cacheprovider \
        benchmarks/micro/test_stream_micro.py --benchmark-group-by=group

One round is BATCH packets written on the loop's thread, then the loop run until its
sink counted them all: PacketStream through synchronize_output (one processor), against
asyncio's call_soon_threadsafe per packet (with and without an asyncio.Queue). The
cross-thread case is the macro workload ``packetstream`` (benchmarks/run.py). No test
asserts a timing.
"""

from __future__ import annotations

import asyncio
import time

import pytest

pytest.importorskip("pytest_benchmark")
stream_mod = pytest.importorskip("sourcey.stream")
if not hasattr(stream_mod, "PacketStream"):  # the source tree without the compiled module
    pytest.skip("sourcey.stream is not built", allow_module_level=True)

from sourcey import uv  # noqa: E402

BATCH = 1000
PAYLOAD = bytes(256)
TIMEOUT = 10.0


class Forward(stream_mod.PacketProcessor):
    def process(self, packet):
        self.emit(packet)


@pytest.mark.benchmark(group="packetstream-1000")
def test_packetstream_write_and_drain(benchmark):
    loop = uv.Loop()
    stream = stream_mod.PacketStream("micro")
    stream.attach(Forward())
    stream.synchronize_output(loop, capacity=2 * BATCH)
    count = [0]

    def sink(packet):
        count[0] += 1

    stream.emitter += sink
    stream.start()
    write = stream.write

    def round_trip():
        count[0] = 0
        for _ in range(BATCH):
            write(PAYLOAD)
        deadline = time.monotonic() + TIMEOUT
        while count[0] < BATCH:
            assert time.monotonic() < deadline, "the loop did not drain the stream"
            loop.run(uv.UV_RUN_ONCE)

    benchmark(round_trip)
    stream.close()
    loop.run(uv.UV_RUN_NOWAIT)


@pytest.mark.benchmark(group="packetstream-1000")
@pytest.mark.parametrize("queued", [False, True], ids=["call_soon_threadsafe", "asyncio.Queue"])
def test_baseline_asyncio_handoff(benchmark, queued):
    aloop = asyncio.new_event_loop()
    count = [0]
    done: list[asyncio.Future] = []

    def sink(packet):
        count[0] += 1
        if count[0] == BATCH:
            done[0].set_result(None)

    if queued:
        queue: asyncio.Queue = asyncio.Queue()

        async def drain() -> None:
            while True:
                sink(await queue.get())

        task = aloop.create_task(drain())
        handoff = queue.put_nowait
    else:
        handoff = sink

    def round_trip():
        count[0] = 0
        done[:] = [aloop.create_future()]
        send = aloop.call_soon_threadsafe
        for _ in range(BATCH):
            send(handoff, PAYLOAD)
        aloop.run_until_complete(asyncio.wait_for(done[0], TIMEOUT))

    benchmark(round_trip)
    if queued:
        task.cancel()
        aloop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    aloop.close()

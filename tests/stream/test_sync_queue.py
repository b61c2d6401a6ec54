"""synchronize_output: packets from any thread delivered on the loop's thread, drained
in batches under a time budget, with counted overflow policies."""

import gc
import sys
import threading

import pytest

from sourcey import uv
from sourcey.stream import (
    FINAL,
    PacketProcessor,
    PacketStream,
    QueueFullError,
    State,
    StreamClosedError,
    SyncPacketQueue,
)

PRODUCERS = 4
PER_PRODUCER = 100_000


def synced(loop, **queue_args):
    s = PacketStream("synced")
    q = s.synchronize_output(loop, **queue_args)
    return s, q


def test_output_is_the_last_stage_and_runs_on_the_loop_thread(loop, runner):
    s, q = synced(loop)
    s.attach(PacketProcessor(), order=100)
    assert s.processors[-1] is q and s.output is q
    assert isinstance(q, SyncPacketQueue) and q.loop is loop
    threads = []
    s.emitter += lambda p: (threads.append(threading.get_ident()), s.close())
    s.start()
    t = threading.Thread(target=s.write, args=(b"x",))
    t.start()
    t.join()
    runner.run(loop)
    assert threads == [threading.get_ident()]
    assert q.closed and s.closed


def test_four_producers_lose_nothing_and_keep_their_order(loop, runner):
    s, q = synced(loop, capacity=4096)
    # An int per packet is its producer and sequence number: no copy of the data.
    last = [-1] * PRODUCERS
    errors = []
    count = [0]
    total = PRODUCERS * PER_PRODUCER

    def sink(packet):
        producer, seq = divmod(packet.info, PER_PRODUCER)
        if seq != last[producer] + 1:
            errors.append((producer, last[producer], seq))
        last[producer] = seq
        count[0] += 1
        if count[0] == total:
            s.close()

    s.emitter += sink
    s.start()
    data = bytes(16)

    def produce(producer):
        write = s.write
        base = producer * PER_PRODUCER
        for seq in range(PER_PRODUCER):
            write(data, 0, base + seq)

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(PRODUCERS)]
    for t in threads:
        t.start()
    runner.run(loop, timeout=60)
    for t in threads:
        t.join()
    assert errors == []
    assert count[0] == total and last == [PER_PRODUCER - 1] * PRODUCERS
    stats = q.stats
    assert stats["enqueued"] == stats["delivered"] == total
    assert stats["dropped"] == stats["rejected"] == stats["discarded"] == 0
    assert s.stats["written"] == s.stats["emitted"] == total


def test_a_drain_out_of_budget_rearms_and_delivers_everything(loop, runner):
    # A budget of one nanosecond runs out after every batch. Every packet is written
    # before the loop runs, so only the re-arms can deliver the rest.
    s, q = synced(loop, capacity=4096, budget=1e-9)
    total = 3000
    got = []
    s.emitter += lambda p: (got.append(p.info), len(got) == total and s.close())
    s.start()
    for i in range(total):
        s.write(b"x", 0, i)
    runner.run(loop)
    assert got == list(range(total))
    stats = q.stats
    assert stats["rearms"] >= 1 and stats["drains"] == stats["rearms"] + 1
    assert stats["delivered"] == total


def test_error_policy_refuses_and_counts(loop, runner):
    s, q = synced(loop, capacity=4, policy="error")
    got = []
    s.emitter += lambda p: got.append(p.info)
    s.start()
    for i in range(4):
        s.write(b"x", 0, i)
    with pytest.raises(QueueFullError, match="full"):
        s.write(b"x", 0, 4)
    runner.until(loop, lambda: len(got) == 4)
    s.write(b"x", 0, 5)
    runner.until(loop, lambda: len(got) == 5)
    assert got == [0, 1, 2, 3, 5]
    stats = q.stats
    assert (stats["enqueued"], stats["delivered"], stats["rejected"]) == (5, 5, 1)
    assert stats["high_water"] == 4
    s.close()
    runner.run(loop)


def test_drop_oldest_policy_evicts_and_counts(loop, runner):
    s, q = synced(loop, capacity=4, policy="drop_oldest")
    got = []
    s.emitter += lambda p: got.append(p.info)
    s.start()
    data = b"evicted-" * 8
    before = sys.getrefcount(data)
    for i in range(10):
        s.write(data, 0, i)
    runner.until(loop, lambda: len(got) == 4)
    assert got == [6, 7, 8, 9]
    stats = q.stats
    assert (stats["enqueued"], stats["dropped"], stats["delivered"]) == (10, 6, 4)
    s.close()
    runner.run(loop)
    gc.collect()
    assert sys.getrefcount(data) == before  # evicted packets were released


def test_block_policy_waits_for_room(loop, runner, wait_for):
    s, q = synced(loop, capacity=4, policy="block")
    got = []
    s.emitter += lambda p: got.append(p.info)
    s.start()
    for i in range(4):
        s.write(b"x", 0, i)
    writer = threading.Thread(target=s.write, args=(b"x", 0, 4))
    writer.start()
    wait_for(lambda: q.stats["blocked_waits"] == 1)
    assert q.stats["depth"] == 4
    runner.until(loop, lambda: len(got) == 5)
    writer.join()
    assert got == [0, 1, 2, 3, 4]
    stats = q.stats
    assert (stats["enqueued"], stats["delivered"], stats["dropped"]) == (5, 5, 0)
    s.close()
    runner.run(loop)


def test_a_blocked_writer_gets_an_error_when_the_stream_closes(loop, runner, wait_for):
    s, q = synced(loop, capacity=1, policy="block")
    s.start()
    s.write(b"x")
    outcome = []

    def write():
        try:
            s.write(b"y")
        except StreamClosedError as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    wait_for(lambda: q.stats["blocked_waits"] == 1)
    s.close()
    writer.join()
    assert len(outcome) == 1
    stats = q.stats
    assert (stats["enqueued"], stats["delivered"], stats["discarded"]) == (1, 1, 1)
    runner.run(loop)


def test_a_writer_on_the_loop_thread_never_blocks(loop, runner):
    s, q = synced(loop, capacity=2, policy="block")
    s.start()
    refused = []

    def on_timer(timer):
        timer.close()
        for i in range(3):
            try:
                s.write(b"x", 0, i)
            except QueueFullError as exc:
                refused.append((i, exc))
        s.close()

    uv.Timer(loop).start(on_timer, 0)
    runner.run(loop)
    assert [i for i, _ in refused] == [2]
    assert q.stats["rejected"] == 1 and q.stats["discarded"] == 2


def test_closing_from_the_emitter_slot_discards_the_rest(loop, runner):
    s, q = synced(loop)
    got = []
    closes = []
    s.Close += closes.append

    def sink(p):
        got.append(p.info)
        if len(got) == 3:
            s.close()

    s.emitter += sink
    s.start()
    data = bytearray(b"mutable")
    for i in range(10):
        s.write(data, 0, i)
    data[:] = b"changed"  # the queue retained a copy
    runner.run(loop)
    assert got == [0, 1, 2] and closes == [s]
    assert s.state is State.CLOSED
    stats = q.stats
    assert (stats["delivered"], stats["discarded"]) == (10, 7)
    with pytest.raises(StreamClosedError):
        s.write(b"late")


def test_close_from_another_thread_lets_the_loop_close_the_handle(loop, runner):
    s, q = synced(loop)
    got = []

    def sink(p):
        got.append(p)
        closer = threading.Thread(target=s.close)
        closer.start()
        closer.join()

    s.emitter += sink
    s.start()
    s.write(b"x")
    runner.run(loop)  # returns only once the queue's Async is closed
    assert len(got) == 1 and s.closed and q.closed


def test_stop_discards_what_is_still_queued(loop, runner):
    s, q = synced(loop)
    got = []
    s.emitter += got.append
    s.start()
    s.write(b"a")
    s.write(b"b")
    s.stop()
    runner.until(loop, lambda: q.stats["depth"] == 0)
    assert got == [] and q.stats["discarded"] == 2
    s.close()
    runner.run(loop)


def test_queued_packets_are_released_at_close(loop, runner):
    s, q = synced(loop)
    s.start()
    data = b"kept-by-the-queue" * 4
    before = sys.getrefcount(data)
    for _ in range(100):
        s.write(data)
    assert sys.getrefcount(data) == before + 100
    s.close()
    runner.run(loop)
    gc.collect()
    assert sys.getrefcount(data) == before
    assert q.stats["discarded"] == 100


def test_bad_queue_arguments(loop):
    with pytest.raises(ValueError, match="capacity"):
        SyncPacketQueue(loop, capacity=0)
    with pytest.raises(ValueError, match="policy"):
        SyncPacketQueue(loop, policy="spill")
    with pytest.raises(ValueError, match="budget"):
        SyncPacketQueue(loop, budget=0)
    s, q = synced(loop)
    with pytest.raises(Exception, match="already synchronised"):
        s.synchronize_output(loop)
    s.close()


def test_a_fault_on_a_producer_thread_closes_the_stream_and_its_handle(loop, runner):
    class FailAt(PacketProcessor):
        def process(self, packet):
            if packet.info == 500:
                raise ValueError("bad frame")
            self.emit(packet)

    s, q = synced(loop)
    s.attach(FailAt())
    other, other_q = synced(loop)
    errors, refused = [], []
    s.Error += lambda stream, exc: errors.append(exc)
    got, other_got = [], []
    s.emitter += lambda p: got.append(p.info)
    other.emitter += lambda p: (other_got.append(p.info),
                                len(other_got) == 1000 and other.close())
    s.start()
    other.start()

    def produce(stream):
        for i in range(1000):
            try:
                stream.write(b"x", 0, i)
            except StreamClosedError:
                refused.append(i)

    threads = [threading.Thread(target=produce, args=(st,)) for st in (s, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runner.run(loop)  # returns once both queues' handles are closed
    assert [str(e) for e in errors] == ["bad frame"] and s.closed
    assert refused == list(range(501, 1000))
    assert got == list(range(len(got))) and len(got) <= 500
    assert len(got) + q.stats["discarded"] == 500
    assert other_got == list(range(1000)) and other_q.stats["discarded"] == 0


def test_final_through_the_queue_stops_after_that_packet(loop, runner):
    s, q = synced(loop)
    got = []
    s.emitter += lambda p: got.append((p.info, s.state))
    s.StateChange += lambda stream, new, old: new == State.STOPPED and stream.close()
    s.start()
    s.write(b"a", 0, 1)
    s.write(b"b", FINAL, 2)
    s.write(b"c", 0, 3)  # written before the loop saw the FINAL packet
    runner.run(loop)
    assert got == [(1, State.ACTIVE), (2, State.ACTIVE)]
    assert s.closed and q.stats["discarded"] == 1

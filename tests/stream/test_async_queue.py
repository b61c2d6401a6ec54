"""AsyncPacketQueue: the stages after it run on a worker thread."""

import threading

import pytest

from sourcey.stream import (
    AsyncPacketQueue,
    PacketProcessor,
    PacketStream,
    QueueFullError,
    State,
)


class Where(PacketProcessor):
    """Records the thread each packet is processed on."""

    def __init__(self):
        self.threads = set()

    def process(self, packet):
        self.threads.add(threading.get_ident())
        self.emit(packet)


class Fail(PacketProcessor):
    def process(self, packet):
        raise ValueError("worker fault")


def test_downstream_runs_on_the_worker_and_keeps_each_producers_order():
    s = PacketStream("worker")
    before, after = Where(), Where()
    s.attach(before, order=0)
    s.attach(AsyncPacketQueue(capacity=256), order=1)
    s.attach(after, order=2)
    producers, per = 4, 5000
    last = [-1] * producers
    errors = []
    done = threading.Event()
    count = [0]

    def sink(packet):
        producer, seq = divmod(packet.info, per)
        if seq != last[producer] + 1:
            errors.append((producer, seq))
        last[producer] = seq
        count[0] += 1
        if count[0] == producers * per:
            done.set()

    s.emitter += sink
    s.start()

    def produce(p):
        for seq in range(per):
            s.write(b"x", 0, p * per + seq)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done.wait(30)
    assert errors == [] and count[0] == producers * per
    assert before.threads == {t.ident for t in threads}
    assert len(after.threads) == 1 and not after.threads & before.threads
    s.close()


def test_close_joins_the_worker_and_discards_the_rest():
    s = PacketStream()
    q = AsyncPacketQueue()
    s.attach(q)
    release = threading.Event()
    started = threading.Event()

    def slow(packet):
        started.set()
        release.wait(10)

    s.emitter += slow
    s.start()
    for _ in range(5):
        s.write(b"x")
    assert started.wait(10)
    # The slot returns once the stream is CLOSED (before close joins the worker).
    s.StateChange += lambda stream, new, old: new == State.CLOSED and release.set()
    closer = threading.Thread(target=s.close)
    closer.start()
    closer.join(10)
    assert not closer.is_alive() and s.closed
    stats = q.stats
    assert stats["enqueued"] == 5 and stats["depth"] == 0
    assert stats["discarded"] == 4 and s.stats["emitted"] == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("AsyncPacketQueue")]


def test_a_fault_on_the_worker_closes_the_stream():
    s = PacketStream()
    s.attach(AsyncPacketQueue())
    s.attach(Fail(), order=1)
    errors = []
    closed = threading.Event()
    s.Error += lambda stream, exc: errors.append((threading.get_ident(), exc))
    s.Close += lambda stream: closed.set()
    s.start()
    s.write(b"x")
    assert closed.wait(10)
    assert [type(e) for _, e in errors] == [ValueError]
    assert errors[0][0] != threading.get_ident()


def test_closing_from_the_workers_emitter_slot():
    s = PacketStream()
    s.attach(AsyncPacketQueue())
    closed = threading.Event()
    s.emitter += lambda p: s.close()
    s.Close += lambda stream: closed.set()
    s.start()
    s.write(b"x")
    assert closed.wait(10) and s.closed


def test_error_policy_on_a_worker_queue():
    s = PacketStream()
    q = AsyncPacketQueue(capacity=1, policy="error")
    s.attach(q)
    gate = threading.Event()
    inside = threading.Event()
    s.emitter += lambda p: (inside.set(), gate.wait(10))
    s.start()
    s.write(b"a")          # taken by the worker, which waits in the slot
    assert inside.wait(10)
    s.write(b"b")          # fills the queue
    with pytest.raises(QueueFullError):
        s.write(b"c")
    gate.set()
    s.close()
    assert q.stats["rejected"] == 1

"""Processors: order, accepts(), the NO_MODIFY and FINAL flags, faults, and sources."""

import pytest

from sourcey.signals import Signal
from sourcey.stream import (
    FINAL,
    NO_MODIFY,
    Packet,
    PacketProcessor,
    PacketSource,
    PacketStream,
    State,
    StreamClosedError,
    StreamStateError,
)


class Tag(PacketProcessor):
    """Appends its tag to the data."""

    def __init__(self, tag):
        self.tag = tag

    def process(self, packet):
        self.emit(packet.copy(bytes(packet.data) + self.tag))


class OnlyEven(Tag):
    def accepts(self, packet):
        return packet.info % 2 == 0


class Fail(PacketProcessor):
    def process(self, packet):
        raise ValueError("bad packet")


def collect(stream):
    got = []
    stream.emitter += got.append
    return got


def test_processors_run_by_order_then_attach_order():
    s = PacketStream()
    s.attach(Tag(b"3"), order=3)
    s.attach(Tag(b"1"), order=1)
    s.attach(Tag(b"2a"), order=2)
    s.attach(Tag(b"2b"), order=2)
    assert [p.order for p in s.processors] == [1, 2, 2, 3]
    got = collect(s)
    s.start()
    s.write(b">")
    assert [p.data for p in got] == [b">12a2b3"]
    s.close()


def test_accepts_passes_other_packets_by():
    s = PacketStream()
    s.attach(OnlyEven(b"!"))
    s.attach(Tag(b"."), order=1)
    got = collect(s)
    s.start()
    for i in range(4):
        s.write(b"%d" % i, info=i)
    assert [p.data for p in got] == [b"0!.", b"1.", b"2!.", b"3."]
    s.close()


def test_a_processor_may_drop_or_split():
    class Split(PacketProcessor):
        def process(self, packet):
            for byte in bytes(packet.data):
                if byte != ord("-"):
                    self.emit(bytes([byte]))

    s = PacketStream()
    s.attach(Split())
    got = collect(s)
    s.start()
    s.write(b"a-b")
    s.write(b"-")
    assert [p.data for p in got] == [b"a", b"b"]
    s.close()


def test_no_modify_skips_the_processors():
    s = PacketStream()
    s.attach(Tag(b"!"))
    got = collect(s)
    s.start()
    s.write(b"raw", NO_MODIFY)
    s.write(Packet(b"p", NO_MODIFY))
    s.write(b"cooked")
    assert [p.data for p in got] == [b"raw", b"p", b"cooked!"]
    s.close()


def test_final_stops_the_stream_after_the_emitter():
    s = PacketStream()
    s.attach(Tag(b"!"))
    seen = []
    s.emitter += lambda p: seen.append((p.data, s.state))
    s.start()
    s.write(b"last", FINAL)
    assert seen == [(b"last!", State.ACTIVE)]
    assert s.state is State.STOPPED
    with pytest.raises(StreamStateError):
        s.write(b"more")
    s.close()


def test_a_raising_processor_closes_its_stream_only():
    bad, good = PacketStream("bad"), PacketStream("good")
    bad.attach(Fail())
    good.attach(Tag(b"!"))
    errors = []
    bad.Error += lambda stream, exc: errors.append((stream, exc, stream.state))
    closes = []
    bad.Close += closes.append
    got = collect(good)
    bad.start()
    good.start()
    bad.write(b"x")  # the writer is not the one at fault: write returns
    assert [(s, type(e), st) for s, e, st in errors] == [(bad, ValueError, State.ERROR)]
    assert bad.state is State.CLOSED and closes == [bad]
    assert isinstance(bad.error, ValueError) and bad.stats["faults"] == 1
    with pytest.raises(StreamClosedError):
        bad.write(b"y")
    good.write(b"y")
    assert [p.data for p in got] == [b"y!"] and good.active
    good.close()


def test_without_close_on_error_the_stream_stays_in_error_until_reset():
    s = PacketStream()
    s.close_on_error = False
    fail = Fail()
    s.attach(fail)
    s.start()
    s.write(b"x")
    assert s.state is State.ERROR
    with pytest.raises(StreamStateError, match="ERROR"):
        s.write(b"y")
    with pytest.raises(StreamStateError):
        s.start()
    s.reset()
    assert s.state is State.NONE and s.error is None
    s.detach(fail)
    got = collect(s)
    s.start()
    s.write(b"z")
    assert [p.data for p in got] == [b"z"]
    s.close()


def test_a_raising_accepts_is_a_fault():
    class BadAccepts(PacketProcessor):
        def accepts(self, packet):
            raise KeyError("nope")

    s = PacketStream()
    s.attach(BadAccepts())
    errors = []
    s.Error += lambda stream, exc: errors.append(exc)
    s.start()
    s.write(b"x")
    assert [type(e) for e in errors] == [KeyError] and s.closed


def test_a_raising_emitter_slot_goes_to_the_excepthook(loop):
    s = PacketStream(loop=loop)
    s.emitter += lambda p: 1 / 0
    got = collect(s)
    s.start()
    s.write(b"x")
    assert [type(e) for e in loop.callback_errors] == [ZeroDivisionError]
    loop.callback_errors.clear()
    assert s.active and [p.data for p in got] == [b"x"]
    s.close()


def test_packet_source_writes_into_the_stream():
    class Counter(PacketSource):
        def run(self, n):
            for i in range(n):
                self.emit(b"%d" % i)

    s = PacketStream()
    src = Counter()
    with pytest.raises(StreamStateError, match="not attached"):
        src.emit(b"x")
    s.attach_source(src)
    got = collect(s)
    s.start()
    src.run(3)
    assert [p.data for p in got] == [b"0", b"1", b"2"]
    s.close()


def test_a_signal_as_source():
    recv = Signal(None, "Recv")
    s = PacketStream()
    s.attach_source(recv)
    got = collect(s)
    s.start()
    recv.emit("socket", b"payload", ("127.0.0.1", 1))
    assert [p.data for p in got] == [b"payload"]
    s.stop()
    assert s.detach_source(recv) and len(recv) == 0
    s.attach_source(recv)
    s.close()
    assert len(recv) == 0  # closing detaches the slot


def test_emit_outside_a_stream_raises():
    with pytest.raises(StreamStateError, match="not attached"):
        PacketProcessor().emit(b"x")

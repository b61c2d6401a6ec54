"""PacketStream's state machine, its hooks and the frozen topology."""

import pytest

from sourcey.stream import (
    PacketProcessor,
    PacketSource,
    PacketStream,
    State,
    StreamClosedError,
    StreamStateError,
)


class Recorder(PacketProcessor):
    def __init__(self):
        self.states = []

    def on_stream_state_change(self, stream, state, old_state):
        self.states.append((old_state, state))


class Source(PacketSource):
    def __init__(self):
        self.states = []
        self.calls = []

    def on_stream_state_change(self, stream, state, old_state):
        self.states.append((old_state, state))

    def start(self):
        self.calls.append("start")

    def stop(self):
        self.calls.append("stop")

    def close(self):
        self.calls.append("close")


def test_lifecycle_reaches_every_adapter():
    s = PacketStream("life")
    proc, src = Recorder(), Source()
    s.attach(proc)
    s.attach_source(src, sync_state=True)
    changes = []
    s.StateChange += lambda stream, new, old: changes.append((old, new))
    assert s.state is State.NONE
    s.start()
    assert s.state is State.ACTIVE and s.active
    s.pause()
    assert s.state is State.PAUSED
    s.resume()
    s.stop()
    assert s.state is State.STOPPED
    s.start()
    s.close()
    assert s.state is State.CLOSED and s.closed
    expected = [
        (State.NONE, State.LOCKED), (State.LOCKED, State.ACTIVE),
        (State.ACTIVE, State.PAUSED), (State.PAUSED, State.ACTIVE),
        (State.ACTIVE, State.STOPPING), (State.STOPPING, State.STOPPED),
        (State.STOPPED, State.LOCKED), (State.LOCKED, State.ACTIVE),
        (State.ACTIVE, State.STOPPING), (State.STOPPING, State.STOPPED),
        (State.STOPPED, State.CLOSED),
    ]
    assert changes == expected
    assert proc.states == expected
    assert src.states == expected
    assert src.calls == ["start", "stop", "start", "stop", "close"]
    assert src.stream is None


def test_lock_reset_and_idempotent_calls():
    s = PacketStream()
    s.lock()
    s.lock()
    assert s.state is State.LOCKED
    with pytest.raises(StreamStateError, match="frozen"):
        s.attach(PacketProcessor())
    s.reset()
    assert s.state is State.NONE
    s.attach(PacketProcessor())
    s.start()
    s.start()
    s.resume()
    assert s.state is State.ACTIVE
    with pytest.raises(StreamStateError, match="ACTIVE"):
        s.reset()
    s.stop()
    s.stop()
    s.close()
    s.close()
    for call in (s.start, s.pause, s.resume, s.reset, s.lock):
        with pytest.raises(StreamClosedError):
            call()


def test_pause_and_resume_need_the_right_state():
    s = PacketStream()
    with pytest.raises(StreamStateError):
        s.pause()
    with pytest.raises(StreamStateError):
        s.resume()
    s.close()


def test_topology_is_frozen_while_active():
    s = PacketStream()
    proc = PacketProcessor()
    s.attach(proc)
    s.start()
    for change in (lambda: s.attach(PacketProcessor()), lambda: s.detach(proc),
                   lambda: s.attach_source(PacketSource()),
                   lambda: s.detach_source(object())):
        with pytest.raises(StreamStateError, match="frozen"):
            change()
    s.pause()
    with pytest.raises(StreamStateError, match="frozen"):
        s.attach(PacketProcessor())
    s.stop()
    assert s.detach(proc) and not s.detach(proc)
    assert proc.stream is None
    s.close()
    with pytest.raises(StreamClosedError):
        s.attach(PacketProcessor())


def test_an_adapter_belongs_to_one_stream():
    a, b = PacketStream("a"), PacketStream("b")
    proc, src = PacketProcessor(), PacketSource()
    a.attach(proc)
    a.attach_source(src)
    with pytest.raises(ValueError, match="already attached"):
        b.attach(proc)
    with pytest.raises(ValueError, match="already attached"):
        b.attach_source(src)
    with pytest.raises(TypeError, match="PacketSource or a Signal"):
        b.attach_source(object())
    a.close()
    b.close()


def test_write_needs_an_active_stream():
    s = PacketStream("w")
    got = []
    s.emitter += got.append
    with pytest.raises(StreamStateError, match="start it first"):
        s.write(b"x")
    s.start()
    assert s.write(b"x") is True
    s.pause()
    assert s.write(b"y") is False
    assert s.stats["paused_drops"] == 1
    s.resume()
    s.stop()
    with pytest.raises(StreamStateError, match="STOPPED"):
        s.write(b"z")
    s.close()
    with pytest.raises(StreamClosedError, match="closed"):
        s.write(b"z")
    assert [p.data for p in got] == [b"x"]
    assert s.stats["written"] == 1 and s.stats["emitted"] == 1


def test_write_rejects_non_bytes():
    s = PacketStream()
    s.start()
    with pytest.raises(TypeError, match="bytes-like"):
        s.write("text")
    s.close()


def test_close_fires_once_and_closes_owned_sources_only():
    s = PacketStream()
    owned, borrowed = Source(), Source()
    s.attach_source(owned)
    s.attach_source(borrowed, owned=False)
    closes = []
    s.Close += closes.append
    s.start()
    s.close()
    s.close()
    assert closes == [s]
    assert owned.calls == ["close"] and borrowed.calls == []
    assert s.sources == []


def test_a_raising_hook_goes_to_the_excepthook(loop):
    class Bad(PacketProcessor):
        def on_stream_state_change(self, stream, state, old_state):
            raise RuntimeError("hook")

    s = PacketStream(loop=loop)
    s.attach(Bad())
    s.start()
    assert s.state is State.ACTIVE
    assert [str(e) for e in loop.callback_errors] == ["hook", "hook"]
    loop.callback_errors.clear()
    s.close()
    loop.callback_errors.clear()


def test_signals_take_slots_but_cannot_be_replaced():
    s = PacketStream()
    emitter = s.emitter
    s.emitter += print
    assert s.emitter is emitter and print in emitter
    for name in ("emitter", "Error", "Close", "StateChange"):
        with pytest.raises(AttributeError, match="cannot be replaced"):
            setattr(s, name, None)
    s.close()


def test_a_subclass_that_skips_init_is_still_sound():
    class Quiet(PacketStream):
        def __init__(self):
            pass

    s = Quiet()
    got = []
    s.emitter += got.append
    s.start()
    s.write(b"x")
    assert [p.data for p in got] == [b"x"] and s.name == ""
    s.close()

"""Idle, Prepare and Check: where they run in an iteration, start/stop, counts, errors."""

import socket

import pytest

from sourcey import uv

WATCHERS = [
    (uv.Idle, uv.error.IdleError),
    (uv.Prepare, uv.error.PrepareError),
    (uv.Check, uv.error.CheckError),
]
IDS = ["idle", "prepare", "check"]


def test_order_within_an_iteration(loop, runner):
    """Idle runs before Prepare, Prepare before the poll for I/O, Check after it."""
    order = []
    idle, prepare, check = uv.Idle(loop), uv.Prepare(loop), uv.Check(loop)
    idle.start(lambda h: order.append("idle"))
    prepare.start(lambda h: order.append("prepare"))
    check.start(lambda h: order.append("check"))
    a, b = socket.socketpair()
    poll = uv.Poll(loop, a.fileno())
    try:
        b.send(b"x")    # already readable: the poll reports it in the first iteration
        poll.start(uv.UV_READABLE, lambda h, events, error: order.append("io"))
        loop.run(uv.UV_RUN_NOWAIT)
        assert order == ["idle", "prepare", "io", "check"]
        poll.stop()
        del order[:]
        loop.run(uv.UV_RUN_NOWAIT)
        assert order == ["idle", "prepare", "check"]
    finally:
        for h in (idle, prepare, check, poll):
            h.close()
        runner.run(loop)
        a.close()
        b.close()


def test_prepare_and_check_bracket_a_blocking_poll(loop, runner):
    """With only a timer pending, the loop blocks between Prepare and Check."""
    order = []
    prepare, check = uv.Prepare(loop), uv.Check(loop)
    timer = uv.Timer(loop)

    def on_timer(h):
        order.append("timer")
        prepare.stop()
        check.stop()

    def on_prepare(h):
        order.append("prepare")
        if not timer.active and "timer" not in order:
            timer.start(on_timer, 0.02)    # due only after a poll that blocks for it

    prepare.start(on_prepare)
    check.start(lambda h: order.append("check"))
    runner.run(loop)
    assert order[:2] == ["prepare", "check"]
    assert order[-1] == "timer"
    # Every prepare is followed by its check: they strictly alternate.
    pc = order[:-1]
    assert pc == ["prepare", "check"] * (len(pc) // 2)
    for h in (prepare, check, timer):
        h.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_called_once_per_iteration(loop, runner, cls, err):
    calls = []
    w = cls(loop)
    w.start(calls.append)
    assert w.active
    for n in range(1, 6):
        loop.run(uv.UV_RUN_NOWAIT)
        assert calls == [w] * n
    w.stop()
    assert not w.active
    loop.run(uv.UV_RUN_NOWAIT)
    assert len(calls) == 5
    w.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_stop_from_callback_lets_the_loop_finish(loop, runner, cls, err):
    calls = []
    spin = None
    if cls is not uv.Idle:
        # A Prepare or Check alone would let the loop block for I/O for ever.
        spin = uv.Idle(loop)
        spin.start(lambda h: None)
        spin.ref = False

    def cb(h):
        calls.append(1)
        if len(calls) == 7:
            h.stop()

    w = cls(loop)
    w.start(cb)
    runner.run(loop)
    assert len(calls) == 7
    assert not w.active
    w.close()
    if spin is not None:
        spin.close()
    runner.run(loop)


def test_idle_makes_the_poll_non_blocking(loop, runner):
    timer = uv.Timer(loop)
    timer.start(lambda h: None, 60.0)
    loop.run(uv.UV_RUN_NOWAIT)     # libuv reports 0 until a first run registered its fds
    assert loop.get_timeout() > 50_000
    idle = uv.Idle(loop)
    idle.start(lambda h: None)
    assert loop.get_timeout() == 0
    # UV_RUN_ONCE returns at once instead of waiting a minute for the timer.
    assert loop.run(uv.UV_RUN_ONCE) is True
    idle.stop()
    assert loop.get_timeout() > 50_000
    for h in (timer, idle):
        h.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_start_again_replaces_the_callback(loop, runner, cls, err):
    calls = []
    w = cls(loop)
    w.start(lambda h: calls.append("first"))
    w.start(lambda h: calls.append("second"))
    loop.run(uv.UV_RUN_NOWAIT)
    assert calls == ["second"]
    w.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_stop_when_not_started_is_harmless(loop, runner, cls, err):
    w = cls(loop)
    w.stop()
    w.stop()
    assert not w.active
    w.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_unreferenced_watcher_does_not_keep_the_loop_alive(loop, runner, cls, err):
    calls = []
    w = cls(loop)
    w.start(calls.append)
    assert loop.alive
    w.ref = False
    assert not loop.alive
    runner.run(loop, timeout=2)
    assert w.active
    w.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_exception_in_callback_goes_to_excepthook(loop, runner, cls, err):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append((typ, str(value)))
    calls = []

    def cb(h):
        calls.append(1)
        raise KeyError(len(calls))

    w = cls(loop)
    w.start(cb)
    for _ in range(3):
        loop.run(uv.UV_RUN_NOWAIT)
    assert len(calls) == 3
    assert seen == [(KeyError, "1"), (KeyError, "2"), (KeyError, "3")]
    assert w.active
    w.close()
    runner.run(loop)


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_errors(loop, runner, cls, err):
    assert issubclass(err, uv.error.HandleError)
    with pytest.raises(TypeError):
        cls(None)
    w = cls(loop)
    for bad in (None, 3, "x"):
        with pytest.raises(TypeError):
            w.start(bad)
    assert not w.active
    w.close()
    with pytest.raises(uv.error.HandleClosedError):
        w.start(lambda h: None)
    with pytest.raises(uv.error.HandleClosedError):
        w.stop()
    runner.run(loop)
    with pytest.raises(uv.error.HandleClosedError):
        w.start(lambda h: None)
    assert w.closed and not w.active


@pytest.mark.parametrize("cls, err", WATCHERS, ids=IDS)
def test_close_while_active_stops_it(loop, runner, cls, err):
    calls = []
    w = cls(loop)
    w.start(calls.append)
    w.close()
    assert not w.active
    runner.run(loop)
    assert calls == []


def test_close_from_own_callback(loop, runner):
    closed = []
    idle = uv.Idle(loop)
    idle.start(lambda h: h.close(closed.append))
    runner.run(loop)
    assert closed == [idle]

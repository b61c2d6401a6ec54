"""Timer: start/stop/again/repeat/due_in, ordering, validation, active/ref, close."""

import math

import pytest

from sourcey import uv


def test_one_shot_fires_once_with_the_timer(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(calls.append, 0.01)
    assert timer.active
    runner.run(loop)
    assert calls == [timer]
    assert not timer.active
    timer.close()
    runner.run(loop)


def test_one_shot_does_not_fire_early(loop, runner):
    fired_at = []
    timer = uv.Timer(loop)
    loop.update_time()
    started_at = loop.time()
    timer.start(lambda t: fired_at.append(loop.time()), 0.05)
    runner.run(loop)
    assert len(fired_at) == 1
    # The loop's clock, not the wall clock: libuv fires once loop time >= start + 50 ms.
    assert fired_at[0] - started_at >= 0.04
    timer.close()
    runner.run(loop)


def test_zero_timeout_fires_on_the_next_iteration(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(lambda t: calls.append(1), 0)
    assert calls == []
    runner.run(loop)
    assert calls == [1]
    timer.close()
    runner.run(loop)


def test_repeating_timer_fires_until_stopped(loop, runner):
    calls = []

    def on_timer(t):
        calls.append(loop.now())
        if len(calls) == 5:
            t.stop()

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001, 0.002)
    assert timer.repeat == pytest.approx(0.002)
    runner.run(loop)
    assert len(calls) == 5
    assert calls == sorted(calls)
    assert not timer.active
    timer.close()
    runner.run(loop)


def test_repeat_property_is_seconds_and_settable(loop, runner):
    timer = uv.Timer(loop)
    assert timer.repeat == 0.0
    timer.repeat = 1.5
    assert timer.repeat == pytest.approx(1.5)
    assert isinstance(timer.repeat, float)
    timer.repeat = 0.25
    assert timer.repeat == pytest.approx(0.25)
    timer.repeat = 0
    assert timer.repeat == 0.0
    timer.close()
    runner.run(loop)


def test_repeat_set_in_callback_applies_from_the_next_schedule(loop, runner):
    calls = []
    due = []

    def on_timer(t):
        calls.append(1)
        if len(calls) == 1:
            # As pyuv documents: the next timeout was already scheduled with the old
            # repeat value; again() reschedules with the new one.
            t.repeat = 0.001
            due.append(t.due_in)
            t.again()
            due.append(t.due_in)
        elif len(calls) == 3:
            t.stop()

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001, 60.0)
    runner.run(loop)
    assert len(calls) == 3
    assert due[0] > 50
    assert due[1] <= 0.002
    timer.close()
    runner.run(loop)


def test_due_in(loop, runner):
    timer = uv.Timer(loop)
    assert timer.due_in == 0.0
    loop.update_time()
    timer.start(lambda t: None, 10.0)
    due = timer.due_in
    timer.close()
    runner.run(loop)
    assert isinstance(due, float)
    assert 9.0 < due <= 10.0


def test_due_in_is_zero_once_stopped(loop, runner):
    # Timer.due_in documents "0.0 if it is not running".
    timer = uv.Timer(loop)
    timer.start(lambda t: None, 10.0)
    timer.stop()
    due = timer.due_in
    timer.close()
    runner.run(loop)
    assert due == 0.0


def test_again_restarts_with_the_repeat_value(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(lambda t: (calls.append(1), t.stop()), 60.0, 0.01)
    assert timer.due_in > 50
    timer.again()
    assert timer.active
    assert timer.due_in <= 0.011
    runner.run(loop)
    assert calls == [1]
    timer.close()
    runner.run(loop)


def test_again_on_a_stopped_repeating_timer_restarts_it(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(lambda t: (calls.append(1), t.stop()), 60.0, 0.005)
    timer.stop()
    assert not timer.active
    timer.again()
    assert timer.active
    runner.run(loop)
    assert calls == [1]
    timer.close()
    runner.run(loop)


def test_again_on_a_never_started_timer_raises(loop, runner):
    timer = uv.Timer(loop)
    with pytest.raises(uv.error.TimerError) as info:
        timer.again()
    assert info.value.args[0] == uv.errno.UV_EINVAL
    assert isinstance(info.value, uv.error.HandleError)
    timer.close()
    runner.run(loop)


def test_timers_fire_in_order_of_their_timeouts(loop, runner):
    order = []
    timers = []
    for name, timeout in [("c", 0.03), ("a", 0.01), ("b", 0.02)]:
        t = uv.Timer(loop)
        t.start(lambda h, name=name: order.append(name), timeout)
        timers.append(t)
    runner.run(loop)
    assert order == ["a", "b", "c"]
    for t in timers:
        t.close()
    runner.run(loop)


def test_timers_with_equal_timeouts_fire_in_start_order(loop, runner):
    order = []
    timers = []
    for i in range(10):
        t = uv.Timer(loop)
        t.start(lambda h, i=i: order.append(i), 0.005)
        timers.append(t)
    runner.run(loop)
    assert order == list(range(10))
    for t in timers:
        t.close()
    runner.run(loop)


@pytest.mark.parametrize("bad", [-0.001, -1, math.nan, math.inf, -math.inf])
def test_invalid_timeout_raises_value_error(loop, runner, bad):
    timer = uv.Timer(loop)
    with pytest.raises(ValueError):
        timer.start(lambda t: None, bad)
    with pytest.raises(ValueError):
        timer.start(lambda t: None, 1.0, bad)
    with pytest.raises(ValueError):
        timer.repeat = bad
    assert not timer.active
    assert timer.repeat == 0.0
    timer.close()
    runner.run(loop)


def test_non_number_timeout_raises_type_error(loop, runner):
    timer = uv.Timer(loop)
    with pytest.raises(TypeError):
        timer.start(lambda t: None, "1")
    timer.close()
    runner.run(loop)


@pytest.mark.parametrize("bad", [None, 1, "callback", object()])
def test_non_callable_callback_raises_type_error(loop, runner, bad):
    timer = uv.Timer(loop)
    with pytest.raises(TypeError):
        timer.start(bad, 0.1)
    assert not timer.active
    timer.close()
    runner.run(loop)


def test_timer_needs_a_loop():
    with pytest.raises(TypeError):
        uv.Timer(None)
    with pytest.raises(TypeError):
        uv.Timer()
    with pytest.raises(TypeError):
        uv.Timer(object())


def test_stopped_timer_lets_the_loop_finish(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(calls.append, 60.0)
    assert loop.alive
    timer.stop()
    assert not timer.active
    assert not loop.alive
    runner.run(loop, timeout=2)        # LoopTimeout if the stopped timer kept it alive
    assert calls == []
    timer.close()
    runner.run(loop)


def test_stop_from_the_callback_and_restart_from_the_callback(loop, runner):
    calls = []

    def on_timer(t):
        calls.append(1)
        if len(calls) < 3:
            t.start(on_timer, 0.001)   # restart a one-shot from its own callback

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001)
    runner.run(loop)
    assert calls == [1, 1, 1]
    timer.close()
    runner.run(loop)


def test_start_replaces_a_running_timer(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(lambda t: calls.append("old"), 60.0)
    timer.start(lambda t: calls.append("new"), 0.001)
    runner.run(loop)
    assert calls == ["new"]
    timer.close()
    runner.run(loop)


def test_active_and_ref(loop, runner):
    timer = uv.Timer(loop)
    assert not timer.active
    assert timer.ref            # libuv handles start referenced
    assert not loop.alive       # inactive: does not keep the loop alive
    timer.start(lambda t: None, 60.0)
    assert timer.active
    assert loop.alive
    timer.ref = False
    assert not timer.ref
    assert timer.active
    assert not loop.alive
    timer.ref = True
    assert timer.ref
    assert loop.alive
    timer.close()
    assert not timer.active
    runner.run(loop)
    assert not timer.ref


def test_unreferenced_timer_does_not_keep_the_loop_alive(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(calls.append, 60.0)
    timer.ref = False
    runner.run(loop, timeout=2)
    assert calls == []
    assert timer.active
    timer.close()
    runner.run(loop)


def test_unreferenced_timer_fires_while_something_else_runs(loop, runner):
    calls = []
    background = uv.Timer(loop)
    background.start(lambda t: calls.append("bg"), 0.001, 0.001)
    background.ref = False
    main = uv.Timer(loop)
    main.start(lambda t: calls.append("main"), 0.05)
    runner.run(loop)
    assert calls.count("main") == 1
    assert calls.index("main") >= 1        # the unreferenced timer ran meanwhile
    assert background.active               # the loop ended with it still running
    background.close()
    main.close()
    runner.run(loop)


def test_exception_in_callback_goes_to_excepthook_and_timer_repeats(loop, runner):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(value)
    calls = []

    def on_timer(t):
        calls.append(1)
        if len(calls) == 3:
            t.stop()
        raise ValueError(len(calls))

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001, 0.001)
    runner.run(loop)
    assert len(calls) == 3
    assert [type(e) for e in seen] == [ValueError] * 3
    assert [e.args[0] for e in seen] == [1, 2, 3]
    timer.close()
    runner.run(loop)


def test_start_stop_again_after_close_raise(loop, runner):
    timer = uv.Timer(loop)
    timer.close()
    assert timer.closed
    for call in (lambda: timer.start(lambda t: None, 0.1), timer.stop, timer.again):
        with pytest.raises(uv.error.HandleClosedError):
            call()
    with pytest.raises(uv.error.HandleClosedError):
        timer.repeat = 1.0
    with pytest.raises(uv.error.HandleClosedError):
        timer.ref = False
    runner.run(loop)
    # Once the close has completed, too.
    with pytest.raises(uv.error.HandleClosedError) as info:
        timer.start(lambda t: None, 0.1)
    assert info.value.args[0] == uv.errno.UV_EBADF
    assert timer.closed
    assert not timer.active
    assert timer.repeat == 0.0
    assert timer.due_in == 0.0


def test_close_stops_a_running_timer(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(calls.append, 0.001, 0.001)
    timer.close()
    runner.run(loop)
    assert calls == []


def test_close_from_own_callback(loop, runner):
    calls = []

    def on_timer(t):
        calls.append("timer")
        t.close(lambda h: calls.append("closed"))

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001, 0.001)
    runner.run(loop)
    assert calls == ["timer", "closed"]
    assert timer.closed


def test_close_twice_is_a_no_op_and_callback_runs_once(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.close(lambda h: calls.append(("first", h)))
    timer.close(lambda h: calls.append(("second", h)))
    timer.close()
    runner.run(loop)
    assert calls == [("first", timer)]
    timer.close(lambda h: calls.append(("third", h)))
    runner.run(loop)
    assert calls == [("first", timer)]


def test_close_callback_must_be_callable(loop, runner):
    timer = uv.Timer(loop)
    with pytest.raises(TypeError):
        timer.close(42)
    assert not timer.closed
    timer.close()
    runner.run(loop)


def test_exception_in_close_callback_goes_to_excepthook(loop, runner):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(typ)
    timer = uv.Timer(loop)

    def on_close(h):
        raise RuntimeError("boom")

    timer.close(on_close)
    runner.run(loop)
    assert seen == [RuntimeError]
    assert timer.closed


def test_many_timers(loop, runner):
    fired = []
    timers = [uv.Timer(loop) for _ in range(500)]
    for i, t in enumerate(timers):
        t.start(lambda h, i=i: fired.append(i), (i % 7) * 0.001)
    runner.run(loop)
    assert sorted(fired) == list(range(500))
    for t in timers:
        t.close()
    runner.run(loop)

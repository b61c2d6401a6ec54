"""Loop: run modes, stop, time, introspection, queue_work, excepthook, interrupts, threads."""

import os
import signal
import socket
import sys
import threading

import pytest

from sourcey import uv


def pool_size():
    # libuv reads UV_THREADPOOL_SIZE once, when the pool starts; the default is 4.
    try:
        return min(max(int(os.environ.get("UV_THREADPOOL_SIZE", "4")), 1), 1024)
    except ValueError:
        return 4


# -- run modes ---------------------------------------------------------------------------

def test_run_with_nothing_to_do_returns_false(loop):
    for mode in (uv.UV_RUN_DEFAULT, uv.UV_RUN_ONCE, uv.UV_RUN_NOWAIT):
        assert loop.run(mode) is False
    assert loop.run() is False


def test_run_default_runs_until_nothing_is_left(loop, runner):
    calls = []
    t1, t2 = uv.Timer(loop), uv.Timer(loop)
    t1.start(lambda t: calls.append(1), 0.001)
    t2.start(lambda t: calls.append(2), 0.01)
    assert loop.run(uv.UV_RUN_DEFAULT) is False
    assert calls == [1, 2]
    assert not loop.alive
    t1.close()
    t2.close()
    runner.run(loop)


def test_run_nowait_does_not_block(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(calls.append, 60.0)
    before = loop.now()
    assert loop.run(uv.UV_RUN_NOWAIT) is True
    assert calls == []
    assert loop.now() - before < 30_000
    timer.close()
    runner.run(loop)


def test_run_once_blocks_for_one_event(loop, runner):
    calls = []
    short, long_ = uv.Timer(loop), uv.Timer(loop)
    short.start(lambda t: calls.append("short"), 0.01)
    long_.start(lambda t: calls.append("long"), 60.0)
    # The first iteration only has a 10 ms timer to wait for; run ONCE until it fired.
    watchdog = 0
    while not calls and watchdog < 100:
        assert loop.run(uv.UV_RUN_ONCE) is True       # the long timer is still pending
        watchdog += 1
    assert calls == ["short"]
    long_.stop()
    assert loop.run(uv.UV_RUN_ONCE) is False
    short.close()
    long_.close()
    runner.run(loop)


def test_run_once_returns_false_when_the_last_event_ran(loop, runner):
    calls = []
    timer = uv.Timer(loop)
    timer.start(calls.append, 0.005)
    result = loop.run(uv.UV_RUN_ONCE)
    if not calls:                      # woke up early (clock granularity): once more
        result = loop.run(uv.UV_RUN_ONCE)
    assert calls == [timer]
    assert result is False
    timer.close()
    runner.run(loop)


@pytest.mark.parametrize("mode", [3, -1, 99])
def test_invalid_mode_raises_value_error(loop, mode):
    with pytest.raises(ValueError):
        loop.run(mode)
    assert not loop.running


def test_non_int_mode_raises_type_error(loop):
    with pytest.raises(TypeError):
        loop.run("once")


def test_running_property(loop, runner):
    seen = []
    timer = uv.Timer(loop)
    timer.start(lambda t: seen.append(loop.running), 0)
    assert not loop.running
    runner.run(loop)
    assert seen == [True]
    assert not loop.running
    timer.close()
    runner.run(loop)


def test_running_twice_raises_loop_error(loop, runner):
    outcome = []

    def on_timer(t):
        for mode in (uv.UV_RUN_DEFAULT, uv.UV_RUN_NOWAIT):
            try:
                loop.run(mode)
            except uv.error.LoopError as exc:
                outcome.append(exc)
        t.close()

    timer = uv.Timer(loop)
    timer.start(on_timer, 0)
    runner.run(loop)
    assert len(outcome) == 2
    for exc in outcome:
        assert isinstance(exc, uv.error.UVError)
        assert exc.args[0] == uv.errno.UV_EBUSY
    assert not loop.running
    # Still usable afterwards.
    calls = []
    again = uv.Timer(loop)
    again.start(calls.append, 0)
    runner.run(loop)
    assert calls == [again]
    again.close()
    runner.run(loop)


def test_another_loop_can_run_inside_a_callback(loop, runner):
    inner = uv.Loop()
    calls = []
    it = uv.Timer(inner)
    it.start(lambda t: calls.append(("inner", threading.get_ident())), 0.005)

    def on_outer(t):
        calls.append(("outer", loop.running, inner.running))
        inner.run()
        calls.append(("outer again", loop.running, inner.running))

    ot = uv.Timer(loop)
    ot.start(on_outer, 0)
    runner.run(loop)
    assert calls == [("outer", True, False), ("inner", threading.get_ident()),
                     ("outer again", True, False)]
    it.close()
    ot.close()
    runner.run(inner)
    runner.run(loop)


def test_run_restores_the_signal_wakeup_fd(loop, runner):
    a, b = socket.socketpair()
    a.setblocking(False)
    fd = a.fileno()
    previous = signal.set_wakeup_fd(fd)
    try:
        timer = uv.Timer(loop)
        timer.start(lambda t: None, 0)
        runner.run(loop)
        timer.close()
        runner.run(loop)
    finally:
        mine = signal.set_wakeup_fd(previous)
        a.close()
        b.close()
    assert mine == fd


# -- stop --------------------------------------------------------------------------------

def test_stop_from_a_callback(loop, runner):
    calls = []

    def on_timer(t):
        calls.append(1)
        if len(calls) == 3:
            loop.stop()

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001, 0.001)
    assert loop.run() is True          # stopped with the repeating timer still active
    assert len(calls) == 3
    assert timer.active
    # The loop can run again and picks up where it stopped.
    timer.start(lambda t: (calls.append(2), t.stop()), 0.001, 0.001)
    assert loop.run() is False
    assert calls == [1, 1, 1, 2]
    timer.close()
    runner.run(loop)


def test_stop_does_not_wait_for_a_blocking_poll(loop, runner):
    calls = []
    idle = uv.Idle(loop)
    idle.start(lambda h: (calls.append(1), loop.stop(), h.stop()))
    blocker = uv.Timer(loop)
    blocker.start(lambda t: calls.append("blocker"), 60.0)
    # If stop() did not make the poll non-blocking, this would wait for the watchdog.
    runner.run(loop, timeout=5)
    assert calls == [1]
    idle.close()
    blocker.close()
    runner.run(loop)


# -- time --------------------------------------------------------------------------------

def test_now_and_time(loop, runner):
    now = loop.now()
    assert isinstance(now, int)
    t = loop.time()
    assert isinstance(t, float)
    assert t == pytest.approx(now / 1000.0, abs=0.002)


def test_update_time(loop):
    loop.update_time()
    before = loop.now()
    threading.Event().wait(0.03)       # let the clock advance (not a synchronisation)
    assert loop.now() == before        # cached: unchanged until updated
    loop.update_time()
    after = loop.now()
    assert after - before >= 20
    assert loop.time() == pytest.approx(after / 1000.0)


def test_running_advances_time(loop, runner):
    loop.update_time()
    before = loop.now()
    timer = uv.Timer(loop)
    timer.start(lambda t: None, 0.03)
    runner.run(loop)
    assert loop.now() - before >= 30
    timer.close()
    runner.run(loop)


# -- introspection -----------------------------------------------------------------------

def test_alive(loop, runner):
    assert loop.alive is False
    timer = uv.Timer(loop)
    assert loop.alive is False         # a handle that is not active does not count
    timer.start(lambda t: None, 60.0)
    assert loop.alive is True
    timer.ref = False
    assert loop.alive is False
    timer.ref = True
    timer.stop()
    assert loop.alive is False
    a = uv.Async(loop)                 # active from birth
    assert loop.alive is True
    a.close()
    timer.close()
    runner.run(loop)
    assert loop.alive is False


def test_handles(loop, runner):
    other = uv.Loop()
    assert loop.handles == []
    timer, idle, a = uv.Timer(loop), uv.Idle(loop), uv.Async(loop)
    elsewhere = uv.Timer(other)
    handles = loop.handles
    assert len(handles) == 3
    assert {id(h) for h in handles} == {id(timer), id(idle), id(a)}
    assert all(h.loop is loop for h in handles)
    idle.close()
    assert len(loop.handles) == 3      # closing, not closed yet
    loop.run(uv.UV_RUN_NOWAIT)         # (the Async would keep a DEFAULT run going)
    assert {id(h) for h in loop.handles} == {id(timer), id(a)}
    timer.close()
    a.close()
    runner.run(loop)
    assert loop.handles == []
    assert other.handles == [elsewhere]
    elsewhere.close()
    runner.run(other)


def test_handles_after_run_does_not_list_internal_handles(loop, runner):
    # The loop's own signal-wakeup watcher (installed by run()) is not a user handle.
    loop.run()
    assert loop.handles == []


def test_fileno(loop):
    fd = loop.fileno()
    assert isinstance(fd, int)
    assert fd >= 0
    other = uv.Loop()
    assert other.fileno() != fd
    assert other.fileno() >= 0
    link = f"/proc/self/fd/{fd}"
    if os.path.exists(link):
        assert os.readlink(link) == "anon_inode:[eventpoll]"


def test_get_timeout(loop, runner):
    loop.run(uv.UV_RUN_NOWAIT)         # libuv returns 0 until a run registered its fds
    assert loop.get_timeout() == 0     # nothing to wait for
    a = uv.Async(loop)
    loop.run(uv.UV_RUN_NOWAIT)
    assert loop.get_timeout() == -1    # an active handle and no timer: block for ever
    timer = uv.Timer(loop)
    loop.update_time()
    timer.start(lambda t: None, 10.0)
    assert 9_000 < loop.get_timeout() <= 10_000
    idle = uv.Idle(loop)
    idle.start(lambda h: None)
    assert loop.get_timeout() == 0
    for h in (a, timer, idle):
        h.close()
    runner.run(loop)


def test_default_loop_is_a_singleton():
    d = uv.Loop.default_loop()
    assert isinstance(d, uv.Loop)
    assert d is uv.Loop.default_loop()
    assert d.default is True
    fresh = uv.Loop()
    assert fresh is not d
    assert fresh.default is False


def test_default_loop_runs_handles(runner):
    d = uv.Loop.default_loop()
    # The default loop may not have run for a while: its cached time is stale, and a
    # timer (the runner's watchdog too) counts from the cached time.
    d.update_time()
    calls = []
    timer = uv.Timer(d)
    timer.start(calls.append, 0.001)
    runner.run(d)
    assert calls == [timer]
    timer.close()
    runner.run(d)


def test_loops_are_independent(runner):
    a, b = uv.Loop(), uv.Loop()
    calls = []
    ta, tb = uv.Timer(a), uv.Timer(b)
    ta.start(lambda t: calls.append("a"), 0.001)
    tb.start(lambda t: calls.append("b"), 0.001)
    runner.run(a)
    assert calls == ["a"]
    assert b.alive
    runner.run(b)
    assert calls == ["a", "b"]
    ta.close()
    tb.close()
    runner.run(a)
    runner.run(b)


def test_loop_attributes():
    lp = uv.Loop()
    lp.name = "mine"
    assert lp.name == "mine"


# -- queue_work ----------------------------------------------------------------------------

def test_queue_work_runs_on_a_pool_thread(loop, runner):
    main = threading.get_ident()
    work_threads = []
    done = []

    def work():
        work_threads.append(threading.get_ident())

    def on_done(error):
        done.append((error, threading.get_ident()))

    req = loop.queue_work(work, on_done)
    assert isinstance(req, uv.WorkRequest)
    assert req.active
    assert loop.alive                  # a pending request keeps the loop alive
    runner.run(loop)
    assert len(work_threads) == 1
    assert work_threads[0] != main
    assert done == [(None, main)]
    assert not req.active
    assert req.cancel() is False       # too late


def test_queue_work_without_done_callback(loop, runner):
    ran = threading.Event()
    loop.queue_work(ran.set)
    runner.run(loop)
    assert ran.is_set()


def test_queue_work_many(loop, runner):
    lock = threading.Lock()
    results = []
    done = []

    def make(i):
        def work():
            with lock:
                results.append(i)
        return work

    for i in range(50):
        loop.queue_work(make(i), done.append)
    runner.run(loop, timeout=10)
    assert sorted(results) == list(range(50))
    assert done == [None] * 50


def test_queue_work_cancel(loop, runner):
    """Occupy every pool thread, queue one more request, and cancel it before it runs."""
    n = pool_size()
    gate = threading.Event()
    started_lock = threading.Lock()
    started = []
    all_started = threading.Event()
    victim_ran = []
    done = []

    def blocker():
        with started_lock:
            started.append(1)
            if len(started) == n:
                all_started.set()
        gate.wait(10)

    try:
        blockers = [loop.queue_work(blocker, lambda err: done.append(("blocker", err)))
                    for _ in range(n)]
        assert all_started.wait(10), "the pool threads did not all start"
        req = loop.queue_work(lambda: victim_ran.append(1),
                              lambda err: done.append(("victim", err)))
        assert req.cancel() is True
        assert all(b.cancel() is False for b in blockers)    # already running
    finally:
        gate.set()
    runner.run(loop, timeout=10)
    assert victim_ran == []
    assert ("victim", uv.errno.UV_ECANCELED) in done
    assert sorted(done) == sorted([("blocker", None)] * n + [("victim", uv.errno.UV_ECANCELED)])
    assert req.cancel() is False


def test_queue_work_exception_goes_to_excepthook(loop, runner):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append((typ, value, tb,
                                                          threading.get_ident()))
    done = []

    def work():
        raise ValueError("in the pool")

    loop.queue_work(work, done.append)
    runner.run(loop)
    assert len(seen) == 1
    typ, value, tb, thread = seen[0]
    assert typ is ValueError
    assert str(value) == "in the pool"
    assert tb is not None
    assert thread == threading.get_ident()     # reported on the loop's thread
    assert done == [None]


def test_queue_work_exception_in_done_callback_goes_to_excepthook(loop, runner):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(typ)

    def on_done(err):
        raise RuntimeError

    loop.queue_work(lambda: None, on_done)
    runner.run(loop)
    assert seen == [RuntimeError]


def test_queue_work_keyboard_interrupt_in_work_stops_the_loop(loop, runner):
    def work():
        raise KeyboardInterrupt

    loop.queue_work(work)
    with pytest.raises(KeyboardInterrupt):
        runner.run(loop)
    assert not loop.running


def test_queue_work_from_another_thread_while_not_running(loop, runner):
    done = []
    th = threading.Thread(target=loop.queue_work, args=(lambda: None, done.append))
    th.start()
    th.join(5)
    runner.run(loop)
    assert done == [None]


def test_queue_work_needs_callables(loop):
    with pytest.raises(TypeError):
        loop.queue_work(None)
    with pytest.raises(TypeError):
        loop.queue_work(42, lambda err: None)
    with pytest.raises(TypeError):
        loop.queue_work(lambda: None, "done")
    assert not loop.alive


# -- excepthook --------------------------------------------------------------------------

def _raise_then_continue(loop, exc):
    """Two timers: the first raises ``exc``, the second records that the loop went on."""
    went_on = []
    t1, t2 = uv.Timer(loop), uv.Timer(loop)

    def boom(t):
        raise exc

    t1.start(boom, 0.001)
    t2.start(lambda t: went_on.append(True), 0.02)
    return (t1, t2), went_on


def test_default_excepthook_prints_and_the_loop_goes_on(loop, runner, capsys):
    timers, went_on = _raise_then_continue(loop, ValueError("boom 42"))
    runner.run(loop)
    assert went_on == [True]
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ValueError: boom 42" in err
    assert "boom" in err
    for t in timers:
        t.close()
    runner.run(loop)


def test_assigned_excepthook_gets_type_value_traceback(loop, runner, capsys):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append((typ, value, tb))
    exc = ValueError("mine")
    timers, went_on = _raise_then_continue(loop, exc)
    runner.run(loop)
    assert went_on == [True]
    assert len(seen) == 1
    typ, value, tb = seen[0]
    assert typ is ValueError
    assert value is exc
    assert tb is not None and tb.tb_frame is not None
    assert capsys.readouterr().err == ""      # the default hook did not run
    for t in timers:
        t.close()
    runner.run(loop)


def test_subclass_excepthook(runner, capsys):
    class MyLoop(uv.Loop):
        def __init__(self):
            self.seen = []

        def excepthook(self, typ, value, tb):
            self.seen.append(typ)

    lp = MyLoop()
    timers, went_on = _raise_then_continue(lp, KeyError("k"))
    runner.run(lp)
    assert lp.seen == [KeyError]
    assert went_on == [True]
    assert capsys.readouterr().err == ""
    for t in timers:
        t.close()
    runner.run(lp)


def test_excepthook_that_raises_does_not_kill_the_loop(loop, runner, capsys):
    def hook(typ, value, tb):
        raise RuntimeError("the hook failed")

    loop.excepthook = hook
    timers, went_on = _raise_then_continue(loop, ValueError("first"))
    runner.run(loop)
    assert went_on == [True]
    err = capsys.readouterr().err
    assert "the hook failed" in err
    for t in timers:
        t.close()
    runner.run(loop)


def test_excepthook_raising_keyboard_interrupt_stops_the_loop(loop, runner):
    def hook(typ, value, tb):
        raise KeyboardInterrupt

    loop.excepthook = hook
    timers, went_on = _raise_then_continue(loop, ValueError("first"))
    with pytest.raises(KeyboardInterrupt):
        runner.run(loop)
    assert went_on == []
    assert not loop.running
    for t in timers:
        t.close()
    runner.run(loop)


# -- KeyboardInterrupt and SystemExit --------------------------------------------------------

@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3)])
def test_keyboard_interrupt_and_system_exit_propagate_out_of_run(loop, runner, exc):
    hooked = []
    loop.excepthook = lambda *args: hooked.append(args)
    calls = []

    def on_timer(t):
        calls.append(1)
        if len(calls) == 1:
            raise exc

    timer = uv.Timer(loop)
    timer.start(on_timer, 0.001, 0.001)    # would repeat until the watchdog
    with pytest.raises(type(exc)) as info:
        runner.run(loop)
    assert info.value is exc
    # (The runner's clean-up iteration after run() may have fired it once more.)
    assert calls in ([1], [1, 1])
    assert hooked == []                    # not routed to excepthook
    assert not loop.running
    assert timer.active
    # The loop is still usable.
    timer.start(lambda t: (calls.append(2), t.stop()), 0.001)
    runner.run(loop)
    assert calls[-1] == 2 and calls.count(2) == 1
    timer.close()
    runner.run(loop)


def test_system_exit_code_is_kept(loop, runner):
    timer = uv.Timer(loop)
    timer.start(lambda t: sys.exit(7), 0)
    with pytest.raises(SystemExit) as info:
        runner.run(loop)
    assert info.value.code == 7
    timer.close()
    runner.run(loop)


def test_ctrl_c_while_blocked_in_poll(loop, runner):
    """SIGINT while the main thread blocks in epoll_wait raises KeyboardInterrupt."""
    assert threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    killer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    blocker = uv.Timer(loop)
    blocker.start(lambda t: None, 60.0)     # the loop has nothing to do for a minute
    # Start the killer from inside the loop, so the signal lands while it runs.
    starter = uv.Timer(loop)
    starter.start(lambda t: killer.start(), 0)
    loop.update_time()
    before = loop.now()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(loop, timeout=10)
    finally:
        killer.cancel()
        killer.join(5)
        signal.signal(signal.SIGINT, old)
    loop.update_time()
    assert loop.now() - before < 9_000     # well before the watchdog would have stopped it
    assert not loop.running
    assert blocker.active
    for t in (blocker, starter):
        t.close()
    runner.run(loop)


def test_python_signal_handler_runs_while_blocked_in_poll(loop, runner):
    """Any Python-level handler runs promptly; an exception it raises goes to excepthook."""
    got = []
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(typ)

    def handler(signum, frame):
        got.append(signum)
        blocker.close()
        raise ValueError("from the handler")

    old = signal.signal(signal.SIGUSR2, handler)
    killer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR2))
    blocker = uv.Timer(loop)
    blocker.start(lambda t: None, 60.0)
    starter = uv.Timer(loop)
    starter.start(lambda t: (killer.start(), t.close()), 0)
    loop.update_time()
    before = loop.now()
    try:
        runner.run(loop, timeout=10)
    finally:
        killer.cancel()
        killer.join(5)
        signal.signal(signal.SIGUSR2, old)
    assert got == [signal.SIGUSR2]
    assert seen == [ValueError]
    loop.update_time()
    assert loop.now() - before < 9_000     # promptly, not when the watchdog woke the loop


# -- threads -----------------------------------------------------------------------------

class LoopThread:
    """Runs ``loop`` in a worker thread; ``stop()`` ends it through an Async."""

    def __init__(self, loop):
        self.loop = loop
        self.running = threading.Event()
        self.result = []
        self.stopper = uv.Async(loop, self._on_stop)
        self._marker = uv.Timer(loop)
        self._marker.start(lambda t: (self.running.set(), t.stop()), 0)
        self.thread = threading.Thread(target=self._run)

    def _on_stop(self, h):
        h.close()
        self._marker.close()

    def _run(self):
        try:
            self.result.append(self.loop.run())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.result.append(exc)

    def __enter__(self):
        self.thread.start()
        assert self.running.wait(5), "the loop did not start"
        return self

    def __exit__(self, *exc):
        if not self.stopper.closed:
            self.stopper.send()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.result == [False]


def test_thread_rule_while_running_elsewhere(loop, runner):
    timer = uv.Timer(loop)
    idle = uv.Idle(loop)
    with LoopThread(loop) as lt:
        assert loop.running
        checks = {
            "timer.start": lambda: timer.start(lambda t: None, 1.0),
            "timer.stop": timer.stop,
            "timer.ref": lambda: setattr(timer, "ref", False),
            "timer.close": timer.close,
            "idle.start": lambda: idle.start(lambda h: None),
            "Timer()": lambda: uv.Timer(loop),
            "Async()": lambda: uv.Async(loop),
            "Poll()": lambda: uv.Poll(loop, lt.loop.fileno()),
            "loop.stop": loop.stop,
            "loop.update_time": loop.update_time,
            "loop.queue_work": lambda: loop.queue_work(lambda: None),
        }
        for name, call in checks.items():
            with pytest.raises(uv.error.ThreadError) as info:
                call()
            assert isinstance(info.value, uv.error.UVError), name
            assert isinstance(info.value, OSError), name
            assert len(info.value.args) == 2, name
        # A second run() from here is refused too.
        with pytest.raises(uv.error.LoopError):
            loop.run(uv.UV_RUN_NOWAIT)
        # Reading state is harmless.
        assert not timer.active
        assert not timer.closed
        assert isinstance(loop.now(), int)
    # Nothing was changed by the refused calls.
    assert not timer.active and not timer.closed and timer.ref
    assert not idle.active
    # Not running any more: this thread may use everything again.
    calls = []
    timer.start(calls.append, 0)
    runner.run(loop)
    assert calls == [timer]
    timer.close()
    idle.close()
    runner.run(loop)


def test_any_thread_may_use_a_loop_that_is_not_running(loop, runner):
    calls = []
    made = []

    def setup():
        t = uv.Timer(loop)
        t.start(lambda h: calls.append(threading.get_ident()), 0.001)
        made.append(t)

    th = threading.Thread(target=setup)
    th.start()
    th.join(5)
    assert len(made) == 1
    runner.run(loop)                   # the callback runs on the thread running the loop
    assert calls == [threading.get_ident()]

    # And the other way round: set up here, run there.
    made[0].start(lambda h: calls.append(threading.get_ident()), 0.001)
    th = threading.Thread(target=runner.run, args=(loop,))
    th.start()
    th.join(10)
    assert not th.is_alive()
    assert calls[1] == th.ident
    made[0].close()
    runner.run(loop)


def test_callbacks_run_on_the_running_thread(loop):
    seen = []
    t = uv.Timer(loop)

    def on_timer(h):
        seen.append(threading.get_ident())
        if len(seen) == 5:
            h.stop()

    t.start(on_timer, 0, 0.001)
    with LoopThread(loop) as lt:
        pass
    assert seen and set(seen) == {lt.thread.ident}
    t.close()
    loop.run()


def test_one_loop_per_thread(runner):
    """Several loops, each running in its own thread at the same time."""
    n = 4
    results = [None] * n
    loops = [uv.Loop() for _ in range(n)]

    def work(i):
        lp = loops[i]
        count = []
        t = uv.Timer(lp)
        t.start(lambda h: (count.append(1), len(count) == 20 and h.close()), 0.001, 0.001)
        runner.run(lp, timeout=10)
        results[i] = len(count)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(15)
    assert results == [20] * n

"""Signal: start/stop/start_oneshot with SIGUSR1 sent by os.kill.

libuv restores SIG_DFL when the last watcher of a signal stops, and SIG_DFL for SIGUSR1
ends the process: a test only sends SIGUSR1 while some watcher of it is active.
"""

import os
import signal
import threading

import pytest

from sourcey import uv

SIG = signal.SIGUSR1


def kill_self(signum=SIG):
    os.kill(os.getpid(), signum)


def test_start_delivers_on_the_loop(loop, runner):
    got = []
    sig = uv.Signal(loop)
    assert sig.signum == 0
    sig.start(lambda h, signum: got.append((h, signum)), SIG)
    assert sig.active
    assert sig.signum == SIG
    kill_self()
    runner.until(loop, lambda: got)
    assert got == [(sig, SIG)]
    # Still watching: a second signal is delivered too.
    kill_self()
    runner.until(loop, lambda: len(got) == 2)
    assert got[1] == (sig, SIG)
    sig.close()
    runner.run(loop)


def test_stop(loop, runner):
    got = []
    a, b = uv.Signal(loop), uv.Signal(loop)
    a.start(lambda h, n: got.append("a"), SIG)
    b.start(lambda h, n: got.append("b"), SIG)   # keeps libuv's handler installed
    a.stop()
    assert not a.active
    assert a.signum == 0
    kill_self()
    runner.until(loop, lambda: "b" in got)
    loop.run(uv.UV_RUN_NOWAIT)
    assert got == ["b"]
    b.stop()
    runner.run(loop, timeout=2)        # nothing active: the loop finishes
    a.close()
    b.close()
    runner.run(loop)


def test_start_oneshot(loop, runner):
    got = []
    once, keeper = uv.Signal(loop), uv.Signal(loop)
    once.start_oneshot(lambda h, n: got.append(("once", n)), SIG)
    keeper.start(lambda h, n: got.append(("keeper", n)), SIG)
    assert once.active
    kill_self()
    runner.until(loop, lambda: len(got) == 2)
    assert sorted(got) == [("keeper", SIG), ("once", SIG)]
    assert not once.active
    assert once.signum == 0
    kill_self()
    runner.until(loop, lambda: len(got) == 3)
    loop.run(uv.UV_RUN_NOWAIT)
    assert got[2] == ("keeper", SIG)
    assert len(got) == 3
    once.close()
    keeper.close()
    runner.run(loop)


def test_unreferenced_signal_does_not_keep_the_loop_alive(loop, runner):
    sig = uv.Signal(loop)
    sig.start(lambda h, n: None, SIG)
    assert loop.alive
    sig.ref = False
    assert not loop.alive
    runner.run(loop, timeout=2)
    sig.close()
    runner.run(loop)


def test_delivered_on_the_thread_running_the_loop(loop, runner):
    got = []
    running = threading.Event()
    sig = uv.Signal(loop)
    sig.start(lambda h, n: (got.append(threading.get_ident()), h.close()), SIG)
    prep = uv.Prepare(loop)
    prep.start(lambda h: (running.set(), h.close()))
    errors = []

    def target():
        try:
            runner.run(loop, timeout=5)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    assert running.wait(5)
    kill_self()
    t.join(10)
    assert not t.is_alive()
    assert errors == []
    assert got == [t.ident]


def test_exception_in_callback_goes_to_excepthook(loop, runner):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(typ)
    sig = uv.Signal(loop)

    def cb(h, n):
        h.close()
        raise ZeroDivisionError

    sig.start(cb, SIG)
    kill_self()
    runner.run(loop)
    assert seen == [ZeroDivisionError]


@pytest.mark.parametrize("signum", [0, -1, 100000, signal.SIGKILL, signal.SIGSTOP])
def test_invalid_signum_raises_signal_error(loop, runner, signum):
    sig = uv.Signal(loop)
    with pytest.raises(uv.error.SignalError) as info:
        sig.start(lambda h, n: None, signum)
    assert info.value.args[0] == uv.errno.UV_EINVAL
    with pytest.raises(uv.error.SignalError):
        sig.start_oneshot(lambda h, n: None, signum)
    assert not sig.active
    sig.close()
    runner.run(loop)


def test_errors(loop, runner):
    with pytest.raises(TypeError):
        uv.Signal(None)
    sig = uv.Signal(loop)
    with pytest.raises(TypeError):
        sig.start(None, SIG)
    with pytest.raises(TypeError):
        sig.start_oneshot("x", SIG)
    with pytest.raises(TypeError):
        sig.start(lambda h, n: None, "SIGUSR1")
    assert not sig.active
    sig.stop()                          # stopping an idle watcher is fine
    sig.close()
    with pytest.raises(uv.error.HandleClosedError):
        sig.start(lambda h, n: None, SIG)
    with pytest.raises(uv.error.HandleClosedError):
        sig.start_oneshot(lambda h, n: None, SIG)
    with pytest.raises(uv.error.HandleClosedError):
        sig.stop()
    runner.run(loop)


def test_close_on_signals_closes_what_keeps_the_loop_alive(loop, runner):
    """The first watched signal: on_signal runs, then the closables and the watchers
    close, and run() returns by itself."""
    seen = []
    timer = uv.Timer(loop)
    timer.start(lambda t: None, 60.0, 60.0)         # would keep the loop alive
    watchers = uv.close_on_signals(loop, timer, signums=(SIG, signal.SIGUSR2),
                                   on_signal=seen.append)
    assert [w.signum for w in watchers] == [SIG, signal.SIGUSR2]
    loop.queue_work(kill_self)                      # sent while run() is waiting
    runner.run(loop, timeout=5)
    assert seen == [SIG]
    assert timer.closed and all(w.closed for w in watchers)

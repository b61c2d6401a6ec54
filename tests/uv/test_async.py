"""Async: wake-ups from the loop's thread and from others, coalescing, closing."""

import threading

import pytest

from sourcey import uv


def test_send_from_the_loop_thread(loop, runner):
    calls = []
    a = uv.Async(loop, lambda h: (calls.append(h), h.close()))
    timer = uv.Timer(loop)
    timer.start(lambda t: (a.send(), t.close()), 0.001)
    runner.run(loop)
    assert calls == [a]
    assert a.closed


def test_send_before_run(loop, runner):
    calls = []
    a = uv.Async(loop, lambda h: (calls.append(1), h.close()))
    a.send()
    runner.run(loop)
    assert calls == [1]


def test_sends_coalesce(loop, runner):
    calls = []
    a = uv.Async(loop, lambda h: calls.append(1))
    for _ in range(100):
        a.send()
    runner.until(loop, lambda: calls)
    for _ in range(3):
        loop.run(uv.UV_RUN_NOWAIT)
    assert calls == [1]
    # A send after the callback ran wakes the loop again.
    a.send()
    runner.until(loop, lambda: len(calls) == 2)
    a.close()
    runner.run(loop)
    assert calls == [1, 1]


def test_async_is_active_and_keeps_the_loop_alive(loop, runner):
    a = uv.Async(loop, lambda h: None)
    assert a.active
    assert loop.alive
    a.ref = False
    assert not loop.alive
    runner.run(loop, timeout=2)        # unreferenced: the loop does not wait for it
    a.close()
    assert not a.active
    runner.run(loop)


def test_async_without_callback(loop, runner):
    a = uv.Async(loop)
    a.send()
    loop.run(uv.UV_RUN_NOWAIT)
    a.close()
    runner.run(loop)


def test_non_callable_callback_raises_type_error(loop):
    with pytest.raises(TypeError):
        uv.Async(loop, 42)
    with pytest.raises(TypeError):
        uv.Async(None, lambda h: None)


def test_send_after_close_raises(loop, runner):
    a = uv.Async(loop, lambda h: None)
    a.close()
    with pytest.raises(uv.error.HandleClosedError) as info:
        a.send()
    assert info.value.args[0] == uv.errno.UV_EBADF
    runner.run(loop)
    with pytest.raises(uv.error.HandleClosedError):
        a.send()


def test_close_drops_a_pending_send(loop, runner):
    calls = []
    a = uv.Async(loop, lambda h: calls.append(1))
    a.send()
    a.close()
    runner.run(loop)
    assert calls == []


def test_exception_in_callback_goes_to_excepthook(loop, runner):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(typ)

    def cb(h):
        h.close()
        raise LookupError

    a = uv.Async(loop, cb)
    a.send()
    runner.run(loop)
    assert seen == [LookupError]


def test_many_threads_sending(loop, runner):
    """4 threads x 1000 sends: the loop wakes, every item put before a send is seen."""
    nthreads, nsends = 4, 1000
    lock = threading.Lock()
    queue = []
    received = []
    calls = []
    callback_threads = set()

    def on_async(h):
        calls.append(1)
        callback_threads.add(threading.get_ident())
        with lock:
            items = queue[:]
            del queue[:]
        received.extend(items)
        if len(received) == nthreads * nsends:
            h.close()

    a = uv.Async(loop, on_async)
    go = threading.Event()
    errors = []

    def producer(n):
        try:
            assert go.wait(5)
            for i in range(nsends):
                with lock:
                    queue.append((n, i))
                a.send()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(nthreads)]
    for t in threads:
        t.start()
    timer = uv.Timer(loop)
    timer.start(lambda t: (go.set(), t.close()), 0)
    try:
        runner.run(loop, timeout=20)
    finally:
        go.set()
        for t in threads:
            t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert 1 <= len(calls) <= nthreads * nsends
    assert callback_threads == {threading.get_ident()}
    assert sorted(received) == sorted((n, i) for n in range(nthreads) for i in range(nsends))
    # Each producer's items arrive in its own order.
    for n in range(nthreads):
        assert [i for m, i in received if m == n] == list(range(nsends))


def test_senders_racing_a_close(loop, runner):
    """Threads that send until the handle closes get HandleClosedError, never a crash."""
    calls = []

    def on_async(h):
        calls.append(1)
        if len(calls) == 20:
            h.close()

    a = uv.Async(loop, on_async)
    outcomes = []

    def sender():
        try:
            while True:
                a.send()
        except uv.error.HandleClosedError:
            outcomes.append("closed")
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        runner.run(loop, timeout=20)
    finally:
        if not a.closed:
            a.close()
        for t in threads:
            t.join(10)
    assert outcomes == ["closed"] * 3
    assert len(calls) == 20


def test_stop_a_loop_running_in_a_worker_thread(loop, runner):
    running = threading.Event()
    result = []
    stopper = uv.Async(loop, lambda h: loop.stop())
    keep_busy = uv.Timer(loop)
    keep_busy.start(lambda t: running.set(), 0, 0.01)

    def worker():
        try:
            result.append(loop.run())
        except BaseException as exc:  # noqa: BLE001 - reported below
            result.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    assert running.wait(5)
    assert loop.running
    stopper.send()
    t.join(10)
    assert not t.is_alive()
    assert result == [True]            # stopped with work left: run() says so
    assert not loop.running
    # Not running any more: the main thread may use the loop and its handles again.
    stopper.close()
    keep_busy.close()
    runner.run(loop)


def test_close_from_another_thread_while_running_raises(loop, runner):
    running = threading.Event()
    a = uv.Async(loop, lambda h: h.close())
    outcome = []

    def worker():
        try:
            runner.run(loop, timeout=10)
            outcome.append("ok")
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    prep = uv.Prepare(loop)
    prep.start(lambda h: (running.set(), h.close()))
    t = threading.Thread(target=worker)
    t.start()
    assert running.wait(5)
    with pytest.raises(uv.error.ThreadError):
        a.close()
    assert not a.closed
    a.send()                            # the one call allowed from here
    t.join(15)
    assert not t.is_alive()
    assert outcome == ["ok"]
    assert a.closed

"""Shared fixtures. Every test is bounded in time and, in the debug build, checked for
leaked handles and requests in its teardown."""

import gc
import os
import threading

import pytest

from sourcey import uv


def pytest_report_header(config):
    mode = "debug (leak counters on)" if uv.DEBUG else "release (no leak counters)"
    return f"sourcey.uv from {os.path.dirname(uv.__file__)}: libuv {uv.LIBUV_VERSION}, {mode}"


def _live():
    gc.collect()
    return uv.util.debug_counters()


@pytest.fixture(autouse=True)
def leak_check():
    """Fail a test that leaves handles or requests alive (debug build only)."""
    before = _live()
    yield
    if before is None:
        return
    after = _live()
    if after != before:
        # Give closes that the test started one more chance to finish.
        uv.Loop.default_loop().run(uv.UV_RUN_NOWAIT)
        after = _live()
    assert after == before, f"leaked libuv objects: before {before}, after {after}"


@pytest.fixture
def loop():
    """A fresh loop; whatever the test left open is closed (and reported) at the end."""
    lp = uv.Loop()
    yield lp
    left = [h for h in lp.handles if not h.closed]
    for h in left:
        h.close()
    run(lp, timeout=5.0)
    assert not left, f"test left handles open: {left}"


class LoopTimeout(AssertionError):
    pass


def run(lp, timeout=5.0, mode=uv.UV_RUN_DEFAULT):
    """Run ``lp`` until it has nothing left to do, failing after ``timeout`` seconds."""
    fired = []

    def expire(timer):
        fired.append(True)
        lp.stop()

    lp.update_time()  # the watchdog counts from now, not from the loop's last run
    watchdog = uv.Timer(lp)
    watchdog.start(expire, timeout)
    watchdog.ref = False
    try:
        lp.run(mode)
    finally:
        watchdog.close()
        lp.run(uv.UV_RUN_NOWAIT)
    if fired:
        raise LoopTimeout(f"the loop was still busy after {timeout} s")


def run_until(lp, predicate, timeout=5.0):
    """Run ``lp`` one iteration at a time until ``predicate()`` is true."""
    fired = []
    lp.update_time()
    watchdog = uv.Timer(lp)
    watchdog.start(lambda t: fired.append(True), timeout)
    try:
        while not predicate():
            if fired:
                raise LoopTimeout(f"condition not met after {timeout} s")
            lp.run(uv.UV_RUN_ONCE)
    finally:
        watchdog.close()
        lp.run(uv.UV_RUN_NOWAIT)


def run_in_thread(lp, fn, timeout=10.0):
    """Call the blocking ``fn()`` in a thread while ``lp`` serves (a peer process, an
    asyncio client); the thread wakes the loop when ``fn`` is done. Returns what ``fn``
    returned, or raises what it raised."""
    result = {}
    wake = uv.Async(lp, lambda handle: None)

    def target():
        try:
            result["value"] = fn()
        except BaseException as exc:        # handed to the test's thread
            result["error"] = exc
        finally:
            wake.send()

    thread = threading.Thread(target=target)
    thread.start()
    try:
        run_until(lp, lambda: result, timeout)
    finally:
        thread.join()
        wake.close()
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.fixture
def runner():
    """``runner.run(loop, timeout)``, ``runner.until(loop, predicate, timeout)`` and
    ``runner.in_thread(loop, fn, timeout)``."""

    class Runner:
        pass

    r = Runner()
    r.run = run
    r.until = run_until
    r.in_thread = run_in_thread
    return r


@pytest.fixture
def checked_loop(loop):
    """``loop``, with callback exceptions recorded (and the loop stopped) instead of only
    printed, so an assert inside a callback or slot fails the test. A test that raises
    on purpose takes them from ``loop.callback_errors``."""
    loop.callback_errors = []

    def hook(typ, value, tb):
        loop.callback_errors.append(value)
        loop.stop()

    loop.excepthook = hook
    yield loop
    assert not loop.callback_errors, f"callbacks raised: {loop.callback_errors!r}"


@pytest.fixture
def checked_runner(runner):
    """``runner``, re-raising the first exception a callback raised."""

    def reraise(lp):
        errors = getattr(lp, "callback_errors", None)
        if errors:
            first = errors[0]
            errors.clear()
            raise first

    class Checked:
        @staticmethod
        def run(lp, timeout=5.0):
            try:
                runner.run(lp, timeout)
            finally:
                reraise(lp)

        @staticmethod
        def until(lp, predicate, timeout=5.0):
            try:
                runner.until(lp, predicate, timeout)
            finally:
                reraise(lp)

        @staticmethod
        def in_thread(lp, fn, timeout=10.0):
            try:
                return runner.in_thread(lp, fn, timeout)
            finally:
                reraise(lp)

    return Checked()

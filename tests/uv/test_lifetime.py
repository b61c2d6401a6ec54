"""Lifetime: self-holding active handles, ResourceWarning for garbage, weakrefs, cyclic
GC, write buffers held until done, interpreter shutdown, fork, foreign-thread GC."""

import gc
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import warnings
import weakref

import pytest

from sourcey import uv


def counters():
    gc.collect()
    return uv.util.debug_counters()


needs_debug = pytest.mark.skipif(not uv.DEBUG, reason="needs the debug build's counters")


# -- handle factories ------------------------------------------------------------------

@pytest.fixture
def sockpair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def make_handles(loop, sockpair):
    """One of each handle type, none of them active (Async is active from birth)."""
    return {
        "Timer": lambda: uv.Timer(loop),
        "Idle": lambda: uv.Idle(loop),
        "Prepare": lambda: uv.Prepare(loop),
        "Check": lambda: uv.Check(loop),
        "Async": lambda: uv.Async(loop, lambda h: None),
        "Signal": lambda: uv.Signal(loop),
        "Poll": lambda: uv.Poll(loop, sockpair[0].fileno()),
        "TCP": lambda: uv.TCP(loop),
        "UDP": lambda: uv.UDP(loop),
        "Pipe": lambda: uv.Pipe(loop),
    }


KINDS = ["Timer", "Idle", "Prepare", "Check", "Async", "Signal", "Poll", "TCP", "UDP", "Pipe"]


def start_active(kind, h, cb):
    """Make ``h`` active with ``cb(h)`` called once when it fires (if it fires)."""
    if kind == "Timer":
        h.start(lambda t: cb(t), 0.001)
    elif kind in ("Idle", "Prepare", "Check"):
        h.start(lambda w: cb(w))
    elif kind == "Poll":
        h.start(uv.UV_WRITABLE, lambda p, ev, err: cb(p))
    else:
        raise AssertionError(kind)


# -- active handles hold themselves ------------------------------------------------------

@pytest.mark.parametrize("kind", ["Timer", "Idle", "Prepare", "Check", "Poll"])
def test_active_handle_without_reference_stays_alive_and_fires(loop, runner, sockpair,
                                                                kind):
    fired = []

    def cb(h):
        fired.append(type(h).__name__)
        h.close()

    spin = None
    if kind == "Check":
        spin = uv.Idle(loop)           # else the loop blocks in poll before any Check
        spin.start(lambda h: None)
        spin.ref = False
    h = make_handles(loop, sockpair)[kind]()
    start_active(kind, h, cb)
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is not None, "an active handle must hold itself"
    runner.run(loop)
    assert fired == [kind]
    gc.collect()
    assert ref() is None, "a closed handle must not stay alive"
    if spin is not None:
        spin.close()
        runner.run(loop)


def test_timer_without_reference_that_ends_inactive_is_collected_with_warning(loop, runner):
    fired = []
    t = uv.Timer(loop)
    t.start(lambda h: fired.append(1), 0.001)
    ref = weakref.ref(t)
    del t
    gc.collect()
    with pytest.warns(ResourceWarning, match="unclosed Timer"):
        runner.run(loop)
        gc.collect()
    assert fired == [1]
    assert ref() is None


def test_closing_handle_holds_itself_until_the_close_callback(loop, runner):
    got = []
    t = uv.Timer(loop)
    t.close(lambda h: got.append(h))
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is not None
    runner.run(loop)
    assert len(got) == 1 and isinstance(got[0], uv.Timer)
    del got[:]
    gc.collect()
    assert ref() is None


# -- garbage handles are closed with a ResourceWarning ------------------------------------

@needs_debug
@pytest.mark.parametrize("kind", KINDS)
def test_inactive_open_handle_garbage_is_closed_with_resource_warning(loop, sockpair, kind):
    before = counters()
    h = make_handles(loop, sockpair)[kind]()
    during = counters()
    assert during != before                  # the handle is counted
    assert len(loop.handles) == 1
    ref = weakref.ref(h)
    with pytest.warns(ResourceWarning, match=f"unclosed {kind}"):
        del h
        gc.collect()
    assert ref() is None
    assert loop.handles == []
    loop.run(uv.UV_RUN_NOWAIT)               # libuv finishes the close
    assert counters() == before


def test_garbage_in_a_cycle_is_closed_with_resource_warning(loop):
    h = uv.Idle(loop)
    h.me = h
    ref = weakref.ref(h)
    del h
    with pytest.warns(ResourceWarning, match="unclosed Idle"):
        gc.collect()
    assert ref() is None
    loop.run(uv.UV_RUN_NOWAIT)


@needs_debug
def test_loop_and_handle_cycle_is_collected(runner):
    before = counters()
    lp = uv.Loop()
    t = uv.Timer(lp)
    lp.timer = t
    t.start(lambda h: None, 0)
    t.stop()
    lref, tref = weakref.ref(lp), weakref.ref(t)
    del lp, t
    with pytest.warns(ResourceWarning, match="unclosed Timer"):
        gc.collect()
    assert tref() is None
    assert lref() is None
    assert counters() == before


# -- weakrefs, cycles, attributes ----------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_weakref_dies_after_close_and_del(loop, runner, sockpair, kind):
    h = make_handles(loop, sockpair)[kind]()
    ref = weakref.ref(h)
    assert ref() is h
    h.close()
    del h
    runner.run(loop)
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("kind", KINDS)
def test_cycle_through_an_attribute_is_collected_once_closed(loop, runner, sockpair, kind):
    h = make_handles(loop, sockpair)[kind]()
    h.me = h
    h.stuff = {"handle": h, "list": [h]}
    ref = weakref.ref(h)
    h.close()
    del h
    loop.run(uv.UV_RUN_NOWAIT)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)   # it was closed: no warning
        gc.collect()
    assert ref() is None


class Holder:
    def __init__(self, handle):
        self.handle = handle

    def callback(self, *args):
        pass


def test_cycle_through_a_callback_is_collected_once_closed(loop, runner):
    t = uv.Timer(loop)
    holder = Holder(t)
    t.start(holder.callback, 60.0)     # timer -> bound method -> holder -> timer
    holder_ref, t_ref = weakref.ref(holder), weakref.ref(t)
    t.close()
    del t, holder
    runner.run(loop)
    gc.collect()
    assert t_ref() is None
    assert holder_ref() is None


class Callback:
    def __call__(self, *args):
        pass


@pytest.mark.parametrize("kind", ["Timer", "Idle", "Prepare", "Check", "Poll", "Signal"])
def test_close_drops_the_callback(loop, runner, sockpair, kind):
    h = make_handles(loop, sockpair)[kind]()
    cb = Callback()
    if kind == "Signal":
        h.start(cb, signal.SIGUSR1)
    elif kind == "Poll":
        h.start(uv.UV_READABLE, cb)
    elif kind == "Timer":
        h.start(cb, 60.0)
    else:
        h.start(cb)
    cb_ref = weakref.ref(cb)
    del cb
    gc.collect()
    assert cb_ref() is not None
    h.close()
    runner.run(loop)
    gc.collect()
    assert cb_ref() is None


def test_async_close_drops_the_callback(loop):
    cb = Callback()
    a = uv.Async(loop, cb)
    cb_ref = weakref.ref(cb)
    del cb
    a.close()
    loop.run(uv.UV_RUN_NOWAIT)
    gc.collect()
    assert cb_ref() is None


def test_arbitrary_attributes_and_loop(loop, runner, sockpair):
    for kind, make in make_handles(loop, sockpair).items():
        h = make()
        h.name = kind
        h.data = [1, 2, 3]
        assert h.name == kind
        assert h.data == [1, 2, 3]
        assert h.__dict__ == {"name": kind, "data": [1, 2, 3]}
        del h.name
        assert not hasattr(h, "name")
        assert h.loop is loop
        with pytest.raises(AttributeError):
            h.loop = uv.Loop()
        h.close()
        assert h.loop is loop              # still known once closed
    loop.run(uv.UV_RUN_NOWAIT)
    runner.run(loop)


# -- write buffers are held until the write completes -----------------------------------

@pytest.fixture
def tcp_pair(loop, runner):
    server = uv.TCP(loop)
    server.bind(("127.0.0.1", 0))
    accepted = []

    def on_connection(srv, error):
        assert error is None
        conn = uv.TCP(loop)
        srv.accept(conn)
        accepted.append(conn)

    server.listen(on_connection)
    client = uv.TCP(loop)
    connected = []
    client.connect(server.getsockname(), lambda h, err: connected.append(err))
    runner.until(loop, lambda: accepted and connected)
    assert connected == [None]
    yield client, accepted[0]
    for h in (server, client, accepted[0]):
        h.close()
    runner.run(loop)


class WeakBytearray(bytearray):
    """A bytearray that can be weakly referenced."""


SIZE = 8 << 20      # more than the loopback socket buffers take without a reader


def _payload():
    return random.Random(20261129).randbytes(SIZE)


@pytest.mark.parametrize("shape", ["bytes", "bytearray", "memoryview", "list"])
@pytest.mark.parametrize("with_callback", [False, True], ids=["no-cb", "cb"])
def test_pending_write_keeps_its_buffer_alive(loop, runner, tcp_pair, shape, with_callback):
    client, server_side = tcp_pair
    payload = _payload()
    digest = hashlib.sha256(payload).digest()
    if shape == "bytes":
        data = payload
        ref = None
    elif shape == "bytearray":
        data = WeakBytearray(payload)
        ref = weakref.ref(data)
    elif shape == "memoryview":
        backing = WeakBytearray(b"<" + payload + b">")
        data = memoryview(backing)[1:-1]
        ref = weakref.ref(backing)
        del backing
    else:
        half = SIZE // 2
        first, second = WeakBytearray(payload[:half]), WeakBytearray(payload[half:])
        data = [first, memoryview(second)]
        ref = weakref.ref(second)
        del first, second
    del payload
    written = []
    refcount = sys.getrefcount(data)
    if with_callback:
        client.write(data, lambda h, err: written.append(err))
    else:
        client.write(data)
    assert client.write_queue_size > 0, "the write did not stay pending: test is void"
    if shape == "bytes":
        assert sys.getrefcount(data) == refcount + 1     # held by the write request
    if shape == "bytearray":
        with pytest.raises(BufferError):
            data.extend(b"x")              # exported to libuv, not copied
    del data
    gc.collect()
    if ref is not None:
        assert ref() is not None, "the pending write must hold its buffer"
    # Churn the allocator: freed buffer memory would now hold other bytes.
    churn = [bytearray(b"\xaa") * SIZE for _ in range(3)]
    del churn

    received = []
    total = [0]

    def on_read(h, chunk, err):
        assert err is None
        received.append(chunk)
        total[0] += len(chunk)
        if total[0] >= SIZE:
            h.stop_read()

    server_side.start_read(on_read)
    runner.until(loop, lambda: total[0] >= SIZE and
                 (written or not with_callback) and client.write_queue_size == 0,
                 timeout=20)
    assert total[0] == SIZE
    assert hashlib.sha256(b"".join(received)).digest() == digest
    if with_callback:
        assert written == [None]
    gc.collect()
    if ref is not None:
        assert ref() is None, "the buffer must be released once the write is done"


def test_written_bytearray_is_released_for_resizing(loop, runner, tcp_pair):
    client, server_side = tcp_pair
    data = bytearray(SIZE)
    done = []
    client.write(data, lambda h, err: done.append(err))
    with pytest.raises(BufferError):
        data.extend(b"x")
    total = [0]

    def on_read(h, chunk, err):
        total[0] += len(chunk)

    server_side.start_read(on_read)
    runner.until(loop, lambda: done and total[0] >= SIZE, timeout=20)
    assert done == [None]
    data.extend(b"x")                        # no longer exported
    assert len(data) == SIZE + 1


# -- interpreter shutdown -----------------------------------------------------------------

def run_script(body, timeout=60, args=()):
    lib = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(uv.__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = lib + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONWARNINGS", None)
    script = textwrap.dedent(body)
    # cwd: not the source tree, whose sourcey/ (without the built extension) would
    # shadow the build on sys.path.
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", script, *args],
                          env=env, cwd=lib, capture_output=True, text=True, timeout=timeout)


def assert_clean_exit(proc, code=0):
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    for bad in ("Fatal Python error", "Segmentation fault", "Traceback", "Aborted"):
        assert bad not in proc.stderr, proc.stderr
    assert "reached the end" in proc.stdout


SETUP = """
    import signal, socket, threading
    from sourcey import uv

    def live_handles(loop):
        keep = []
        t = uv.Timer(loop); t.start(lambda h: None, 3600, 3600); keep.append(t)
        i = uv.Idle(loop); i.start(lambda h: None); keep.append(i)
        p = uv.Prepare(loop); p.start(lambda h: None); keep.append(p)
        c = uv.Check(loop); c.start(lambda h: None); keep.append(c)
        a = uv.Async(loop, lambda h: None); a.send(); keep.append(a)
        s = uv.Signal(loop); s.start(lambda h, n: None, signal.SIGUSR2); keep.append(s)
        pa, pb = socket.socketpair(); keep += [pa, pb]
        po = uv.Poll(loop, pa.fileno()); po.start(uv.UV_READABLE, lambda *a: None)
        keep.append(po)
        srv = uv.TCP(loop); srv.bind(("127.0.0.1", 0)); srv.listen(lambda *a: None)
        keep.append(srv)
        cli = uv.TCP(loop); cli.connect(srv.getsockname(), lambda *a: None); keep.append(cli)
        u = uv.UDP(loop); u.bind(("127.0.0.1", 0)); u.start_recv(lambda *a: None)
        keep.append(u)
        u.send(u.getsockname(), b"x" * 1000)
        inactive = uv.Timer(loop); keep.append(inactive)
        for _ in range(3):
            loop.run(uv.UV_RUN_NOWAIT)
        return keep
"""


def test_shutdown_with_live_handles_in_a_global():
    proc = run_script(SETUP + """
    loop = uv.Loop()
    handles = live_handles(loop)
    dflt = live_handles(uv.Loop.default_loop())
    print("reached the end")
    """)
    assert_clean_exit(proc)


def test_shutdown_with_live_handles_dropped_before_exit():
    proc = run_script(SETUP + """
    def main():
        loop = uv.Loop()
        live_handles(loop)
        closing = uv.Timer(loop)
        closing.close()          # never finishes: the loop is not run again
    main()
    import gc; gc.collect()
    print("reached the end")
    """)
    assert_clean_exit(proc)


def test_shutdown_from_system_exit_in_a_callback():
    proc = run_script(SETUP + """
    import sys
    loop = uv.Loop()
    keep = live_handles(loop)
    t = uv.Timer(loop)
    t.start(lambda h: sys.exit(5), 0.001)
    print("reached the end")
    loop.run()
    print("not reached")
    """)
    assert proc.returncode == 5, proc.stderr
    assert "not reached" not in proc.stdout
    assert "Fatal Python error" not in proc.stderr


def test_shutdown_while_a_daemon_thread_runs_a_loop():
    proc = run_script(SETUP + """
    loop = uv.Loop()
    running = threading.Event()
    keep = live_handles(loop)
    prep = uv.Prepare(loop)
    prep.start(lambda h: running.set())
    th = threading.Thread(target=loop.run, daemon=True)
    th.start()
    assert running.wait(10)
    print("reached the end")
    """)
    assert_clean_exit(proc)


def test_shutdown_with_work_in_the_thread_pool():
    """Work still queued when the interpreter exits must not call into a finalized
    Python. The race is narrow (a pool thread picks the next request just after the
    interpreter is torn down, while libuv's exit hook drains the pool), so try a few
    times with work that finishes around the moment of exit."""
    script = """
    import sys, threading
    from sourcey import uv
    loop = uv.Loop()
    started = threading.Event()
    delay = float(sys.argv[1])
    def work():
        started.set()
        threading.Event().wait(delay)    # still running when the interpreter exits
    reqs = [loop.queue_work(work) for _ in range(8)]
    assert started.wait(10)
    print("reached the end")
    """
    delays = ("0.01", "0.02", "0.03", "0.05")
    for attempt in range(20):
        proc = run_script(script, args=[delays[attempt % len(delays)]])
        assert_clean_exit(proc)


# -- fork ---------------------------------------------------------------------------------

def wait_child(pid, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not finish")
        threading.Event().wait(0.01)


def test_fork(loop, runner):
    # The parent's loop has run (its epoll set and wakeup watcher exist) before the fork.
    parent_calls = []
    t = uv.Timer(loop)
    t.start(parent_calls.append, 0)
    runner.run(loop)
    assert parent_calls == [t]
    woke = []
    a = uv.Async(loop, lambda h: woke.append(h))
    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # fork in a threaded process
        pid = os.fork()
    if pid == 0:                                              # the child
        code = 10
        try:
            os.close(r)
            # A new loop works in the child.
            fresh = uv.Loop()
            fired = []
            ft = uv.Timer(fresh)
            ft.start(fired.append, 0.001)
            fresh.run()
            assert fired == [ft], fired
            ft.close()
            fresh.run()
            code = 11
            # The parent's loop, after fork(), works too: timers and async wake-ups.
            loop.fork()
            t.start(lambda h: fired.append("again"), 0.001)
            a.send()
            loop.run(uv.UV_RUN_ONCE)
            while "again" not in fired:
                loop.run(uv.UV_RUN_ONCE)
            assert len(woke) == 1, woke
            code = 12
            done = []
            loop.queue_work(lambda: None, done.append)      # the thread pool, in the child
            while not done:
                loop.run(uv.UV_RUN_ONCE)
            assert done == [None]
            a.close()
            t.close()
            loop.run()
            code = 0
        except BaseException:  # noqa: BLE001 - reported through the pipe
            os.write(w, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(w)
    code = wait_child(pid)
    with os.fdopen(r, "rb") as f:
        report = f.read().decode()
    assert code == 0, f"child exit code {code}:\n{report}"
    # The parent's loop is unaffected.
    a.send()
    runner.until(loop, lambda: woke)
    a.close()
    t.close()
    runner.run(loop)


# -- handles collected on a thread other than the one running their loop -----------------

class Running:
    """Run ``lp`` in a worker thread; ``stopper`` (unreferenced) can stop it."""

    def __init__(self, lp, keep_alive=False):
        self.lp = lp
        self.started = threading.Event()
        self.stopper = uv.Async(lp, lambda h: lp.stop())
        self.stopper.ref = keep_alive      # referenced: it keeps the loop running
        self.marker = uv.Prepare(lp)
        self.marker.start(lambda h: (self.started.set(), h.stop()))
        self.thread = threading.Thread(target=lp.run)

    def __enter__(self):
        self.thread.start()
        assert self.started.wait(5)
        return self

    def finish(self, timeout):
        """Wait for the loop to end by itself; True if it did. Stop it if not."""
        self.thread.join(timeout)
        ended = not self.thread.is_alive()
        if not ended:
            self.stopper.send()
            self.thread.join(10)
            assert not self.thread.is_alive()
        return ended

    def __exit__(self, *exc):
        if self.thread.is_alive():
            self.stopper.send()
            self.thread.join(10)
        self.stopper.close()
        self.marker.close()
        self.lp.run(uv.UV_RUN_NOWAIT)


def test_async_collected_on_another_thread_does_not_keep_the_loop_running():
    """An Async is active from birth: collected on the loop's thread it is closed and the
    loop ends; collected on another thread while the loop runs, it must not be left
    active in the loop for ever."""
    lp = uv.Loop()
    a = uv.Async(lp)              # the only thing keeping lp's run() going
    with Running(lp) as r:
        with pytest.warns(ResourceWarning, match="unclosed Async"):
            del a
            gc.collect()
        ended = r.finish(3)
    assert ended, "the loop kept running for an Async collected on another thread"


@needs_debug
def test_handle_collected_on_another_thread_is_freed():
    before = counters()
    lp = uv.Loop()
    t = uv.Timer(lp)
    with Running(lp, keep_alive=True) as r:
        assert lp.running
        with pytest.warns(ResourceWarning, match="unclosed Timer"):
            del t
            gc.collect()
        assert r.thread.is_alive()         # it was collected while the loop ran
    lp.run(uv.UV_RUN_NOWAIT)
    assert lp.handles == []
    del lp
    assert counters() == before, "the handle's memory was not accounted as freed"

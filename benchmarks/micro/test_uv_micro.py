"""Micro benchmarks of sourcey.uv's hot paths (pytest-benchmark).

    PYTHONPATH=build/release/lib .venv/bin/pytest -p no:cacheprovider benchmarks/micro \
        --benchmark-group-by=group

Each group pairs a sourcey operation with a baseline measured in the same run (the same
operation on asyncio / uvloop, or the raw socket call), so the group reads as a ratio. No
test asserts a timing. The module is skipped when sourcey.uv is not built.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
import time

import pytest

pytest.importorskip("pytest_benchmark")
uv = pytest.importorskip("sourcey.uv")
if not hasattr(uv, "Loop"):  # the source tree without the compiled module
    pytest.skip("sourcey.uv is not built", allow_module_level=True)

HOST = "127.0.0.1"
PAYLOAD = b"x" * 64
TIMEOUT = 10.0  # seconds any wait on the loop may take before the test fails
GUARD_PERIOD = 0.5


def run_until(loop, done, timeout: float = TIMEOUT) -> None:
    """Run loop iterations until done() is true; a timer makes the wait bounded."""
    expired = []
    guard = uv.Timer(loop)
    guard.start(lambda handle: expired.append(True), timeout, 0.0)
    try:
        while not done():
            if expired:
                raise AssertionError(f"condition not met within {timeout} s")
            loop.run(uv.UV_RUN_ONCE)
    finally:
        guard.stop()
        guard.close()
    loop.run(uv.UV_RUN_NOWAIT)


def close_all(loop, *handles) -> None:
    closed = []
    for handle in handles:
        handle.close(lambda h: closed.append(h))
    run_until(loop, lambda: len(closed) == len(handles))


class Guard:
    """Bounds a hot-path wait without slowing it: a repeating timer wakes the loop every
    GUARD_PERIOD seconds, and ``wait`` (the slow path, entered only when one loop
    iteration did not finish the operation) fails the test after TIMEOUT seconds."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.timer = uv.Timer(loop)
        self.timer.start(noop, GUARD_PERIOD, GUARD_PERIOD)

    def wait(self, done) -> None:
        for _ in range(4):  # a few more iterations are normal (an echo needs two)
            if done():
                return
            self.loop.run(uv.UV_RUN_ONCE)
        deadline = time.monotonic() + TIMEOUT
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"the loop did not finish the operation in {TIMEOUT} s")
            self.loop.run(uv.UV_RUN_ONCE)


@pytest.fixture
def loop():
    return uv.Loop()


# --------------------------------------------------------------------------- timers


def noop(*args) -> None:
    pass


@pytest.mark.benchmark(group="timer-start-stop")
def test_timer_start_stop(benchmark, loop):
    timer = uv.Timer(loop)

    def start_stop():
        timer.start(noop, 10.0, 0.0)
        timer.stop()

    benchmark(start_stop)
    close_all(loop, timer)


def _asyncio_loops():
    loops = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        loops.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return loops


@pytest.mark.benchmark(group="timer-start-stop")
@pytest.mark.parametrize("new_loop", _asyncio_loops())
def test_baseline_call_later_cancel(benchmark, new_loop):
    """asyncio / uvloop: call_later + cancel. Cancelled timers are only dropped when the
    loop runs, so one loop iteration every 1024 operations keeps memory flat."""
    aloop = new_loop()
    count = [0]

    def schedule_cancel():
        aloop.call_later(10.0, noop).cancel()
        count[0] += 1
        if count[0] & 1023 == 0:
            aloop.call_soon(aloop.stop)
            aloop.run_forever()

    try:
        benchmark(schedule_cancel)
    finally:
        aloop.close()


# --------------------------------------------------------------------------- async wake-ups


@pytest.mark.benchmark(group="async-wakeup")
def test_async_send_same_thread(benchmark, loop):
    """Async.send() then one loop iteration that runs its callback."""
    calls = [0]

    def on_async(handle):
        calls[0] += 1

    handle = uv.Async(loop, on_async)
    guard = Guard(loop)

    def send_and_run():
        before = calls[0]
        handle.send()
        loop.run(uv.UV_RUN_ONCE)
        if calls[0] == before:
            guard.wait(lambda: calls[0] != before)

    benchmark(send_and_run)
    close_all(loop, handle, guard.timer)


@pytest.mark.benchmark(group="async-wakeup")
def test_async_send_other_thread(benchmark, loop):
    """Round trip: wake a thread, it calls Async.send(), the loop thread runs the callback.

    The loop blocks in UV_RUN_ONCE (with the GIL released) until the send arrives."""
    calls = [0]
    go = threading.Semaphore(0)
    stop = threading.Event()

    def on_async(handle):
        calls[0] += 1

    handle = uv.Async(loop, on_async)

    def sender():
        while True:
            go.acquire()
            if stop.is_set():
                return
            handle.send()

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    guard = Guard(loop)

    def round_trip():
        before = calls[0]
        go.release()
        loop.run(uv.UV_RUN_ONCE)
        if calls[0] == before:
            guard.wait(lambda: calls[0] != before)

    try:
        benchmark(round_trip)
    finally:
        stop.set()
        go.release()
        thread.join(TIMEOUT)
    close_all(loop, handle, guard.timer)


# --------------------------------------------------------------------------- TCP writes


@pytest.fixture
def tcp_pair(loop):
    """A connected client/peer pair of uv.TCP handles over 127.0.0.1; the peer counts what
    it reads and echoes it when ``echo[0]`` is true."""
    server = uv.TCP(loop)
    server.bind((HOST, 0))
    accepted = []

    def on_connection(srv, error):
        assert error is None
        conn = uv.TCP(loop)
        srv.accept(conn)
        conn.nodelay(True)
        accepted.append(conn)

    server.listen(on_connection)
    port = server.getsockname()[1]
    client = uv.TCP(loop)
    connected = []
    client.connect((HOST, port), lambda handle, error: connected.append(error))
    run_until(loop, lambda: connected and accepted)
    assert connected[0] is None
    client.nodelay(True)
    peer = accepted[0]
    received = [0]
    echo = [False]

    def on_read(handle, data, error):
        if data is None:
            return
        received[0] += len(data)
        if echo[0]:
            handle.write(data)

    peer.start_read(on_read)
    yield client, peer, received, echo
    close_all(loop, client, peer, server)


@pytest.mark.benchmark(group="tcp-write-64B")
def test_tcp_write_64b(benchmark, loop, tcp_pair):
    """TCP.write() of 64 bytes, then one non-blocking loop iteration (the write callback,
    the peer's read)."""
    client, peer, received, echo = tcp_pair
    sent = [0]

    def write():
        client.write(PAYLOAD)
        sent[0] += len(PAYLOAD)
        loop.run(uv.UV_RUN_NOWAIT)

    benchmark(write)
    run_until(loop, lambda: received[0] == sent[0])


@pytest.mark.benchmark(group="tcp-write-64B")
def test_tcp_try_write_64b(benchmark, loop, tcp_pair):
    """TCP.try_write() of 64 bytes (the rest through write() if the socket is full), then
    one non-blocking loop iteration."""
    client, peer, received, echo = tcp_pair
    sent = [0]

    def try_write():
        try:
            n = client.try_write(PAYLOAD)
        except uv.error.UVError:  # EAGAIN
            n = 0
        if n < len(PAYLOAD):
            client.write(PAYLOAD[n:])
        sent[0] += len(PAYLOAD)
        loop.run(uv.UV_RUN_NOWAIT)

    benchmark(try_write)
    run_until(loop, lambda: received[0] == sent[0])


@pytest.fixture
def socket_pair():
    with socket.create_server((HOST, 0)) as listener:
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
    for s in (a, b):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.mark.benchmark(group="tcp-write-64B")
def test_baseline_socket_send_64b(benchmark, socket_pair):
    """The floor: socket.send() of 64 bytes plus the peer's recv(), no event loop."""
    a, b = socket_pair

    def send():
        a.send(PAYLOAD)
        try:
            b.recv(65536)
        except BlockingIOError:
            pass

    benchmark(send)


@pytest.mark.benchmark(group="tcp-echo-64B")
def test_tcp_echo_round_trip_64b(benchmark, loop, tcp_pair):
    """64 bytes to the peer and back on one loop: write, peer reads and writes, client
    reads. Measures a full request/response through the binding."""
    client, peer, received, echo = tcp_pair
    echo[0] = True
    got = [0]

    def on_read(handle, data, error):
        if data is not None:
            got[0] += len(data)

    client.start_read(on_read)

    guard = Guard(loop)

    def round_trip():
        target = got[0] + len(PAYLOAD)
        client.write(PAYLOAD)
        loop.run(uv.UV_RUN_ONCE)
        if got[0] < target:
            guard.wait(lambda: got[0] >= target)

    benchmark(round_trip)
    client.stop_read()
    close_all(loop, guard.timer)

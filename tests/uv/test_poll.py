"""Poll: readiness of a socketpair end that Python itself reads and writes."""

import os
import resource
import socket
import tempfile

import pytest

from sourcey import uv


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_writable(loop, runner, pair):
    a, _ = pair
    got = []
    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_WRITABLE, lambda h, events, error: (got.append((h, events, error)),
                                                        h.stop()))
    assert poll.active
    runner.run(loop)
    assert len(got) == 1
    h, events, error = got[0]
    assert h is poll
    assert error is None
    assert events & uv.UV_WRITABLE
    assert not events & uv.UV_READABLE
    assert not poll.active
    poll.close()
    runner.run(loop)


def test_readable_only_once_data_arrives(loop, runner, pair):
    a, b = pair
    got = []

    def on_event(h, events, error):
        got.append((events, error))
        if events & uv.UV_READABLE:
            got.append(a.recv(100))
            h.stop()

    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_READABLE, on_event)
    for _ in range(3):
        loop.run(uv.UV_RUN_NOWAIT)
    assert got == []                   # nothing to read yet
    b.send(b"hello")
    runner.run(loop)
    assert got[0][1] is None
    assert got[0][0] & uv.UV_READABLE
    assert got[1] == b"hello"
    poll.close()
    runner.run(loop)


def test_readable_repeats_while_data_is_unread(loop, runner, pair):
    a, b = pair
    count = []
    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_READABLE, lambda h, ev, err: count.append(ev))
    b.send(b"x")
    for _ in range(3):
        loop.run(uv.UV_RUN_ONCE)       # level-triggered: each iteration reports it
    assert len(count) == 3
    assert all(ev & uv.UV_READABLE for ev in count)
    poll.close()
    runner.run(loop)


def test_start_again_changes_the_event_mask(loop, runner, pair):
    a, b = pair
    got = []
    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_READABLE, lambda h, ev, err: got.append(("r", ev)))
    poll.start(uv.UV_WRITABLE, lambda h, ev, err: (got.append(("w", ev)), h.stop()))
    b.send(b"x")
    runner.run(loop)
    assert len(got) == 1
    assert got[0][0] == "w"
    assert got[0][1] & uv.UV_WRITABLE
    assert not got[0][1] & uv.UV_READABLE     # no longer asked for
    poll.close()
    runner.run(loop)


def test_disconnect(loop, runner, pair):
    a, b = pair
    got = []
    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_READABLE | uv.UV_DISCONNECT,
               lambda h, ev, err: (got.append(ev), h.stop()))
    b.shutdown(socket.SHUT_WR)
    runner.run(loop)
    assert got and got[0] & uv.UV_DISCONNECT
    poll.close()
    runner.run(loop)


def test_stop_lets_the_loop_finish(loop, runner, pair):
    a, b = pair
    got = []
    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_READABLE, lambda h, ev, err: got.append(ev))
    assert loop.alive
    poll.stop()
    assert not poll.active
    assert not loop.alive
    b.send(b"x")
    runner.run(loop, timeout=2)
    assert got == []
    poll.stop()                        # twice is fine
    poll.close()
    runner.run(loop)


def test_fileno(loop, runner, pair):
    a, _ = pair
    poll = uv.Poll(loop, a.fileno())
    assert poll.fileno() == a.fileno()
    poll.close()
    # pyuv's Poll.fileno raises HandleClosedError on a closed handle, as here.
    with pytest.raises(uv.error.HandleClosedError):
        poll.fileno()
    runner.run(loop)
    with pytest.raises(uv.error.HandleClosedError):
        poll.fileno()


@pytest.mark.parametrize("events", [0, 0x100, -1, uv.UV_READABLE | 0x40])
def test_invalid_events_raise_value_error(loop, runner, pair, events):
    a, _ = pair
    poll = uv.Poll(loop, a.fileno())
    with pytest.raises(ValueError):
        poll.start(events, lambda h, ev, err: None)
    assert not poll.active
    poll.close()
    runner.run(loop)


def test_non_callable_callback_raises_type_error(loop, runner, pair):
    a, _ = pair
    poll = uv.Poll(loop, a.fileno())
    with pytest.raises(TypeError):
        poll.start(uv.UV_READABLE, None)
    assert not poll.active
    poll.close()
    runner.run(loop)


@pytest.mark.parametrize("fd", [-1, -100])
def test_negative_fd_raises_value_error(loop, fd):
    with pytest.raises(ValueError):
        uv.Poll(loop, fd)


def test_fd_that_is_not_open_raises_poll_error(loop):
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    fd = (soft if soft != resource.RLIM_INFINITY else 1 << 20) + 10
    with pytest.raises(uv.error.PollError) as info:
        uv.Poll(loop, fd)
    assert info.value.args[0] == uv.errno.UV_EBADF


def test_regular_file_raises_poll_error(loop):
    with tempfile.TemporaryFile() as f:
        with pytest.raises(uv.error.PollError) as info:
            uv.Poll(loop, f.fileno())
        assert info.value.args[0] == uv.errno.UV_EPERM


def test_second_active_poll_on_the_same_fd_is_refused(loop, runner, pair):
    a, _ = pair
    first = uv.Poll(loop, a.fileno())
    first.start(uv.UV_READABLE, lambda h, ev, err: None)
    loop.run(uv.UV_RUN_NOWAIT)
    with pytest.raises(uv.error.PollError) as info:
        uv.Poll(loop, a.fileno())
    assert info.value.args[0] == uv.errno.UV_EEXIST
    first.close()
    runner.run(loop)


def test_start_after_close_raises(loop, runner, pair):
    a, _ = pair
    poll = uv.Poll(loop, a.fileno())
    poll.close()
    with pytest.raises(uv.error.HandleClosedError):
        poll.start(uv.UV_READABLE, lambda h, ev, err: None)
    with pytest.raises(uv.error.HandleClosedError):
        poll.stop()
    runner.run(loop)


def test_exception_in_callback_goes_to_excepthook(loop, runner, pair):
    a, _ = pair
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(typ)

    def cb(h, ev, err):
        h.close()
        raise OSError("from callback")

    poll = uv.Poll(loop, a.fileno())
    poll.start(uv.UV_WRITABLE, cb)
    runner.run(loop)
    assert seen == [OSError]


def test_pipe_fd(loop, runner):
    r, w = os.pipe()
    try:
        got = []
        poll = uv.Poll(loop, r)
        poll.start(uv.UV_READABLE, lambda h, ev, err: (got.append(os.read(r, 10)), h.stop()))
        os.write(w, b"abc")
        runner.run(loop)
        assert got == [b"abc"]
        poll.close()
        runner.run(loop)
    finally:
        os.close(r)
        os.close(w)

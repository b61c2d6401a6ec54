"""Fixtures for the sourcey.net tests.

- ``loop``: the conftest loop, with exceptions raised in callbacks and slots recorded
  (and the loop stopped) so that an assert inside a slot fails the test; a test that
  raises on purpose takes its exceptions from ``loop.callback_errors``.
- ``runner``: conftest's runner, re-raising the first recorded exception.
- ``events``: ``events(socket)`` records a socket's signals (see ``Events``).
- ``net``: helpers for connected pairs and Python socket peers (see ``Net``).
- ``no_fd_leak``: opt-in (``pytestmark = pytest.mark.usefixtures("no_fd_leak")``):
  fails a test that leaves file descriptors open once its sockets are closed.
"""

from __future__ import annotations

import gc
import os
import socket
import threading

import pytest

from sourcey import uv
from sourcey.net import TCPSocket

# --- loop and runner: an exception in a callback or a slot fails the test -------------


@pytest.fixture
def loop(checked_loop):
    """An exception raised in a callback fails the test (tests/conftest.py)."""
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


# --- recording a socket's signals ---------------------------------------------------


class Events:
    """What a socket emitted: ``connects``, ``recvs`` [(data, peer)], ``errors``
    [exc], ``closes``, ``accepted`` [socket], ``drains``, and ``order``: the signal
    names in the order they came."""

    def __init__(self, sock):
        self.socket = sock
        self.connects = 0
        self.recvs = []
        self.errors = []
        self.closes = 0
        self.accepted = []
        self.drains = 0
        self.order = []
        sock.Connect += self._connect
        sock.Recv += self._recv
        sock.Error += self._error
        sock.Close += self._close
        if hasattr(sock, "AcceptConnection"):
            sock.AcceptConnection += self._accept
            sock.Drain += self._drain

    def _connect(self, sock):
        assert sock is self.socket
        self.connects += 1
        self.order.append("Connect")

    def _recv(self, sock, data, peer):
        assert sock is self.socket
        assert type(data) is bytes and (data or sock.transport == "UDP")   # b"": a datagram
        self.recvs.append((data, peer))
        self.order.append("Recv")

    def _error(self, sock, exc):
        assert sock is self.socket
        self.errors.append(exc)
        self.order.append("Error")

    def _close(self, sock):
        assert sock is self.socket
        self.closes += 1
        self.order.append("Close")

    def _accept(self, conn):
        self.accepted.append(conn)
        self.order.append("AcceptConnection")

    def _drain(self, sock):
        self.drains += 1
        self.order.append("Drain")

    @property
    def data(self):
        return b"".join(d for d, _ in self.recvs)

    def failed_once(self, kind):
        """True if exactly one Error (of ``kind``) then exactly one Close came."""
        return (len(self.errors) == 1 and isinstance(self.errors[0], kind)
                and self.closes == 1 and self.order[-2:] == ["Error", "Close"])


@pytest.fixture
def events():
    return Events


# --- pairs and Python peers ---------------------------------------------------------


class Net:
    def __init__(self, loop, runner):
        self.loop = loop
        self.runner = runner

    def listener(self, host="127.0.0.1", **bind):
        """A listening TCPSocket and the Events recording it."""
        lst = TCPSocket(self.loop)
        lst.bind(host, 0, **bind)
        lst.listen()
        return lst, Events(lst)

    def pair(self, host="127.0.0.1"):
        """(client, server_side, client_events, server_events): a connected pair of
        TCPSockets; the listener is closed."""
        lst, lev = self.listener(host)
        client = TCPSocket(self.loop)
        cev = Events(client)
        client.connect(lst.address)
        self.runner.until(self.loop, lambda: cev.connects and lev.accepted)
        conn = lev.accepted[0]
        lst.close()
        return client, conn, cev, Events(conn)

    def python_listener(self, host="127.0.0.1", backlog=8):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        srv = socket.socket(family)
        srv.bind((host, 0))
        srv.listen(backlog)
        return srv

    def python_peer(self, host="127.0.0.1"):
        """(sock, python_socket, events): a TCPSocket connected to a blocking Python
        socket (accepted from a Python listener, which is closed)."""
        srv = self.python_listener(host)
        try:
            sock = TCPSocket(self.loop)
            ev = Events(sock)
            sock.connect(srv.getsockname()[:2])
            self.runner.until(self.loop, lambda: ev.connects or ev.errors)
            assert ev.connects == 1, ev.errors
            peer, _ = srv.accept()
        finally:
            srv.close()
        return sock, peer, ev

    def close(self, *socks):
        """Close the sockets and run the loop until they are closed."""
        for s in socks:
            s.close()
        self.runner.until(self.loop, lambda: all(_done(s) for s in socks))


def fully_closed(s):
    """True once Close has been emitted (``closed`` is true from the close() call)."""
    s = getattr(s, "listener", s)         # a TCPServer: its listening socket
    return repr(s).endswith(" closed>")


def _done(s):
    return fully_closed(s)


@pytest.fixture
def net(loop, runner):
    return Net(loop, runner)


@pytest.fixture
def closed():
    """``closed(socket)``: True once its Close has been emitted."""
    return fully_closed


class Thread(threading.Thread):
    """A thread whose exception is re-raised by ``join``."""

    def __init__(self, target, *args):
        super().__init__(target=self._run, args=(target, *args), daemon=True)
        self.exc = None
        self.result = None

    def _run(self, target, *args):
        try:
            self.result = target(*args)
        except BaseException as exc:  # noqa: B036 - re-raised by join
            self.exc = exc

    def join(self, timeout=10.0):
        super().join(timeout)
        assert not self.is_alive(), "the peer thread did not finish"
        if self.exc is not None:
            raise self.exc
        return self.result


@pytest.fixture
def thread():
    """``thread(fn, *args)``: a started thread; ``.join()`` re-raises its exception."""
    started = []

    def start(fn, *args):
        t = Thread(fn, *args)
        t.start()
        started.append(t)
        return t

    yield start
    for t in started:
        t.join()


# --- file descriptors ---------------------------------------------------------------


def _fds():
    """The open descriptors, as (number, what it points to): a descriptor closed and its
    number reused for another socket counts as a new one."""
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            fds.add((int(name), os.readlink(f"/proc/self/fd/{name}")))
        except OSError:
            pass        # the listing's own descriptor, closed by now
    return fds


@pytest.fixture
def no_fd_leak(loop):
    """Fail a test that leaves file descriptors open. The loop's own descriptors are
    counted in ``before``: its signal wakeup pair (made by the first run) and the
    spare descriptor libuv reserves for EMFILE (made with the first stream); the
    default loop's too."""
    for lp in (loop, uv.Loop.default_loop()):
        uv.TCP(lp).close()
        lp.run(uv.UV_RUN_NOWAIT)
    gc.collect()
    before = _fds()
    yield
    if any(not h.closed for h in loop.handles):
        return    # the loop fixture reports the handles left open
    loop.run(uv.UV_RUN_NOWAIT)
    gc.collect()
    leaked = _fds() - before     # (garbage of earlier tests may close some: no matter)
    assert not leaked, f"file descriptors leaked: {sorted(leaked)}"

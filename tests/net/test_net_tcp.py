"""TCPSocket: options (nodelay, keepalive, reuseport), accepting (AcceptConnection; the
listener keeps none), sending without loss to a slow reader, backpressure with the
watermarks (send returns False, Drain), pause_reading/resume_reading, closing from
inside slots (LibSourcey #221), a slot that raises, and nothing left behind: handles
(conftest), file descriptors and reference cycles."""

import errno
import gc
import hashlib
import os
import socket
import struct
import threading
import weakref

import pytest

from sourcey import uv
from sourcey.net import PeerClosedError, TCPSocket

pytestmark = pytest.mark.usefixtures("no_fd_leak")


def pysock(sock):
    """A Python socket on a duplicate of ``sock``'s descriptor, for getsockopt."""
    return socket.socket(fileno=os.dup(sock.fileno()))


def drain_nowait(loop, n=5):
    """A few non-blocking loop iterations: enough to read whatever is already in the
    kernel's buffers, if reading is on."""
    for _ in range(n):
        loop.run(uv.UV_RUN_NOWAIT)


# --- options ------------------------------------------------------------------------


def test_nodelay_is_on_by_default_and_can_be_set(loop, runner, net):
    client, conn, _, _ = net.pair()
    for s in (client, conn):
        with pysock(s) as py:
            assert py.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            s.set_nodelay(False)
            assert py.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            s.set_nodelay(True)
            assert py.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    net.close(client, conn)


def test_keepalive(loop, runner, net):
    client, conn, _, _ = net.pair()
    with pysock(client) as py:
        assert py.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        client.set_keepalive(True, 17)
        assert py.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert py.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 17
        client.set_keepalive(False)
        assert py.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    net.close(client, conn)


def test_reuseport_two_listeners_on_one_port(loop, runner, net, events):
    a = TCPSocket(loop)
    a.bind("127.0.0.1", 0, reuseport=True)
    a.listen()
    port = a.address.port
    b = TCPSocket(loop)
    b.bind("127.0.0.1", port, reuseport=True)
    b.listen()
    assert a.address == b.address
    aev, bev = events(a), events(b)
    clients = []
    for _ in range(8):
        c = TCPSocket(loop)
        c.connect("127.0.0.1", port)
        clients.append(c)
    runner.until(loop, lambda: len(aev.accepted) + len(bev.accepted) == 8)
    # With a closed, the port is still served: by b.
    net.close(a)
    before = len(bev.accepted)
    last = TCPSocket(loop)
    lev = events(last)
    last.connect("127.0.0.1", port)
    runner.until(loop, lambda: lev.connects and len(bev.accepted) == before + 1)
    net.close(b, last, *clients, *aev.accepted, *bev.accepted)


def test_without_reuseport_the_port_is_in_use(loop, runner, net):
    a, _ = net.listener()
    b = TCPSocket(loop)
    with pytest.raises(OSError) as info:
        b.bind(*a.address)
        b.listen()                       # libuv reports EADDRINUSE from either
    assert info.value.errno == errno.EADDRINUSE
    assert not isinstance(info.value, uv.error.UVError)
    net.close(a, b)


# --- accepting ----------------------------------------------------------------------


def test_accept_connection_and_the_listener_keeps_none(loop, runner, net, events):
    lst, lev = net.listener()
    client = TCPSocket(loop)
    cev = events(client)
    client.connect(lst.address)
    runner.until(loop, lambda: cev.connects and lev.accepted)
    conn = lev.accepted.pop()
    assert isinstance(conn, TCPSocket) and conn.connected and conn.loop is loop
    assert conn.peer_address == client.address
    # the application keeps it: it works
    got = []
    conn.Recv += lambda s, data, peer: got.append((data, peer))
    client.send(b"hi")
    runner.until(loop, lambda: got)
    assert got == [(b"hi", client.address)]
    # once the application drops it and closes it, nothing holds it
    ref = weakref.ref(conn)
    conn.close()
    conn = got = None
    runner.until(loop, lambda: ref() is None or ref().closed and cev.closes)
    gc.collect()
    assert ref() is None, gc.get_referrers(ref())
    net.close(client, lst)


def test_accepted_sockets_live_while_the_app_does_not_hold_them(loop, runner, net, events,
                                                                closed):
    # The listener keeps none, but an open connection is not collected from under
    # the application: libuv holds it until it is closed.
    lst = TCPSocket(loop)
    lst.bind("127.0.0.1", 0)
    lst.listen()
    refs = []
    lst.AcceptConnection += lambda s: refs.append(weakref.ref(s))
    client = TCPSocket(loop)
    cev = events(client)
    client.connect(lst.address)
    runner.until(loop, lambda: refs and cev.connects)
    gc.collect()
    conn = refs[0]()
    assert conn is not None and conn.connected
    client.close()       # the accepted side then reads EOF, fails and closes itself
    runner.until(loop, lambda: conn.closed and cev.closes)
    conn = None
    gc.collect()
    assert refs[0]() is None
    net.close(lst)


def test_a_connection_reset_before_accept_is_dropped(loop, runner, net, events):
    # The kernel queued the connection and the peer reset it before we accepted:
    # accept still returns it, but it has no peer (getpeername: ENOTCONN). The
    # listener drops it without a slot seeing it, and goes on accepting.
    lst, lev = net.listener()
    doomed = socket.create_connection(lst.address)
    doomed.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    doomed.close()
    client = TCPSocket(loop)
    cev = events(client)
    client.connect(lst.address)
    runner.until(loop, lambda: cev.connects and lev.accepted)
    assert len(lev.accepted) == 1 and lev.errors == []
    assert lev.accepted[0].peer_address == client.address
    net.close(client, lst, *lev.accepted)


def test_close_the_listener_inside_accept_connection(loop, runner, net, events):
    lst, lev = net.listener()
    lst.AcceptConnection += lambda s: lst.close()
    clients = [socket.create_connection(lst.address) for _ in range(3)]  # all queued
    try:
        runner.until(loop, lambda: lev.closes)
        assert len(lev.accepted) == 1 and lev.order == ["AcceptConnection", "Close"]
        conn = lev.accepted[0]
        assert conn.connected          # the accepted socket lives on, and reads
        cev = events(conn)
        matching = [c for c in clients if c.getsockname() == conn.peer_address]
        assert len(matching) == 1
        matching[0].sendall(b"still here")
        runner.until(loop, lambda: cev.data == b"still here")
        net.close(conn)
    finally:
        for c in clients:
            c.close()


def test_close_the_new_socket_inside_accept_connection(loop, runner, net, events):
    lst, lev = net.listener()
    closed = []

    def reject(conn):
        conn.Close += lambda s: closed.append(s)
        conn.close()

    lst.AcceptConnection += reject
    client = TCPSocket(loop)
    cev = events(client)
    client.connect(lst.address)
    runner.until(loop, lambda: cev.closes)
    assert closed and closed[0].closed
    assert cev.connects == 1 and isinstance(cev.errors[0], ConnectionError)
    net.close(lst)


# --- sending ------------------------------------------------------------------------


def pattern(offset, size):
    """Bytes that say where they are in the stream (reordering shows)."""
    words = (size + 7) // 8
    return b"".join(struct.pack(">Q", offset + 8 * i) for i in range(words))[:size]


def read_all(peer, start, bufsize=4096):
    """Read ``peer`` to its end once ``start`` is set, in small reads; returns (bytes
    read, sha256) and closes it."""
    assert start.wait(20)
    h = hashlib.sha256()
    n = 0
    try:
        while True:
            data = peer.recv(bufsize)
            if not data:
                return n, h.hexdigest()
            h.update(data)
            n += len(data)
    finally:
        peer.close()


def test_send_never_loses_data(loop, runner, net, thread):
    sock, peer, ev = net.python_peer()
    start = threading.Event()
    reader = thread(read_all, peer, start)
    expected = hashlib.sha256()
    total = 0
    sizes = [1, 7, 4096, 65536, 1 << 20, 3, 250_000, 2 << 20] * 3
    for size in sizes:
        chunk = pattern(total, size)
        expected.update(chunk)
        sock.send(chunk if size % 2 else bytearray(chunk))
        total += size
    # Nobody has read yet: what the kernel did not take waits in the queue.
    assert sock.write_queue_size > 0
    sock.shutdown()
    start.set()                         # a slow reader: small reads, from now on
    runner.until(loop, lambda: ev.closes, timeout=30)
    n, digest = reader.join()
    assert n == total and digest == expected.hexdigest()
    assert len(ev.errors) == 1 and isinstance(ev.errors[0], PeerClosedError)


def test_backpressure_with_watermarks(loop, runner, net, thread):
    high, low, chunk_size, total = 1 << 20, 256 << 10, 64 << 10, 32 << 20
    sock, peer, ev = net.python_peer()
    assert sock.watermarks == (1 << 20, 256 << 10)        # the defaults
    sock.set_watermarks(high, low)
    assert sock.watermarks == (high, low)
    with pytest.raises(ValueError):
        sock.set_watermarks(10, 20)

    cond = threading.Condition()
    shared = {"pauses": 0, "done": False}
    stats = {"sent": 0, "max_queue": 0, "drain_queues": []}
    expected = hashlib.sha256()

    def produce():
        while stats["sent"] < total:
            chunk = pattern(stats["sent"], chunk_size)
            expected.update(chunk)
            ok = sock.send(chunk)
            stats["sent"] += chunk_size
            stats["max_queue"] = max(stats["max_queue"], sock.write_queue_size)
            if not ok:
                with cond:
                    shared["pauses"] += 1
                    cond.notify_all()
                return                  # until Drain
        sock.shutdown()
        with cond:
            shared["done"] = True
            cond.notify_all()

    def on_drain(s):
        stats["drain_queues"].append(s.write_queue_size)
        produce()

    sock.Drain += on_drain

    def slow_reader():
        # Reads in small pieces, and every 4 MB stops until the producer has been
        # told to wait again (it must be, while nobody reads) or has finished.
        h = hashlib.sha256()
        n = seen = 0
        stop_at = 0
        try:
            while True:
                if n >= stop_at:
                    with cond:
                        assert cond.wait_for(
                            lambda seen=seen: shared["pauses"] > seen or shared["done"], 20)
                        seen = shared["pauses"]
                    stop_at += 4 << 20
                data = peer.recv(8192)
                if not data:
                    return n, h.hexdigest()
                h.update(data)
                n += len(data)
        finally:
            peer.close()

    reader = thread(slow_reader)
    produce()
    runner.until(loop, lambda: ev.closes, timeout=60)
    n, digest = reader.join()
    assert n == total and digest == expected.hexdigest()
    assert shared["pauses"] >= 1
    assert ev.drains == shared["pauses"]          # every pause ended by one Drain
    assert stats["max_queue"] <= high + chunk_size, stats["max_queue"]
    assert all(q <= low for q in stats["drain_queues"]), stats["drain_queues"]
    assert [e for e in ev.order if e != "Drain"][-2:] == ["Error", "Close"]
    assert isinstance(ev.errors[0], PeerClosedError) and len(ev.errors) == 1


def test_send_returns_false_for_one_big_buffer_and_drains(loop, runner, net, thread):
    sock, peer, ev = net.python_peer()
    sock.set_watermarks(high=64 << 10, low=0)
    start = threading.Event()
    reader = thread(read_all, peer, start)
    data = pattern(0, 8 << 20)
    assert sock.send(data) is False       # more than the kernel takes, and above high
    assert sock.write_queue_size > 64 << 10
    start.set()
    runner.until(loop, lambda: ev.drains)
    assert sock.write_queue_size == 0 and ev.drains == 1
    assert sock.send(b"tail") is True
    sock.shutdown()
    runner.until(loop, lambda: ev.closes, timeout=30)
    n, digest = reader.join()
    assert n == len(data) + 4 and digest == hashlib.sha256(data + b"tail").hexdigest()


# --- reading ------------------------------------------------------------------------


def fill_from(peer, limit=1024):
    """Send from a non-blocking Python socket until the kernel takes no more."""
    peer.setblocking(False)
    sent = 0
    for _ in range(limit):
        try:
            sent += peer.send(b"r" * 65536)
        except BlockingIOError:
            return sent
    raise AssertionError("the receiver never pushed back")


def test_pause_and_resume_reading(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        sock.pause_reading()
        sock.pause_reading()                      # idempotent
        sent = fill_from(peer)
        drain_nowait(loop)                        # data is waiting: were we reading,
        assert ev.recvs == []                     # these iterations would read it
        sock.resume_reading()
        sock.resume_reading()
        runner.until(loop, lambda: len(ev.data) == sent)
        assert ev.data == b"r" * sent
    finally:
        peer.close()
    runner.until(loop, lambda: ev.closes)


def test_pause_reading_inside_recv(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        def pause_once(s, data, p):
            s.pause_reading()
            s.Recv.detach(pause_once)

        sock.Recv += pause_once
        peer.sendall(b"first")
        runner.until(loop, lambda: ev.recvs)
        peer.sendall(b"second")
        drain_nowait(loop)
        assert ev.data == b"first"
        sock.resume_reading()
        runner.until(loop, lambda: ev.data == b"firstsecond")
    finally:
        peer.close()
    runner.until(loop, lambda: ev.closes)


def test_pause_reading_inside_accept_connection(loop, runner, net, events):
    lst, lev = net.listener()
    lst.AcceptConnection += lambda conn: conn.pause_reading()
    peer = socket.create_connection(lst.address)
    try:
        runner.until(loop, lambda: lev.accepted)
        conn = lev.accepted[0]
        cev = events(conn)
        peer.sendall(b"early")
        drain_nowait(loop)
        assert cev.recvs == [], "pause_reading in AcceptConnection was ignored"
        conn.resume_reading()
        runner.until(loop, lambda: cev.data == b"early")
    finally:
        peer.close()
    runner.until(loop, lambda: cev.closes)
    net.close(lst)


def test_a_slot_that_raises_does_not_break_the_socket(loop, runner, net):
    sock, peer, ev = net.python_peer()
    boom = RuntimeError("slot failure")

    def bad(s, data, p):
        raise boom

    sock.Recv.attach(bad, priority=10)
    raised = []
    loop.excepthook = lambda typ, value, tb: raised.append(value)   # expected here
    try:
        peer.sendall(b"one")
        runner.until(loop, lambda: ev.data == b"one")
        assert raised == [boom]
        peer.sendall(b"two")
        runner.until(loop, lambda: ev.data == b"onetwo")
        assert raised == [boom, boom]
        assert sock.connected and ev.errors == []
        sock.send(b"reply")
        assert peer.recv(100) == b"reply"
    finally:
        peer.close()
    runner.until(loop, lambda: ev.closes)


def test_close_inside_recv(loop, runner, net):
    # LibSourcey #221: closing a socket from its own Recv slot crashed. Here more
    # data and the peer's close are already waiting when the slot closes.
    sock, peer, ev = net.python_peer()
    try:
        sock.Recv += lambda s, data, p: s.close()
        sock.Recv += lambda s, data, p: s.send(b"after close")   # harmless: Error
        sock.set_nodelay(True)
        for part in (b"a" * 100, b"b" * 200_000, b"c"):
            peer.sendall(part)
        peer.shutdown(socket.SHUT_WR)
        runner.run(loop)
    finally:
        peer.close()
    assert len(ev.recvs) == 1 and ev.closes == 1
    assert ev.order == ["Connect", "Recv", "Error", "Close"]
    assert isinstance(ev.errors[0], BrokenPipeError)


def test_close_inside_recv_of_the_accepted_side(loop, runner, net, events):
    client, conn, cev, sev = net.pair()
    conn.Recv += lambda s, data, p: (s.send(data.upper()), s.close())
    client.send(b"bye")
    runner.until(loop, lambda: cev.closes and sev.closes)
    assert cev.data == b"BYE"                 # the reply was not lost on close
    assert sev.order == ["Recv", "Close"]


def test_abort_resets_the_peer(loop, runner, net):
    sock, peer, ev = net.python_peer()
    try:
        sock.abort()
        runner.until(loop, lambda: ev.closes)
        with pytest.raises(ConnectionResetError):
            peer.recv(10)
    finally:
        peer.close()
    assert ev.errors == [] and ev.order == ["Connect", "Close"]


def test_recv_peer_and_fileno(loop, runner, net):
    client, conn, cev, sev = net.pair()
    client.send(b"x")
    runner.until(loop, lambda: sev.recvs)
    assert sev.recvs[0][1] == conn.peer_address == client.address
    assert isinstance(client.fileno(), int) and client.fileno() != conn.fileno()
    net.close(client, conn)


# --- nothing left behind ------------------------------------------------------------


def test_no_reference_cycles_survive_a_closed_connection(loop, runner, net, events):
    client, conn, _, sev = net.pair()
    _ = None                                   # the client's Events: it holds the client
    client.send(b"x" * 100_000)
    runner.until(loop, lambda: len(sev.data) == 100_000)
    refs = [weakref.ref(s) for s in (client, conn)]
    net.close(client, conn)
    client = conn = sev = None
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_no_reference_cycles_after_failures(loop, runner, events):
    refs = []
    for target in (("x.invalid", 80), ("127.0.0.1", 1)):
        s = TCPSocket(loop)
        ev = events(s)
        s.connect(*target, timeout=5)
        runner.run(loop)
        assert ev.closes == 1 and len(ev.errors) == 1
        refs.append(weakref.ref(s))
        del s, ev
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_many_connections_leave_nothing(loop, runner, net, events):
    lst, lev = net.listener()
    echo_refs = []

    def on_accept(conn):
        conn.Recv += lambda s, data, p: s.send(data)
        echo_refs.append(weakref.ref(conn))

    lst.AcceptConnection += on_accept
    lev.accepted = None                       # keep no accepted sockets in the test
    lst.AcceptConnection.detach(lev._accept)
    clients = []
    for i in range(20):
        c = TCPSocket(loop)
        ev = events(c)
        c.Connect += lambda s, i=i: s.send(b"msg%d" % i)
        c.connect(lst.address)
        clients.append((c, ev))
    runner.until(loop, lambda: all(ev.data == b"msg%d" % i
                                   for i, (_, ev) in enumerate(clients)))
    net.close(*(c for c, _ in clients))
    runner.until(loop, lambda: all(r() is None or r().closed for r in echo_refs))
    net.close(lst)
    client_refs = [weakref.ref(c) for c, _ in clients]
    clients = c = ev = None
    gc.collect()
    assert all(r() is None for r in client_refs + echo_refs)


def test_a_write_failure_while_reading_is_paused_is_reported(loop, runner, net):
    # With reading paused only the write path can see the peer's reset: it must
    # still arrive on Error (then Close), not vanish with a write nobody waits on.
    sock, peer, ev = net.python_peer()
    sock.set_watermarks(high=64 << 20, low=0)  # no watermark write to carry the error
    sock.pause_reading()
    assert sock.send(pattern(0, 8 << 20))      # more than the kernel takes: queued
    assert sock.write_queue_size > 0
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()                              # RST
    runner.until(loop, lambda: ev.closes)
    assert len(ev.errors) == 1 and ev.order[-2:] == ["Error", "Close"]
    assert isinstance(ev.errors[0], (ConnectionResetError, BrokenPipeError)), ev.errors


def test_keyboard_interrupt_in_a_recv_slot_stops_the_loop(loop, runner, net):
    sock, peer, ev = net.python_peer()
    interrupts = []

    def interrupt_once(s, data, p):
        if not interrupts:
            interrupts.append(data)
            raise KeyboardInterrupt

    sock.Recv.attach(interrupt_once, priority=1)
    try:
        peer.sendall(b"^C")
        with pytest.raises(KeyboardInterrupt):
            loop.run()                      # the socket keeps the loop alive: only
        assert interrupts == [b"^C"]        # the interrupt ends this run
        assert ev.data == b"^C"             # the other slots still ran
        assert loop.callback_errors == [] and sock.connected
        peer.sendall(b"more")               # and the socket still works
        runner.until(loop, lambda: ev.data == b"^Cmore")
    finally:
        peer.close()
    runner.until(loop, lambda: ev.closes)


def test_an_error_slot_that_raises_does_not_stop_the_close(loop, runner, net):
    sock, peer, ev = net.python_peer()
    raised = []
    loop.excepthook = lambda typ, value, tb: raised.append(value)

    def bad(s, exc):
        raise RuntimeError("in Error")

    sock.Error.attach(bad, priority=1)
    peer.close()
    runner.until(loop, lambda: ev.closes)
    assert [str(e) for e in raised] == ["in Error"]
    assert ev.order == ["Connect", "Error", "Close"]

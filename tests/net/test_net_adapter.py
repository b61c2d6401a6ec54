"""The adapter chain: receivers in priority order, a receiver returning True stops the
lower ones, removing a receiver during a dispatch, replace_adapter switching protocols
on a live connection, and sending down through the senders to the socket."""

import gc
import weakref

import pytest

from sourcey.net import SocketAdapter

pytestmark = pytest.mark.usefixtures("no_fd_leak")


class Recorder(SocketAdapter):
    """A receiver recording each event as (name, event, detail) in a shared log."""

    def __init__(self, name, log, result=None, sender=None):
        super().__init__(sender)
        self.name = name
        self.log = log
        self.result = result

    def on_socket_connect(self, socket):
        self.log.append((self.name, "connect", None))
        return self.result

    def on_socket_recv(self, socket, data, peer):
        self.log.append((self.name, "recv", data))
        return self.result

    def on_socket_error(self, socket, error):
        self.log.append((self.name, "error", type(error)))
        return self.result

    def on_socket_close(self, socket):
        self.log.append((self.name, "close", None))
        return self.result


class LineProtocol(SocketAdapter):
    """Splits the stream into lines and emits Recv(socket, line, peer) for each. On the
    line SWITCH it hands the connection to ``switch_to``: it replaces itself, and passes
    on the bytes it already read past the switch."""

    def __init__(self, switch_to=None):
        super().__init__()
        self.buffer = b""
        self.switch_to = switch_to
        self.seen = []

    def on_socket_recv(self, socket, data, peer):
        self.seen.append(data)
        self.buffer += data
        while b"\n" in self.buffer:
            line, _, self.buffer = self.buffer.partition(b"\n")
            if line == b"SWITCH" and self.switch_to is not None:
                rest, self.buffer = self.buffer, b""
                socket.replace_adapter(self, self.switch_to)
                if rest:
                    self.switch_to.on_socket_recv(socket, rest, peer)
                return True
            self.Recv.emit(socket, line, peer)
        return True


class Raw(SocketAdapter):
    def __init__(self):
        super().__init__()
        self.data = b""

    def on_socket_recv(self, socket, data, peer):
        self.data += data
        return True


def test_receivers_are_dispatched_in_priority_order(loop, runner, net):
    client, conn, cev, sev = net.pair()
    log = []
    for name, prio in [("low", -1), ("high", 10), ("mid", 0), ("mid2", 0)]:
        conn.add_receiver(Recorder(name, log), priority=prio)
    client.send(b"x")
    runner.until(loop, lambda: sev.recvs)
    assert [n for n, ev, _ in log if ev == "recv"] == ["high", "mid", "mid2", "low"]
    net.close(client)
    runner.until(loop, lambda: sev.closes)
    assert [(n, ev) for n, ev, _ in log if ev != "recv"] == [
        ("high", "error"), ("mid", "error"), ("mid2", "error"), ("low", "error"),
        ("high", "close"), ("mid", "close"), ("mid2", "close"), ("low", "close")]


def test_a_receiver_returning_true_stops_lower_ones(loop, runner, net):
    client, conn, cev, sev = net.pair()
    log = []
    conn.add_receiver(Recorder("first", log), priority=3)
    conn.add_receiver(Recorder("consumer", log, result=True), priority=2)
    conn.add_receiver(Recorder("never", log), priority=1)
    client.send(b"x")
    runner.until(loop, lambda: log)
    assert [n for n, _, _ in log] == ["first", "consumer"]
    assert sev.recvs == []             # the Events slots sit at priority 0: stopped too
    net.close(client, conn)


def test_removing_a_receiver_during_dispatch_is_safe(loop, runner, net):
    client, conn, cev, sev = net.pair()
    log = []
    victim = Recorder("victim", log)
    later = Recorder("later", log)

    class Remover(Recorder):
        def on_socket_recv(self, socket, data, peer):
            super().on_socket_recv(socket, data, peer)
            assert socket.remove_receiver(victim) is True
            assert socket.remove_receiver(self) is True        # and itself
            assert socket.remove_receiver(self) is False

    conn.add_receiver(Remover("remover", log), priority=5)
    conn.add_receiver(victim, priority=1)
    conn.add_receiver(later, priority=0)
    client.send(b"one")
    runner.until(loop, lambda: sev.recvs)
    assert [n for n, _, _ in log] == ["remover", "later"]
    client.send(b"two")
    runner.until(loop, lambda: sev.data == b"onetwo")
    assert [n for n, _, _ in log] == ["remover", "later", "later"]
    net.close(client, conn)


def test_replace_adapter_switches_protocols_mid_stream(loop, runner, net):
    client, conn, cev, sev = net.pair()
    raw = Raw()
    lines = LineProtocol(switch_to=raw)
    conn.add_receiver(lines, priority=5)
    got_lines = []
    lines.Recv += lambda s, line, peer: got_lines.append(line)
    # the switch and the raw bytes after it arrive in one chunk, then more
    client.send(b"hello\nworld\nSWITCH\nraw\nbytes, no lines")
    runner.until(loop, lambda: raw.data)
    client.send(b"\nSWITCH\nstill raw")
    runner.until(loop, lambda: raw.data.endswith(b"still raw"))
    assert got_lines == [b"hello", b"world"]
    assert raw.data == b"raw\nbytes, no lines\nSWITCH\nstill raw"
    assert b"".join(lines.seen) == b"hello\nworld\nSWITCH\nraw\nbytes, no lines"
    assert raw.sender is conn
    assert sev.recvs == []                      # both adapters consume what they read
    # the new adapter sits where the old one was: above the priority-0 slots
    with pytest.raises(ValueError):
        conn.replace_adapter(lines, Raw())      # lines is no longer a receiver
    net.close(client, conn)


def test_replace_adapter_between_reads_keeps_the_priority(loop, runner, net):
    client, conn, cev, sev = net.pair()
    log = []
    old = Recorder("old", log, result=True)
    conn.add_receiver(old, priority=7)
    conn.add_receiver(Recorder("below", log), priority=6)
    client.send(b"a")
    runner.until(loop, lambda: log)
    conn.replace_adapter(old, Recorder("new", log, result=True))
    client.send(b"b")
    runner.until(loop, lambda: len(log) == 2)
    assert log == [("old", "recv", b"a"), ("new", "recv", b"b")]
    net.close(client, conn)


def test_adapter_send_goes_through_the_senders_to_the_socket(loop, runner, net):
    client, conn, cev, sev = net.pair()

    class Upper(SocketAdapter):
        def send(self, data, peer=None):
            return super().send(data.upper(), peer)

    class Framer(SocketAdapter):
        def send(self, data, peer=None):
            return super().send(b"<" + data + b">", peer)

    upper = Upper()
    client.add_receiver(upper)
    assert upper.sender is client                # set by add_receiver
    framer = Framer(sender=upper)                # a chain: framer -> upper -> socket
    upper.add_receiver(framer)
    assert framer.sender is upper
    assert framer.send(b"hi") is True
    runner.until(loop, lambda: sev.data == b"<HI>")
    # events flow up the chain: socket -> upper -> framer -> the app
    got = []
    framer.Recv += lambda s, data, peer: got.append((s, data))
    conn.send(b"up")
    runner.until(loop, lambda: got)
    assert got == [(client, b"up")]
    net.close(client, conn)


def test_adapter_misuse(loop):
    a = SocketAdapter()
    with pytest.raises(ConnectionError):
        a.send(b"x")
    b = SocketAdapter()
    a.add_receiver(b)
    with pytest.raises(ValueError):
        a.add_receiver(b)
    assert a.remove_receiver(SocketAdapter()) is False
    with pytest.raises(ValueError):
        a.replace_adapter(SocketAdapter(), SocketAdapter())
    assert b.sender is a


def test_default_handlers_pass_every_event_up(loop, runner, net):
    client, conn, cev, sev = net.pair()
    adapter = SocketAdapter()
    conn.add_receiver(adapter)
    log = []
    adapter.Recv += lambda s, d, p: log.append(("recv", d))
    adapter.Error += lambda s, e: log.append(("error", type(e).__name__))
    adapter.Close += lambda s: log.append(("close",))
    client.send(b"d")
    runner.until(loop, lambda: log)
    net.close(client)
    runner.until(loop, lambda: sev.closes)
    assert log == [("recv", b"d"), ("error", "PeerClosedError"), ("close",)]


def test_no_reference_cycles_survive_the_chain(loop, runner, net):
    client, conn = net.pair()[:2]
    lines = LineProtocol(switch_to=Raw())
    conn.add_receiver(lines)
    client.send(b"a\nSWITCH\nb")
    runner.until(loop, lambda: lines.switch_to.data == b"b")
    refs = [weakref.ref(o) for o in (client, conn, lines, lines.switch_to)]
    net.close(client, conn)
    client = conn = lines = None
    gc.collect()
    assert [r() for r in refs] == [None] * 4

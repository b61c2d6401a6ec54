"""Broadcaster: each frame to every client sink, a slow client dropped from or cut by
policy while the others get every frame in order; then the same with real HTTP clients
in process (leak-checked), and examples/broadcast.py run as a program."""

from __future__ import annotations

import http.client
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from multipartlib import MultipartReader, boundary_of

import sourcey
from sourcey import uv
from sourcey.http import Server
from sourcey.stream import (
    FINAL,
    Broadcaster,
    ClientSink,
    MultipartPacketizer,
    Packet,
    PacketStream,
    ResponseSink,
)


class FakeSink:
    """A ClientSink whose backlog the test sets."""

    def __init__(self, queued=0):
        self.queued = queued
        self.closed = False
        self.aborted = False
        self.data = []

    def write(self, data):
        assert not self.closed
        self.data.append(data)
        return self.queued

    def close(self, abort=False):
        self.closed = True
        self.aborted = abort


def frames(n, start=0):
    return [b"f%d" % i for i in range(start, start + n)]


# --- the broadcaster alone ----------------------------------------------------------------


def test_every_client_gets_every_frame_in_order():
    bc = Broadcaster()
    sinks = [FakeSink() for _ in range(3)]
    for s in sinks:
        bc.add(s)
    bc.add(sinks[0])                        # once only
    assert isinstance(sinks[0], ClientSink) and len(bc.clients) == 3
    for f in frames(5):
        bc.broadcast(f)
    assert all(s.data == frames(5) for s in sinks)
    assert bc.stats == {"frames": 5, "clients": 3, "dropped": 0, "disconnected": 0, "gone": 0,
                        "failed": 0}
    assert bc.client_stats(sinks[1]) == {"sent": 5, "dropped": 0}


def test_drop_policy_skips_a_slow_client_and_counts_it():
    removed = []
    bc = Broadcaster(high_water=100, policy="drop",
                     on_remove=lambda s, why, st: removed.append((why, st)))
    fast, slow = FakeSink(), FakeSink()
    bc.add(fast)
    bc.add(slow)
    bc.broadcast(b"f0")
    slow.queued = 101                       # behind: above the high-water mark
    bc.broadcast(b"f1")
    bc.broadcast(b"f2")
    slow.queued = 100                       # at the mark: takes frames again
    bc.broadcast(b"f3")
    assert fast.data == frames(4)
    assert slow.data == [b"f0", b"f3"] and not slow.closed
    assert bc.client_stats(slow) == {"sent": 2, "dropped": 2}
    assert bc.stats["dropped"] == 2 and bc.stats["disconnected"] == 0
    assert removed == []


def test_max_drops_disconnects_a_client_missing_that_many_in_a_row():
    removed = []
    bc = Broadcaster(high_water=0, policy="drop", max_drops=3,
                     on_remove=lambda s, why, st: removed.append((s, why, st)))
    slow = FakeSink(queued=1)
    bc.add(slow)
    bc.broadcast(b"a")
    bc.broadcast(b"b")
    slow.queued = 0
    bc.broadcast(b"c")                      # caught up: the run starts again
    slow.queued = 1
    for f in frames(2):
        bc.broadcast(f)
    assert slow.data == [b"c"] and not slow.closed
    bc.broadcast(b"third in a row")
    assert slow.closed and slow.aborted and bc.clients == []
    assert removed == [(slow, "disconnected", {"sent": 1, "dropped": 5})]
    assert bc.stats["disconnected"] == 1 and bc.stats["dropped"] == 5


def test_disconnect_policy_cuts_a_slow_client_at_once():
    removed = []
    bc = Broadcaster(high_water=10, policy="disconnect",
                     on_remove=lambda s, why, st: removed.append(why))
    fast, slow = FakeSink(), FakeSink(queued=11)
    bc.add(fast)
    bc.add(slow)
    for f in frames(3):
        bc.broadcast(f)
    assert fast.data == frames(3) and slow.data == []
    assert slow.closed and slow.aborted
    assert removed == ["disconnected"]
    assert bc.stats["disconnected"] == 1 and bc.stats["clients"] == 1


def test_a_closed_client_is_forgotten_at_the_next_frame():
    removed = []
    bc = Broadcaster(on_remove=lambda s, why, st: removed.append(why))
    gone, kept = FakeSink(), FakeSink()
    bc.add(gone)
    bc.add(kept)
    gone.closed = True
    bc.broadcast(b"x")
    assert bc.clients == [kept] and removed == ["gone"] and bc.stats["gone"] == 1
    assert bc.remove(kept) and not bc.remove(kept)
    assert removed == ["gone", "removed"] and not kept.closed


def test_final_goes_to_every_client_even_a_slow_one_then_closes_them_in_order():
    mp = MultipartPacketizer(boundary="b")
    bc = Broadcaster(high_water=10, packetizer=mp)
    fast, slow = FakeSink(), FakeSink(queued=1000)
    bc.add(fast)
    bc.add(slow)
    bc.broadcast(Packet(b"one"))
    bc.broadcast(Packet(b"last", FINAL))
    assert fast.data == [mp.frame(b"one"), mp.frame(Packet(b"last", FINAL))]
    assert fast.data[-1].endswith(b"--b--\r\n")
    assert slow.data == [mp.frame(Packet(b"last", FINAL))]
    assert fast.closed and slow.closed and not (fast.aborted or slow.aborted)
    assert bc.clients == []


def test_a_client_whose_write_raises_is_dropped_and_the_others_still_get_the_frame(caplog):
    class Broken(FakeSink):
        def write(self, data):
            raise OSError("broken client")

    removed = []
    bc = Broadcaster(on_remove=lambda s, why, st: removed.append(why))
    first, broken, last = FakeSink(), Broken(), FakeSink()
    for s in (first, broken, last):
        bc.add(s)
    bc.broadcast(b"x")
    bc.broadcast(b"y")
    assert first.data == last.data == [b"x", b"y"]
    assert removed == ["failed"] and bc.stats["failed"] == 1 and len(bc.clients) == 2
    assert "broken client" in caplog.text


def test_bad_arguments():
    with pytest.raises(ValueError, match="policy"):
        Broadcaster(policy="block")
    with pytest.raises(ValueError):
        Broadcaster(max_drops=0)
    with pytest.raises(TypeError, match="ClientSink"):
        Broadcaster().add(object())


def test_as_the_emitter_slot_of_a_stream():
    s = PacketStream("bc")
    bc = Broadcaster()
    sink = FakeSink()
    bc.add(sink)
    s.emitter += bc
    s.start()
    s.write(b"a")
    s.write(bytearray(b"b"), FINAL)
    assert sink.data == [b"a", b"b"] and sink.closed
    assert s.state.name == "STOPPED"
    s.close()


# --- real HTTP clients, in process -------------------------------------------------------

FRAME = 32768


class Done:
    """A client thread's end: an Event, and a wake-up of the loop waiting for it."""

    def __init__(self, wake):
        self.event = threading.Event()
        self.wake = wake

    def set(self):
        self.event.set()
        self.wake.send()

    def is_set(self):
        return self.event.is_set()


def read_parts(port, path, out, done, slow_gate=None, rcvbuf=None):
    """A client thread: reads the multipart stream at ``path`` into ``out`` (frame
    numbers) until its close delimiter. With ``slow_gate``, reads nothing until the gate
    opens (a small receive buffer makes it fall behind sooner)."""
    try:
        with socket.socket() as s:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(30)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode())
            if slow_gate is not None:
                assert slow_gate.wait(30)
            head = b""
            while b"\r\n\r\n" not in head:
                data = s.recv(65536)
                assert data, "closed before the head"
                head += data
            head, _, rest = head.partition(b"\r\n\r\n")
            ctype = re.search(rb"\r\nContent-Type: ([^\r]+)", head).group(1).decode()
            assert b"\r\nTransfer-Encoding: chunked" in head
            reader = MultipartReader(boundary_of(ctype))
            body = ChunkDecoder()
            data = rest
            while True:
                for _, frame in reader.feed(body.feed(data)):
                    out.append(int(frame[:8]))
                if reader.closed:
                    break
                data = s.recv(65536)
                assert data, "closed before the close delimiter"
    finally:
        done.set()


class ChunkDecoder:
    """Just enough of a chunked-body decoder for the client threads: returns the data
    of the whole chunks fed so far."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            line_end = self.buf.find(b"\r\n")
            if line_end < 0:
                break
            size = int(self.buf[:line_end], 16)
            if len(self.buf) < line_end + 2 + size + 2:
                break
            out.append(self.buf[line_end + 2:line_end + 2 + size])
            assert self.buf[line_end + 2 + size:line_end + 4 + size] == b"\r\n"
            self.buf = self.buf[line_end + 4 + size:]
        return b"".join(out)


def test_http_clients_a_slow_one_loses_frames_the_others_get_all(loop, runner):
    mp = MultipartPacketizer("application/octet-stream")
    removed = {}
    bc = Broadcaster(high_water=256 * 1024, policy="drop", packetizer=mp,
                     on_remove=lambda sink, why, st: removed.__setitem__(id(sink), (why, st)))
    sinks = []

    def handler(request, response):
        sink = ResponseSink(response, mp.content_type)
        sinks.append(sink)
        bc.add(sink)

    server = Server(handler, loop=loop)
    _, port = server.listen("127.0.0.1", 0)
    stream = PacketStream("frames")
    stream.synchronize_output(loop)
    stream.emitter += bc
    stream.start()

    wake = uv.Async(loop, lambda handle: None)
    fast = [([], Done(wake)) for _ in range(2)]
    slow_gate, slow_out, slow_done = threading.Event(), [], Done(wake)
    threads = [threading.Thread(target=read_parts, args=(port, "/f", out, done))
               for out, done in fast]
    threads.append(threading.Thread(target=read_parts, args=(
        port, "/f", slow_out, slow_done, slow_gate, 4096)))
    for t in threads:
        t.start()
    stop = threading.Event()
    made = [0]

    def produce():
        # Frames at about 200/s; a wait on an Event paces it, not a sleep.
        seq = 0
        while not stop.wait(0.005):
            stream.write(b"%08d" % seq + bytes(FRAME))
            seq += 1
        stream.write(b"%08d" % seq + bytes(FRAME), FINAL)
        made[0] = seq + 1

    producer = threading.Thread(target=produce)
    try:
        runner.until(loop, lambda: len(bc.clients) == 3, timeout=10)
        producer.start()
        runner.until(loop, lambda: bc.stats["dropped"] >= 10, timeout=30)
        at_drop = bc.stats["frames"]
        runner.until(loop, lambda: bc.stats["frames"] >= at_drop + 20, timeout=30)
    finally:
        stop.set()
        slow_gate.set()
    producer.join(10)
    runner.until(loop, lambda: all(d.is_set() for _, d in fast) and slow_done.is_set(),
                 timeout=30)
    for t in threads:
        t.join(10)
    wake.close()
    stream.close()
    server.close()
    runner.run(loop, 10)

    for out, _ in fast:                     # every frame, in order, the last included
        assert out == list(range(made[0]))
    slow_stats = [st for why, st in removed.values() if st["dropped"]]
    assert len(slow_stats) == 1 and all(why == "final" for why, _ in removed.values())
    assert slow_stats[0]["sent"] == len(slow_out)
    assert slow_stats[0]["sent"] + slow_stats[0]["dropped"] == made[0]
    assert slow_out == sorted(slow_out) and slow_out[-1] == made[0] - 1
    assert bc.stats["dropped"] == slow_stats[0]["dropped"] >= 10
    assert all(s.closed for s in sinks)


# --- examples/broadcast.py ----------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "broadcast.py"
LIB = str(Path(sourcey.__file__).resolve().parents[1])


class Lines:
    """The program's stdout, a line at a time, each read bounded."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""
        self.seen = []

    def next(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                assert left > 0 and sel.select(left), f"no line in {timeout} s: {self.seen}"
                data = os.read(self.proc.stdout.fileno(), 4096)
                assert data, f"the program exited: {self.seen} {self.proc.stderr.read()!r}"
                self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        self.seen.append(line.decode())
        return self.seen[-1]

    def until(self, pattern, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(0.1, deadline - time.monotonic()))
            if re.search(pattern, line):
                return line


def read_stream(port, out, done):
    """A /stream client (http.client): the chunked body is whole zlib streams, one a
    frame."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/stream")
        r = conn.getresponse()
        assert r.getheader("Transfer-Encoding") == "chunked"
        pending = b""
        while data := r.read1(65536):
            pending += data
            while pending:
                d = zlib.decompressobj()
                frame = d.decompress(pending)
                if not d.eof:
                    break
                out.append(int(frame[:8]))
                pending = d.unused_data
        assert pending == b""
        conn.close()
    finally:
        done.set()


def read_mjpeg(port, out, done):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/mjpeg")
        r = conn.getresponse()
        reader = MultipartReader(boundary_of(r.getheader("Content-Type")))
        while not reader.closed:
            data = r.read1(65536)
            assert data, "the body ended before the close delimiter"
            for fields, body in reader.feed(data):
                assert fields["content-type"] == "application/zlib"
                out.append(int(zlib.decompress(body)[:8]))
        assert r.read() == b""
        conn.close()
    finally:
        done.set()


def test_example_broadcasts_to_real_clients_and_cuts_a_slow_one():
    env = dict(os.environ, PYTHONPATH=LIB)
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--host", "127.0.0.1", "--port", "0", "--rate", "100",
         "--frame-size", "65536", "--high-water", "262144", "--policy", "disconnect"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    curl = None
    threads = []
    slow = None
    try:
        lines = Lines(proc)
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", lines.next()).group(1))
        clients = [([], threading.Event(), read_mjpeg) for _ in range(2)]
        clients.append(([], threading.Event(), read_stream))
        for out, done, fn in clients:
            threads.append(threading.Thread(target=fn, args=(port, out, done)))
            threads[-1].start()
        if shutil.which("curl"):
            curl = subprocess.Popen(["curl", "-sSN", "--max-time", "60",
                                     f"http://127.0.0.1:{port}/mjpeg"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(30)
        slow.connect(("127.0.0.1", port))
        slow_port = slow.getsockname()[1]
        slow.sendall(b"GET /mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
        line = lines.until(rf"client 127\.0\.0\.1:{slow_port} (disconnected|gone)", 60)
        assert "disconnected" in line
        proc.send_signal(signal.SIGTERM)
        for _, done, _ in clients:
            assert done.wait(30)
        curl_out = curl.communicate(timeout=30)[0] if curl is not None else None
        assert proc.wait(30) == 0
        tail = proc.stdout.read().decode()
        cut = b""
        try:
            while data := slow.recv(1 << 20):
                cut += data
        except ConnectionResetError:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if curl is not None and curl.poll() is None:
            curl.kill()
            curl.wait()
        for t in threads:
            t.join(10)
        if slow is not None:
            slow.close()
        proc.stdout.close()
        proc.stderr.close()

    # The slow client was cut: what it could still read stops short of the end.
    assert cut.startswith(b"HTTP/1.1 200 OK\r\n") and not cut.endswith(b"--\r\n")
    assert "frames; /mjpeg: {'frames'" in tail and "'disconnected': 1" in tail
    made = int(re.search(r"(\d+) frames;", tail).group(1))
    for out, _, fn in clients:              # every frame from its first, in order
        assert out and out == list(range(out[0], made)), fn.__name__
    if curl_out is not None:
        assert curl.returncode == 0
        reader = MultipartReader(re.match(rb"--([^\r]+)\r\n", curl_out).group(1))
        seqs = [int(zlib.decompress(body)[:8]) for _, body in reader.feed(curl_out)]
        assert reader.closed and seqs == list(range(seqs[0], made))


def test_example_sigint_ends_every_client_then_exits():
    env = dict(os.environ, PYTHONPATH=LIB)
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--host", "127.0.0.1", "--port",
                             "0", "--rate", "50", "--frame-size", "1024"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, done = [], threading.Event()
    thread = None
    try:
        lines = Lines(proc)
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", lines.next()).group(1))
        thread = threading.Thread(target=read_mjpeg, args=(port, out, done))
        thread.start()
        lines.until(r"/mjpeg: client .* joined")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/nowhere")
        r = conn.getresponse()
        assert (r.status, r.read()) == (404, b"paths: /mjpeg /stream /ws /stats\n")
        conn.request("GET", "/stats")
        r = conn.getresponse()
        stats = json.loads(r.read())
        conn.close()
        assert r.getheader("Content-Type") == "application/json"
        assert stats["/mjpeg"]["clients"] == 1 and stats["/stream"]["clients"] == 0
        proc.send_signal(signal.SIGINT)
        assert done.wait(30)
        assert proc.wait(30) == 0
        tail = proc.stdout.read().decode()
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if thread is not None:
            thread.join(10)
        proc.stdout.close()
        proc.stderr.close()
    assert "SIGINT: closing" in tail and err == ""
    made = int(re.search(r"(\d+) frames;", tail).group(1))
    assert out and out == list(range(out[0], made))     # to the FINAL frame, in order


def read_ws(port, out, done):
    """A /ws client (the websockets package): a binary message a frame, to the close."""
    from websockets.sync.client import connect
    try:
        with connect(f"ws://127.0.0.1:{port}/ws", compression=None, open_timeout=10,
                     close_timeout=10) as ws:
            for message in ws:
                out.append(int(zlib.decompress(message)[:8]))
    finally:
        done.set()


def test_example_broadcasts_to_websocket_clients_and_cuts_a_slow_one():
    pytest.importorskip("websockets")
    env = dict(os.environ, PYTHONPATH=LIB)
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--host", "127.0.0.1", "--port", "0", "--rate", "100",
         "--frame-size", "65536", "--high-water", "262144", "--policy", "disconnect"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    threads = []
    slow = None
    clients = [([], threading.Event()) for _ in range(2)]
    try:
        lines = Lines(proc)
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", lines.next()).group(1))
        for out, done in clients:
            threads.append(threading.Thread(target=read_ws, args=(port, out, done)))
            threads[-1].start()
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(30)
        slow.connect(("127.0.0.1", port))
        slow_port = slow.getsockname()[1]
        slow.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        line = lines.until(rf"/ws: client 127\.0\.0\.1:{slow_port} (disconnected|gone)", 60)
        assert "disconnected" in line
        proc.send_signal(signal.SIGTERM)
        for _, done in clients:
            assert done.wait(30)
        assert proc.wait(30) == 0
        tail = proc.stdout.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in threads:
            t.join(10)
        if slow is not None:
            slow.close()
        proc.stdout.close()
        proc.stderr.close()
    made = int(re.search(r"(\d+) frames;", tail).group(1))
    for out, _ in clients:                  # every frame from its first, in order
        assert out and out == list(range(out[0], made))

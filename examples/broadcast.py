"""Frames made on a thread, compressed off the loop, broadcast to every HTTP and
WebSocket client.

    python examples/broadcast.py --port 8080 --rate 30
    curl -N http://127.0.0.1:8080/mjpeg      # multipart/x-mixed-replace: a part a frame
    curl -N http://127.0.0.1:8080/stream     # chunked: a chunk a frame
    ws://127.0.0.1:8080/ws                   # WebSocket: a binary message a frame
    curl http://127.0.0.1:8080/stats         # the broadcasters' counters (JSON)

A producer thread makes a synthetic frame every 1/--rate seconds: its sequence number
(8 ASCII digits) and --frame-size bytes, half random, half a pattern, so it compresses
to about half. The PacketStream carries it:

    producer thread -> AsyncPacketQueue -> Compressor (worker thread)
                    -> synchronize_output (loop thread) -> emitter -> Broadcasters

The compressor sits behind an AsyncPacketQueue rather than on the producer thread: the
producer keeps its fixed rate however long a frame takes to compress (a capture source
must not stall), compressing frame N overlaps making frame N+1 (zlib releases the GIL),
and the loop only ever writes. The queue blocks the producer only when compression falls
``capacity`` frames behind: nothing is lost on the way.

Each path has a Broadcaster. A client more than --high-water bytes behind loses frames
(--policy drop) or is disconnected (--policy disconnect); the others get every frame, in
order. Each frame is a whole zlib stream, so a reader of /stream splits the body into
frames with ``zlib.decompressobj().unused_data``. Clients coming and going are printed.

Ctrl-C (or SIGTERM): the producer sends a last, FINAL frame; it ends every client's
response (the multipart close delimiter, the last chunk), then the stream and the server
close, and the loop ends.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import zlib
from typing import Any

from sourcey import uv
from sourcey.http import Request, Response, Server, websocket
from sourcey.stream import (
    FINAL,
    AsyncPacketQueue,
    Broadcaster,
    ClientSink,
    MultipartPacketizer,
    Packet,
    PacketProcessor,
    PacketStream,
    ResponseSink,
    StreamError,
    WebSocketSink,
)

# After a signal, how long the FINAL frame may take to come through before the server
# closes without it.
CLOSE_TIMEOUT = 5.0


class Compressor(PacketProcessor):
    """Each frame becomes a zlib stream of it (on the thread that brings it: here, the
    AsyncPacketQueue's worker)."""

    def __init__(self, level: int = 6) -> None:
        self.level = level

    def process(self, packet: Packet) -> None:
        self.emit(packet.copy(zlib.compress(packet.data, self.level)))


class Producer(threading.Thread):
    """Writes a frame into ``stream`` every ``1 / rate`` seconds, on its own clock
    (a late frame does not push the next ones back); on ``stop()``, a last FINAL one."""

    def __init__(self, stream: PacketStream, rate: float, frame_size: int) -> None:
        super().__init__(name="producer", daemon=True)
        self.stream = stream
        self.period = 1.0 / rate
        self.frame_size = frame_size
        self.frames = 0
        self._stopping = threading.Event()

    def frame(self) -> bytes:
        noise = os.urandom(self.frame_size // 2)
        pattern = (b"%08d" % self.frames) * (self.frame_size // 16 + 1)
        return b"%08d" % self.frames + noise + pattern[:self.frame_size - len(noise)]

    def run(self) -> None:
        deadline = time.monotonic()
        try:
            while not self._stopping.wait(max(0.0, deadline - time.monotonic())):
                self.stream.write(self.frame(), 0, self.frames)
                self.frames += 1
                deadline += self.period
            self.stream.write(self.frame(), FINAL, self.frames)
            self.frames += 1
        except StreamError as exc:      # the stream closed under us (a forced close)
            print(f"producer: {exc}", flush=True)

    def stop(self) -> None:
        self._stopping.set()


class BroadcastServer:
    """The stream, its two broadcasters and the HTTP server that adds clients to them."""

    def __init__(self, loop: uv.Loop, rate: float, frame_size: int, high_water: int,
                 policy: str) -> None:
        self.loop = loop
        self.stream = PacketStream("broadcast", loop)
        self.stream.attach(AsyncPacketQueue(capacity=64), order=0)
        self.stream.attach(Compressor(), order=1)
        self.stream.synchronize_output(loop)
        self.multipart = MultipartPacketizer("application/zlib")
        self.paths = {
            "/mjpeg": Broadcaster(high_water=high_water, policy=policy,
                                  packetizer=self.multipart, on_remove=self._left("/mjpeg")),
            "/stream": Broadcaster(high_water=high_water, policy=policy,
                                   on_remove=self._left("/stream")),
            "/ws": Broadcaster(high_water=high_water, policy=policy,
                               on_remove=self._left("/ws")),
        }
        for broadcaster in self.paths.values():
            self.stream.emitter += broadcaster
        self.stream.emitter += self._after
        self.server = Server(self.handle, loop=loop)
        self.producer = Producer(self.stream, rate, frame_size)
        self.signals: list[uv.Signal] = []
        self.timer: uv.Timer | None = None
        self.closed = False

    def handle(self, request: Request, response: Response) -> None:
        response.headers["Cache-Control"] = "no-store"
        broadcaster = self.paths.get(request.path)
        if request.path == "/ws":
            # the frames are zlib streams already: no permessage-deflate on top
            ws = websocket.accept(request, response, compression=None)
            if ws is not None:
                broadcaster.add(WebSocketSink(ws))
                print(f"/ws: client {_peer(request)} joined", flush=True)
        elif broadcaster is not None:
            content_type = (self.multipart.content_type if broadcaster.packetizer
                            else "application/octet-stream")
            broadcaster.add(ResponseSink(response, content_type))
            print(f"{request.path}: client {_peer(request)} joined", flush=True)
        elif request.path == "/stats":
            response.headers["Content-Type"] = "application/json"
            response.end(json.dumps({path: b.stats for path, b in self.paths.items()})
                         .encode())
        else:
            response.status = 404
            response.headers["Content-Type"] = "text/plain"
            response.end(b"paths: /mjpeg /stream /ws /stats\n")

    def _left(self, path: str) -> Any:
        def left(sink: ClientSink, reason: str, stats: dict[str, int]) -> None:
            request = (sink.response.request if isinstance(sink, ResponseSink)
                       else sink.ws.request if isinstance(sink, WebSocketSink) else None)
            print(f"{path}: client {_peer(request)} {reason} (sent {stats['sent']}, "
                  f"dropped {stats['dropped']})", flush=True)
        return left

    def _after(self, packet: Packet) -> None:
        """After the broadcasters: the FINAL frame has ended every client; close."""
        if packet.flags & FINAL:
            self.close()

    def start(self, host: str, port: int) -> tuple[str, int]:
        address = self.server.listen(host, port)
        for signum in (signal.SIGINT, signal.SIGTERM):
            sig = uv.Signal(self.loop)
            sig.start(self._on_signal, signum)
            self.signals.append(sig)
        self.stream.start()
        self.producer.start()
        return address

    def _on_signal(self, handle: uv.Signal, signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing", flush=True)
        if self.timer is None and self.producer.is_alive() and self.stream.active:
            self.producer.stop()        # its FINAL frame closes everything, or else:
            self.timer = uv.Timer(self.loop)
            self.timer.start(lambda timer: self.close(), CLOSE_TIMEOUT)
        else:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.producer.stop()
        if self.timer is not None:
            self.timer.close()
        for broadcaster in self.paths.values():
            broadcaster.close()
        self.stream.close()
        self.server.close()
        for sig in self.signals:
            sig.close()
        self.signals = []


def _peer(request: Request | None) -> str:
    peer = request.peer if request is not None else None
    return f"{peer[0]}:{peer[1]}" if peer else "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--rate", type=float, default=30.0, help="frames per second (30)")
    ap.add_argument("--frame-size", type=int, default=65536,
                    help="bytes per frame before compression (65536)")
    ap.add_argument("--high-water", type=int, default=1 << 20,
                    help="bytes queued for a client before it counts as slow (1 MiB)")
    ap.add_argument("--policy", choices=("drop", "disconnect"), default="drop",
                    help="what a slow client gets: dropped frames, or disconnected (drop)")
    args = ap.parse_args()
    if args.rate <= 0 or args.frame_size < 16 or args.high_water < 0:
        ap.error("--rate must be positive, --frame-size at least 16, --high-water >= 0")

    loop = uv.Loop.default_loop()
    app = BroadcastServer(loop, args.rate, args.frame_size, args.high_water, args.policy)
    try:
        host, port = app.start(args.host, args.port)
    except OSError as exc:
        app.close()
        loop.run()
        sys.exit(f"broadcast: cannot listen on {args.host}:{args.port}: {exc}")
    print(f"broadcasting on http://{host}:{port}/mjpeg and /stream at {args.rate:g} "
          f"frames/s; Ctrl-C stops it", flush=True)
    loop.run()
    app.producer.join()
    print(f"{app.producer.frames} frames; " + ", ".join(
        f"{path}: {b.stats}" for path, b in app.paths.items()), flush=True)


if __name__ == "__main__":
    main()

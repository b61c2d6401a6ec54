"""WebSocket echo server on sourcey.http.websocket: every message comes back as sent
(text as text, binary as binary), with permessage-deflate when the client offers it.

    python examples/ws_echo.py --port 9001
    # then: python -m websockets ws://127.0.0.1:9001/

Backpressure: a client that sends faster than it reads is paused. When echoing makes
its write queue pass the high watermark, reading from it stops until the queue drains,
so its data backs up in TCP instead of in this process's memory.

This is also the server the Autobahn|Testsuite fuzzing client runs against
(tests/http/websocket/test_ws_autobahn.py); --max-message must then be at least 16 MiB
(its 9.x cases), the default.

Ctrl-C (or SIGTERM) closes every connection with 1001 (going away), then the loop ends.
"""

from __future__ import annotations

import argparse
import signal
import sys

from sourcey import uv
from sourcey.http.websocket import Deflate, WebSocket, WebSocketServer


def on_message(ws: WebSocket, data: str | bytes, is_text: bool) -> None:
    if ws.open and not ws.send(data):
        ws.pause_reading()          # resumed on Drain


def on_connect(ws: WebSocket) -> None:
    ws.Message += on_message
    ws.Drain += WebSocket.resume_reading


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--max-message", type=int, default=16 * 1024 * 1024, metavar="BYTES",
                    help="close with 1009 on a larger message (default 16 MiB)")
    ap.add_argument("--no-compression", action="store_true",
                    help="decline permessage-deflate")
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    try:
        server = WebSocketServer(on_connect, args.host, args.port, loop=loop,
                                 compression=None if args.no_compression else Deflate(),
                                 max_message=args.max_message)
    except OSError as exc:
        sys.exit(f"ws_echo: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing {len(server.connections)} "
              f"connection(s)", flush=True)
        server.close(close_connections=True)

    uv.close_on_signals(loop, on_signal=on_signal)
    print(f"ws echo server on ws://{args.host}:{server.port}/; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

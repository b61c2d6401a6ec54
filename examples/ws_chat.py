"""WebSocket broadcast chat on sourcey.http.websocket: every text message a client sends
goes to every connected client, as ``name: text``.

    python examples/ws_chat.py --port 9002
    # then, from two or more terminals:
    #   python -m websockets "ws://127.0.0.1:9002/?name=ann"
    #   python -m websockets "ws://127.0.0.1:9002/?name=bob"

A client's name is the ``name`` query parameter (1-32 characters; ``guest-N`` if none).
Everyone sees ``* name joined`` and ``* name left``. Binary messages are refused with
close code 1003 (unsupported data); messages above --max-message with 1009.

Backpressure: a client that does not read what it is sent is dropped. Each broadcast is
queued on each recipient's connection, and send() returns False once that queue passes
its high watermark (--sendq): the client is that far behind the room, so it is closed
with 1008 and the others see ``* name left (too slow)``. Pausing the sender until every
recipient has drained would let one stalled reader freeze the room; memory stays
bounded: at most --sendq plus one message per client.

Ctrl-C (or SIGTERM) closes every connection with 1001 (going away), then the loop ends.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
from urllib.parse import parse_qs

from sourcey import uv
from sourcey.http.websocket import ConnectionClosed, WebSocket, WebSocketServer


class Chat:
    """The room: who is in it, and the broadcast."""

    def __init__(self, loop: uv.Loop, host: str, port: int, sendq: int,
                 max_message: int) -> None:
        self.sendq = sendq
        self.names: dict[WebSocket, str] = {}
        self.slow: set[WebSocket] = set()
        self.guests = itertools.count(1)
        self.server = WebSocketServer(self.joined, host, port, loop=loop,
                                      max_message=max_message)

    def joined(self, ws: WebSocket) -> None:
        query = parse_qs(ws.request.query)
        name = (query.get("name") or [""])[0].strip()[:32] or f"guest-{next(self.guests)}"
        ws.set_watermarks(self.sendq, self.sendq // 4)
        self.names[ws] = name
        ws.Message += self.said
        ws.Close += self.left
        self.broadcast(f"* {name} joined ({len(self.names)} here)")

    def said(self, ws: WebSocket, data: str | bytes, is_text: bool) -> None:
        if not is_text:
            ws.close(1003, "text only")
            return
        self.broadcast(f"{self.names[ws]}: {data}")

    def left(self, ws: WebSocket, code: int, reason: str) -> None:
        name = self.names.pop(ws, None)
        if name is not None:
            note = " (too slow)" if ws in self.slow else ""
            self.slow.discard(ws)
            self.broadcast(f"* {name} left{note}")

    def broadcast(self, text: str) -> None:
        for ws in list(self.names):
            try:
                if not ws.send(text):
                    self.slow.add(ws)
                    ws.close(1008, "too slow")
            except ConnectionClosed:
                pass            # closing already: its Close slot removes it

    def close(self) -> None:
        self.server.close(close_connections=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9002)
    ap.add_argument("--sendq", type=int, default=1024 * 1024, metavar="BYTES",
                    help="drop a client once this much is queued for it (default 1 MiB)")
    ap.add_argument("--max-message", type=int, default=64 * 1024, metavar="BYTES",
                    help="close with 1009 on a larger message (default 64 KiB)")
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    try:
        chat = Chat(loop, args.host, args.port, args.sendq, args.max_message)
    except OSError as exc:
        sys.exit(f"ws_chat: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing {len(chat.names)} connection(s)",
              flush=True)
        chat.close()

    uv.close_on_signals(loop, on_signal=on_signal)
    print(f"ws chat on ws://{args.host}:{chat.server.port}/; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

"""WebSocket echo on sourcey.http.websocket, as a user writes it.

    python sourcey_ws_echo.py --port P [--host H]

A WebSocketServer whose Message slot sends every message back; permessage-deflate is
declined (the workload measures framing, not zlib). SIGTERM and SIGINT close the server
and its connections and let the loop end.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    from sourcey import uv
    from sourcey.http.websocket import WebSocketServer
except ImportError:
    sys.path.insert(0, ROOT)  # an in-place build in the checkout
    try:
        from sourcey import uv
        from sourcey.http.websocket import WebSocketServer
    except ImportError as exc:
        sys.exit(f"sourcey_ws_echo: sourcey.http.websocket is not importable: {exc!r}")


def on_message(ws, data, is_text) -> None:
    ws.send(data)


def on_connect(ws) -> None:
    ws.Message += on_message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    loop = uv.Loop.default_loop()
    server = WebSocketServer(on_connect, args.host, args.port, loop=loop, compression=None)
    signals = []

    def on_signal(handle, signum):
        server.close(close_connections=True)
        for sig in signals:
            sig.close()

    for signum in (signal.SIGTERM, signal.SIGINT):
        sig = uv.Signal(loop)
        sig.start(on_signal, signum)
        signals.append(sig)
    loop.run()


if __name__ == "__main__":
    main()

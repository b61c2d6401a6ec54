"""A chunked HTTP response fed by a timer, on sourcey.http.Server.

    python examples/http_stream.py --port 8080 --lines 10 --interval 0.1
    curl -N http://127.0.0.1:8080/

Every request gets ``--lines`` lines, one each ``--interval`` seconds, each sent with
``response.write()`` as it is made: the length is not known up front, so the server
sends the body chunked (to an HTTP/1.0 client: delimited by the close). The last tick
calls ``response.end()`` and closes the timer. Ctrl-C (or SIGTERM) stops accepting,
lets the streams in flight run to their end, closes idle connections, and the loop ends.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

from sourcey import uv
from sourcey.http import Request, Response, Server


def streamer(loop: uv.Loop, lines: int,
             interval: float) -> Callable[[Request, Response], None]:
    """A handler that answers with ``lines`` lines, one per ``interval`` seconds."""

    def handle(request: Request, response: Response) -> None:
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        sent = 0

        def tick(timer: uv.Timer) -> None:
            nonlocal sent
            sent += 1
            response.write(b"line %d of %d\n" % (sent, lines))
            if sent == lines:
                timer.close()
                response.end()

        if lines == 0:
            response.end()
            return
        timer = uv.Timer(loop)
        timer.start(tick, interval, interval)

    return handle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--lines", type=int, default=10, help="lines per response (10)")
    ap.add_argument("--interval", type=float, default=0.1,
                    help="seconds between lines (0.1)")
    args = ap.parse_args()
    if args.lines < 0 or args.interval < 0:
        ap.error("--lines and --interval must not be negative")

    loop = uv.Loop.default_loop()
    server = Server(streamer(loop, args.lines, args.interval), loop=loop)
    try:
        host, port = server.listen(args.host, args.port)
    except OSError as exc:
        sys.exit(f"http_stream: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing", flush=True)
        server.close()

    uv.close_on_signals(loop, on_signal=on_signal)
    print(f"HTTP streaming server on http://{host}:{port}/; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

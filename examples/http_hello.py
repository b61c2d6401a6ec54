"""HTTP/1.1 "Hello, world!" on sourcey.http.Server.

    python examples/http_hello.py --port 8080
    curl -i http://127.0.0.1:8080/

Every request gets ``Hello, world!`` (HEAD gets the head only). Keep-alive and
pipelining come with the server. Ctrl-C (or SIGTERM) closes the server: it stops
accepting, lets responses in flight finish, closes idle connections, and the loop ends.
"""

from __future__ import annotations

import argparse
import signal
import sys

from sourcey import uv
from sourcey.http import Request, Response, Server

BODY = b"Hello, world!\n"


def hello(request: Request, response: Response) -> None:
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.end(BODY)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    server = Server(hello, loop=loop)
    try:
        host, port = server.listen(args.host, args.port)
    except OSError as exc:
        sys.exit(f"http_hello: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing")
        server.close()

    uv.close_on_signals(loop, on_signal=on_signal)
    print(f"HTTP server on http://{host}:{port}/; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

"""HTTP/1.1 echo on sourcey.http.Server: every request comes back as JSON.

    python examples/http_echo.py --port 8080
    curl -s http://127.0.0.1:8080/a?b --data-binary hello | python -m json.tool

The answer is ``{"method", "target", "version", "headers": [[name, value], ...],
"body"}`` with every string base64-encoded (names and values as the Latin-1 bytes that
were sent, the body as received after its transfer coding is removed), so what this
server parsed can be compared byte for byte with what another server parsed from the
same request. Ctrl-C (or SIGTERM) closes the server and the loop ends.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys

from sourcey import uv
from sourcey.http import Request, Response, Server


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("latin-1")   # the server decoded the wire bytes as Latin-1
    return base64.b64encode(data).decode("ascii")


def describe(request: Request) -> bytes:
    """The request as the JSON document this example answers with."""
    return json.dumps({
        "method": b64(request.method),
        "target": b64(request.target),
        "version": b64(request.version),
        "headers": [[b64(name), b64(value)] for name, value in request.headers.items()],
        "body": b64(request.body),
    }).encode("ascii")


def echo(request: Request, response: Response) -> None:
    response.headers["Content-Type"] = "application/json"
    response.end(describe(request))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    server = Server(echo, loop=loop)
    try:
        host, port = server.listen(args.host, args.port)
    except OSError as exc:
        sys.exit(f"http_echo: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing", flush=True)
        server.close()

    uv.close_on_signals(loop, on_signal=on_signal)
    print(f"HTTP echo server on http://{host}:{port}/; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

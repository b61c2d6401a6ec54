"""HTTP/1.1 "Hello, world!" on sourcey.http.Server, as a user writes it.

    python sourcey_http.py --port P [--host H]

A plain handler: Content-Type text/plain, body ``Hello, world!`` (sourcey adds
Content-Length and Date). Keep-alive and pipelining come with the server. SIGTERM and
SIGINT close the server and let the loop end.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    from sourcey import uv
    from sourcey.http import Server
except ImportError:
    sys.path.insert(0, ROOT)  # an in-place build in the checkout
    try:
        from sourcey import uv
        from sourcey.http import Server
    except ImportError as exc:
        sys.exit(f"sourcey_http: sourcey.http is not built or not importable: {exc!r}")

BODY = b"Hello, world!"


def hello(request, response) -> None:
    response.headers["Content-Type"] = "text/plain"
    response.end(BODY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    loop = uv.Loop.default_loop()
    server = Server(hello, loop=loop)
    server.listen(args.host, args.port)
    signals = []

    def on_signal(handle, signum):
        server.close()
        for sig in signals:
            sig.close()
        loop.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        sig = uv.Signal(loop)
        sig.start(on_signal, signum)
        signals.append(sig)
    loop.run()


if __name__ == "__main__":
    main()

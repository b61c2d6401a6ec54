"""Fetch URLs with sourcey.http.Client: all at once, over pooled keep-alive connections.

    python examples/http_fetch.py http://127.0.0.1:8080/ http://127.0.0.1:8080/other
    python examples/http_fetch.py --host 127.0.0.1 --port 8080 --path / --count 100
    python examples/http_fetch.py --stream https://example.org/big.iso > big.iso

Prints each response's status line and body size (or, with --stream, writes the bodies
to stdout as they arrive, without keeping them). Redirects are followed. The loop ends
by itself once every response is in: idle pooled connections do not keep it running.
"""

from __future__ import annotations

import argparse
import sys

from sourcey import uv
from sourcey.http import Client


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("urls", nargs="*", help="URLs to fetch (http:// or https://)")
    p.add_argument("--host", default="127.0.0.1", help="with --port: fetch from this host")
    p.add_argument("--port", type=int, help="fetch http://HOST:PORT/PATH --count times")
    p.add_argument("--path", default="/")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--stream", action="store_true", help="write bodies to stdout")
    args = p.parse_args()
    urls = list(args.urls)
    if args.port is not None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        urls += [f"http://{host}:{args.port}{args.path}"] * args.count
    if not urls:
        p.error("give URLs, or --port")

    loop = uv.Loop.default_loop()
    client = Client(loop, follow_redirects=True)
    failures = []

    def on_data(response, chunk):
        sys.stdout.buffer.write(chunk)

    def done(response, error, url):
        if error is not None:
            failures.append(url)
            print(f"{url}: {type(error).__name__}: {error}", file=sys.stderr)
        elif not args.stream:
            print(f"{response.url}: HTTP/{response.version} {response.status} "
                  f"{response.reason}, {len(response.body)} bytes")

    for url in urls:
        client.request("GET", url, on_data=on_data if args.stream else None,
                       callback=lambda r, e, url=url: done(r, e, url))
    loop.run()
    client.close()
    loop.run()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""HTTP/1.1 "Hello, world!" servers on asyncio / uvloop.

    python asyncio_http.py --impl httptools|aiohttp --port P [--host H] [--loop uvloop|asyncio]

``httptools``: an ``asyncio.Protocol`` feeding httptools' ``HttpRequestParser``; every
completed request gets a prebuilt response, written with ``transport.write`` from
``on_message_complete`` (one write per response, the usual way, also when requests are
pipelined). ``aiohttp``: an ``aiohttp.web`` application with one route returning
``web.Response(text=..., content_type="text/plain")``. Both run on uvloop by default.
SIGTERM and SIGINT stop the server.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

BODY = b"Hello, world!"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


class HttptoolsProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpRequestParser(self)
        self.error = httptools.HttpParserError
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except self.error:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve_httptools(host: str, port: int, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HttptoolsProtocol, host, port, backlog=511)
    await stop.wait()
    server.close()


async def serve_aiohttp(host: str, port: int, stop: asyncio.Event) -> None:
    from aiohttp import web

    async def hello(request):
        return web.Response(text="Hello, world!", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=511)
    await site.start()
    await stop.wait()
    await runner.cleanup()


async def amain(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    serve = serve_httptools if args.impl == "httptools" else serve_aiohttp
    await serve(args.host, args.port, stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=("httptools", "aiohttp"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    if args.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            sys.exit("asyncio_http: uvloop is not installed")
        uvloop.run(amain(args))
    else:
        asyncio.run(amain(args))


if __name__ == "__main__":
    main()

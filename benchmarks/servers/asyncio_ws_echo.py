"""WebSocket echo servers on uvloop: the websockets package and aiohttp.

    python asyncio_ws_echo.py --impl websockets|aiohttp --port P [--host H]

``websockets``: ``websockets.serve`` with a handler that sends back every message.
``aiohttp``: an ``aiohttp.web`` route with a ``WebSocketResponse`` doing the same.
Both decline permessage-deflate and lift the message size limit, as the sourcey server
does. SIGTERM and SIGINT stop the server.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys


async def serve_websockets(host: str, port: int, stop: asyncio.Event) -> None:
    import websockets

    async def echo(ws) -> None:
        async for message in ws:
            await ws.send(message)

    async with websockets.serve(echo, host, port, compression=None, max_size=None):
        await stop.wait()


async def serve_aiohttp(host: str, port: int, stop: asyncio.Event) -> None:
    from aiohttp import WSMsgType, web

    async def echo(request):
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
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
    serve = serve_websockets if args.impl == "websockets" else serve_aiohttp
    await serve(args.host, args.port, stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=("websockets", "aiohttp"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        sys.exit("asyncio_ws_echo: uvloop is not installed")
    uvloop.run(amain(args))


if __name__ == "__main__":
    main()

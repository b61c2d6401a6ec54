"""An HTTP client under test, fetching "Hello, world!" from a local server over keep-alive.

    python http_client.py --impl sourcey|aiohttp --port CONTROL --server BIN
                          [--host H] [--conns 4] [--inflight 16]

The benchmark runner treats this process as the "server" it measures (its CPU time is
the client's): it starts the HTTP server BIN (benchmarks/c/uv_http_server.c, the fastest
there is, so the client is the bottleneck) on a port of its own, pinned to the CPUs this
process is not on, then listens on CONTROL. clients/trigger.py connects there and sends
"WARMUP DURATION"; the client keeps ``--inflight`` GETs in flight on at most ``--conns``
keep-alive connections (a new request as each response arrives, the rest queued in the
client's pool) for WARMUP seconds, answers "start", counts the responses of the next
DURATION seconds and answers "end COUNT SECONDS".
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_server(binary: str, host: str) -> tuple[subprocess.Popen, int]:
    """The HTTP server on a free port, on the CPUs this process does not use."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    mine = os.sched_getaffinity(0)
    others = set(range(os.cpu_count() or 1)) - mine or mine
    proc = subprocess.Popen([binary, str(port), host], stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: os.sched_setaffinity(0, others))
    deadline = time.monotonic() + 10.0
    while True:
        try:
            socket.create_connection((host, port), timeout=1.0).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit(f"http_client: the server {binary} did not start")
            time.sleep(0.01)


def wait_trigger(host: str, port: int) -> tuple[socket.socket, float, float]:
    listener = socket.create_server((host, port))
    conn, _ = listener.accept()
    listener.close()
    line = b""
    while not line.endswith(b"\n"):
        piece = conn.recv(100)
        if not piece:
            sys.exit("http_client: the trigger went away")
        line += piece
    warmup, duration = (float(x) for x in line.split())
    return conn, warmup, duration


def run_sourcey(url: str, conns: int, inflight: int, control: socket.socket,
                warmup: float, duration: float) -> None:
    try:
        from sourcey import uv
        from sourcey.http import Client
    except ImportError:
        sys.path.insert(0, ROOT)
        from sourcey import uv
        from sourcey.http import Client

    loop = uv.Loop.default_loop()
    client = Client(loop, max_per_host=conns)
    state = {"count": 0, "stop": False, "errors": 0}

    def done(response, error):
        if error is not None or response.status != 200:
            state["errors"] += 1
        state["count"] += 1
        if not state["stop"]:
            client.request("GET", url, callback=done)

    def started(timer):
        state["count"] = 0
        state["t0"] = time.monotonic()
        control.sendall(b"start\n")
        timer.start(ended, duration)

    def ended(timer):
        elapsed = time.monotonic() - state["t0"]
        state["stop"] = True
        control.sendall(b"end %d %.6f %d\n" % (state["count"], elapsed, state["errors"]))
        timer.close()
        client.close()

    for _ in range(inflight):
        client.request("GET", url, callback=done)
    uv.Timer(loop).start(started, warmup)
    loop.run()


def run_aiohttp(url: str, conns: int, inflight: int, control: socket.socket,
                warmup: float, duration: float) -> None:
    import asyncio

    import aiohttp
    import uvloop

    async def main() -> None:
        state = {"count": 0, "stop": False, "errors": 0}
        connector = aiohttp.TCPConnector(limit=conns, limit_per_host=conns)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def worker() -> None:
                while not state["stop"]:
                    try:
                        async with session.get(url) as response:
                            await response.read()
                            if response.status != 200:
                                state["errors"] += 1
                    except aiohttp.ClientError:
                        state["errors"] += 1
                    state["count"] += 1

            tasks = [asyncio.create_task(worker()) for _ in range(inflight)]
            await asyncio.sleep(warmup)
            state["count"] = 0
            t0 = time.monotonic()
            control.sendall(b"start\n")
            await asyncio.sleep(duration)
            elapsed = time.monotonic() - t0
            state["stop"] = True
            control.sendall(b"end %d %.6f %d\n" % (state["count"], elapsed, state["errors"]))
            await asyncio.gather(*tasks)

    uvloop.run(main())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=("sourcey", "aiohttp"), required=True)
    p.add_argument("--port", type=int, required=True, help="the control port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--server", required=True, help="the HTTP server binary")
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--inflight", type=int, default=16)
    args = p.parse_args()
    server, port = start_server(args.server, args.host)
    try:
        control, warmup, duration = wait_trigger(args.host, args.port)
        url = f"http://{args.host}:{port}/"
        run = run_sourcey if args.impl == "sourcey" else run_aiohttp
        run(url, args.conns, args.inflight, control, warmup, duration)
        control.close()
    finally:
        server.terminate()
        server.wait(5)


if __name__ == "__main__":
    main()

"""The HTTP client workload: sourcey.http.Client against aiohttp's client.

``http-client``: each client keeps ``inflight`` GETs in flight on at most ``conns``
keep-alive connections (a new request as each response arrives, the rest waiting in the
client's pool) to a local "Hello, world!" server, and counts the responses per second.
The server is the plain C libuv one (benchmarks/c/uv_http_server.c): the fastest here,
so the client sets the pace.

The roles are turned around: the runner's "server" is the client under test
(clients/http_client.py, which starts the C server itself on the other CPU), so its
CPU-per-request column is the client's; the "load generator" (clients/trigger.py) only
starts the measured window and reads the count.
"""

from __future__ import annotations

import os

from harness import BENCH_DIR, Load, Server, Workload, python_module

CLIENTS_DIR = os.path.join(BENCH_DIR, "clients")


def parse_trigger(stdout: str) -> dict:
    """trigger.py's "requests N / seconds S / rate R / errors E" -> the result dict."""
    values = dict(line.split(None, 1) for line in stdout.splitlines() if " " in line)
    try:
        return {"rate": float(values["rate"]), "messages": int(values["requests"]),
                "seconds": float(values["seconds"]), "errors": int(values["errors"])}
    except KeyError as exc:
        raise ValueError(f"no {exc} line in the trigger's output") from None


def _client(impl: str, requires=None) -> Server:
    return Server([
        "{python}", os.path.join(CLIENTS_DIR, "http_client.py"), "--impl", impl,
        "--port", "{port}", "--host", "{host}", "--server", "{bin}/uv_http_server",
        "--conns", "{conns}", "--inflight", "{inflight}"], requires=requires)


WORKLOADS = [
    Workload(
        name="http-client",
        description="HTTP/1.1 client GET 'Hello, world!' from the C libuv server, "
                    "{inflight} requests in flight on {conns} keep-alive connections",
        proto="tcp",
        servers={
            "sourcey": _client("sourcey"),
            "aiohttp": _client("aiohttp", requires=lambda: python_module("aiohttp")()
                               or python_module("uvloop")()),
        },
        load=Load(["{python}", os.path.join(CLIENTS_DIR, "trigger.py"), "--port", "{port}",
                   "--host", "{host}", "--warmup", "{warmup}", "--duration", "{duration}"],
                  parse=parse_trigger),
        params={"conns": "4", "inflight": "16"},
        metric="req/s",
        unit="req",
        reference="aiohttp",
        baseline="aiohttp",
    ),
]

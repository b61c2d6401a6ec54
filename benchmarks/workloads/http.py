"""HTTP/1.1 workloads: "Hello, world!" under wrk, keep-alive and pipelined.

``http-hello``: wrk with one thread and ``conns`` keep-alive connections, one request in
flight per connection. ``http-hello-pipelined``: the same with ``depth`` requests sent
back to back per connection (wrk/pipeline.lua), answered in order. The rate is requests
per second (wrk's "Requests/sec"); latency percentiles are wrk's ``--latency`` ones (for
pipelined requests wrk times a whole batch of ``depth``).

The load generator is wrk (not ours; ``apt-get install wrk``). wrk has no warmup, so
wrk/run_wrk.py runs it once for the warmup (unmeasured), then execs the measured run,
whose Lua script prints ``#mark start`` / ``#mark end`` around it: the server's CPU time
is sampled over the measured run only, as with our C load generators, and divided by
the number of requests wrk completed in that run.

Servers: ``c-libuv`` (benchmarks/c/uv_http_server.c, the limit: a prebuilt response per
"\\r\\n\\r\\n", batched per read), ``sourcey`` (sourcey.http.Server with a plain handler),
``uvloop+httptools`` (an asyncio Protocol on httptools' parser writing a prebuilt
response), ``aiohttp`` (aiohttp.web on uvloop), ``node`` (http.createServer).
"""

from __future__ import annotations

import os
import re
import shutil

from harness import BENCH_DIR, Load, Server, Unavailable, Workload, executable, python_module

WRK_DIR = os.path.join(BENCH_DIR, "wrk")
UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
_NUM = r"([0-9.]+)"


def _us(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def parse_wrk(stdout: str) -> dict:
    """wrk's summary (with --latency) -> the runner's result dict."""
    result: dict = {}
    m = re.search(r"^\s*Requests/sec:\s*" + _NUM, stdout, re.MULTILINE)
    if m is None:
        raise ValueError("no 'Requests/sec' line in wrk's output")
    result["rate"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in " + _NUM + r"(us|ms|s|m|h)", stdout, re.MULTILINE)
    if m is None:
        raise ValueError("no 'N requests in T' line in wrk's output")
    result["messages"] = int(m.group(1))
    result["seconds"] = _us(m.group(2), m.group(3)) / 1e6
    pcts = {}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+{_NUM}(us|ms|s|m|h)\s*$", stdout, re.MULTILINE)
        if m is not None:
            pcts[f"p{pct}_us"] = _us(m.group(1), m.group(2))
    # wrk 4.1's latency distribution is broken under pipelining (it prints 0 for the upper
    # percentiles): keep the percentiles only when they are positive and non-decreasing.
    values = list(pcts.values())
    if values and all(v > 0 for v in values) and values == sorted(values):
        result.update(pcts)
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                  stdout)
    if m is not None:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    if m is not None:
        errors += int(m.group(1))
    result["errors"] = errors
    return result


def find_wrk(scratch: str) -> dict[str, str]:
    """The workloads' setup: skip them with a reason when wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise Unavailable("'wrk' is not on PATH (Debian/Ubuntu: apt-get install wrk)")
    return {"wrk": wrk, "wrkdir": WRK_DIR}


def http_servers() -> dict[str, Server]:
    py = ["{python}", "{servers}/asyncio_http.py", "--port", "{port}", "--host", "{host}"]
    return {
        "c-libuv": Server(["{bin}/uv_http_server", "{port}", "{host}"]),
        "sourcey": Server(["{python}", "{servers}/sourcey_http.py", "--port", "{port}",
                           "--host", "{host}"]),
        "uvloop+httptools": Server([*py, "--impl", "httptools"],
                                   requires=lambda: python_module("uvloop")()
                                   or python_module("httptools")()),
        "aiohttp": Server([*py, "--impl", "aiohttp"],
                          requires=lambda: python_module("uvloop")()
                          or python_module("aiohttp")()),
        "node": Server(["node", "{servers}/node_http.js", "{port}", "{host}"],
                       requires=executable("node")),
    }


WRK = ["{python}", "{wrkdir}/run_wrk.py", "--warmup", "{warmup}", "--", "{wrk}", "-t1",
       "-c{conns}", "-d{duration}s", "--latency"]


def http_workload(name: str, description: str, load: list[str], params: dict[str, str],
                  quick: bool = False) -> Workload:
    return Workload(
        name=name,
        quick=quick,
        description=description,
        proto="tcp",
        servers=http_servers(),
        load=Load(load, parse=parse_wrk),
        params=params,
        metric="req/s",
        unit="req",
        reference="c-libuv",
        baseline="uvloop+httptools",
        setup=find_wrk,
        cpu_ratio=True,
    )


WORKLOADS = [
    http_workload("http-hello", "HTTP/1.1 GET / 'Hello, world!', wrk -t1, {conns} "
                  "keep-alive connections",
                  [*WRK, "-s", "{wrkdir}/marks.lua", "http://{host}:{port}/"],
                  {"conns": "100"}, quick=True),
    http_workload("http-hello-pipelined", "HTTP/1.1 GET / 'Hello, world!', wrk -t1, {conns} "
                  "keep-alive connections, {depth} requests pipelined per connection",
                  [*WRK, "-s", "{wrkdir}/pipeline.lua", "http://{host}:{port}/", "--",
                   "{depth}"],
                  {"conns": "100", "depth": "16"}),
]

"""WebSocket echo workloads: ``conns`` connections each send one binary message of
``size`` bytes in a masked frame and wait for the whole echo frame before sending the
next (closed loop). No compression. The rate is messages per second.

Servers: ``sourcey`` (sourcey.http.websocket's WebSocketServer), ``websockets`` (the
websockets package on uvloop) and ``aiohttp`` (aiohttp.web's WebSocketResponse on
uvloop). The target (issue 5): sourcey at 2x websockets and 1.5x aiohttp.
"""

from __future__ import annotations

from harness import Load, Server, Workload, python_module


def ws_servers() -> dict[str, Server]:
    py = ["{python}", "{servers}/asyncio_ws_echo.py", "--port", "{port}", "--host", "{host}"]
    return {
        "sourcey": Server(["{python}", "{servers}/sourcey_ws_echo.py", "--port", "{port}",
                           "--host", "{host}"]),
        "websockets": Server([*py, "--impl", "websockets"],
                             requires=lambda: python_module("uvloop")()
                             or python_module("websockets")()),
        "aiohttp": Server([*py, "--impl", "aiohttp"],
                          requires=lambda: python_module("uvloop")()
                          or python_module("aiohttp")()),
    }


WS_LOAD = Load(["{bin}/ws_echo_load", "--host", "{host}", "--port", "{port}",
                "--conns", "{conns}", "--size", "{size}", "--duration", "{duration}",
                "--warmup", "{warmup}"])


def ws_echo(name: str, size: int, quick: bool = False) -> Workload:
    return Workload(
        name=name,
        description="WebSocket echo, {size} B binary messages, {conns} connections, "
                    "closed loop",
        proto="tcp",
        servers=ws_servers(),
        load=WS_LOAD,
        params={"size": str(size), "conns": "50"},
        metric="msg/s",
        quick=quick,
        reference="websockets",     # the bars: x websockets >= 2, x aiohttp >= 1.5
        baseline="aiohttp",
        cpu_ratio=True,
    )


WORKLOADS = [
    ws_echo("ws-echo-64", 64),
    ws_echo("ws-echo-16k", 16 * 1024),
]

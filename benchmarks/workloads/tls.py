"""TLS echo throughput: what a TLS layer costs on top of TCP, per byte.

``conns`` connections each send a ``size``-byte message over TLS 1.3 and wait for all of
it to come back before sending the next (closed loop, TCP_NODELAY; the handshakes are
done before the warmup). The rate is payload bytes echoed per second, one direction.
Every server gets the same cipher suite (``ciphersuites``, pinned by the client), so
the difference between rows is the implementation, not the cipher.

Servers: ``sourcey-net`` (sourcey.net's SSLServer / SSLSocket: Recv slot -> send),
``uvloop`` and ``asyncio`` (an ``asyncio.Protocol`` on ``create_server(ssl=context)``),
``node`` (``tls.createServer``). There is no plain C row: the load generator is the only
C here. The certificate is a throwaway self-signed P-256 one, made at the start of the
run in the run's scratch directory (gone afterwards unless --keep-logs); the client does
not verify it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from harness import (
    Load,
    Server,
    Unavailable,
    Workload,
    executable,
    parse_json_line,
    python_module,
)


def make_certificate(scratch: str) -> dict[str, str]:
    """A self-signed certificate and key for 127.0.0.1 in ``scratch``, made with the
    openssl command; returns the template fields ``cert`` and ``key``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Unavailable("the 'openssl' command is not on PATH (needed for a test certificate)")
    cert = os.path.join(scratch, "cert.pem")
    key = os.path.join(scratch, "key.pem")
    cmd = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
           "-days", "2", "-subj", "/CN=localhost",
           "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    old_umask = os.umask(0o077)  # the key is readable by us only, however briefly it lives
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"cannot run openssl: {exc}") from exc
    finally:
        os.umask(old_umask)
    if proc.returncode != 0 or not (os.path.exists(cert) and os.path.exists(key)):
        raise Unavailable(f"openssl could not make a certificate: {proc.stderr.strip()}")
    return {"cert": cert, "key": key}


def parse_tls_load(stdout: str) -> dict:
    """tls_echo_load's JSON line, with the rate in payload bytes per second."""
    result = parse_json_line(stdout)
    result["msg_rate"] = result["rate"]
    result["rate"] = result["bytes_per_s"]
    return result


def tls_servers() -> dict[str, Server]:
    py = ["{python}", "{servers}/asyncio_echo.py", "--proto", "tls", "--port", "{port}",
          "--host", "{host}", "--cert", "{cert}", "--key", "{key}"]
    return {
        "sourcey-net": Server(["{python}", "{servers}/sourcey_net_echo.py", "--proto", "tls",
                               "--port", "{port}", "--host", "{host}", "--cert", "{cert}",
                               "--key", "{key}"]),
        "uvloop": Server([*py, "--loop", "uvloop"], requires=python_module("uvloop")),
        "asyncio": Server([*py, "--loop", "asyncio"]),
        "node": Server(["node", "{servers}/node_echo.js", "tls", "{port}", "{host}", "{cert}",
                        "{key}"], requires=executable("node")),
    }


TLS_LOAD = Load(["{bin}/tls_echo_load", "--host", "{host}", "--port", "{port}",
                 "--conns", "{conns}", "--size", "{size}", "--ciphersuites", "{ciphersuites}",
                 "--duration", "{duration}", "--warmup", "{warmup}"],
                parse=parse_tls_load)


WORKLOADS = [
    Workload(
        name="tls-echo-16k",
        description="TLS 1.3 echo ({ciphersuites}), {size} B messages, {conns} connections, "
                    "closed loop",
        proto="tcp",
        servers=tls_servers(),
        load=TLS_LOAD,
        # 16 KiB: one full TLS record per message each way.
        params={"size": "16384", "conns": "10", "ciphersuites": "TLS_AES_256_GCM_SHA384"},
        metric="B/s",
        unit="msg",
        reference="uvloop",
        baseline="node",
        setup=make_certificate,
    ),
]

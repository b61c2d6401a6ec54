"""Autobahn|Testsuite (the field's conformance suite): its fuzzing client against our echo
server, and its fuzzing server against our client. Cases 1-7, 9, 10, 12 and 13 must end
OK, NON-STRICT or INFORMATIONAL, in behaviour and in closing behaviour.

Autobahn is Python 2 only. Point ``WSTEST`` at its ``wstest`` (or have ``wstest`` on
PATH); otherwise these tests skip. To install it (a Python 2.7, e.g. pyenv's):

    python2.7 -m pip install --target /tmp/ab-tools 'virtualenv<20.22'
    PYTHONPATH=/tmp/ab-tools python2.7 -m virtualenv /tmp/ab
    /tmp/ab/bin/pip install autobahntestsuite
    WSTEST=/tmp/ab/bin/wstest make test PYTEST_ARGS=tests/http/websocket/test_ws_autobahn.py

By default the long groups (9, 12, 13: large and compressed messages) run a sample of
their cases; ``SOURCEY_AUTOBAHN_FULL=1`` runs every case.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from sourcey.http.websocket import Deflate, WebSocketServer, connect

WSTEST = os.environ.get("WSTEST") or shutil.which("wstest")
FULL = os.environ.get("SOURCEY_AUTOBAHN_FULL") == "1"
pytestmark = pytest.mark.skipif(
    WSTEST is None or not os.access(WSTEST, os.X_OK),
    reason="Autobahn|Testsuite is absent: set WSTEST to its wstest (see this file's "
           "docstring for how to install it); the websockets package is the peer instead "
           "(test_ws_interop.py)")

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
PASSING_CLOSE = {"OK", "INFORMATIONAL"}


def sample(group, subgroups, per):
    """A few cases of each subgroup of a long group (all of them with FULL)."""
    if FULL:
        return [f"{group}.*"]
    return [f"{group}.{s}.{i}" for s in range(1, subgroups + 1) for i in per]


GROUPS = {
    "1-5": ["1.*", "2.*", "3.*", "4.*", "5.*"],
    "6": ["6.*"],
    "7": ["7.*"],
    "9": sample(9, 8, (1, 2, 3)),
    "10": ["10.*"],
    "12": sample(12, 5, (1, 4, 8)),
    "13": sample(13, 7, (1, 4, 8)),
}
TIMEOUT = 1800 if FULL else 400


def verdicts(outdir, agent):
    with open(os.path.join(outdir, "index.json")) as f:
        results = json.load(f)[agent]
    assert results, "Autobahn ran no cases"
    return {case: (r["behavior"], r["behaviorClose"]) for case, r in results.items()
            if r["behavior"] not in PASSING or r["behaviorClose"] not in PASSING_CLOSE}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize("group", list(GROUPS))
def test_fuzzingclient_against_our_server(loop, in_thread, tmp_path, group):
    def on_connect(ws):
        ws.Message += lambda w, data, is_text: w.send(data)

    server = WebSocketServer(on_connect, loop=loop, compression=Deflate())
    spec = {"outdir": str(tmp_path / "reports"),
            "servers": [{"agent": "sourcey", "url": f"ws://127.0.0.1:{server.port}"}],
            "cases": GROUPS[group], "exclude-cases": [], "exclude-agent-cases": {}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))

    def run():
        return subprocess.run([WSTEST, "-m", "fuzzingclient", "-s", "spec.json"],
                              cwd=tmp_path, capture_output=True, text=True,
                              timeout=TIMEOUT)

    out = in_thread.run(run, after=lambda: server.close(close_connections=True),
                        timeout=TIMEOUT + 30)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert verdicts(spec["outdir"], "sourcey") == {}


@pytest.mark.timeout(TIMEOUT + 60)
@pytest.mark.parametrize("group", list(GROUPS))
def test_fuzzingserver_against_our_client(loop, runner, tmp_path, group):
    port = free_port()
    spec = {"url": f"ws://127.0.0.1:{port}", "outdir": str(tmp_path / "reports"),
            "cases": GROUPS[group], "exclude-cases": [], "exclude-agent-cases": {}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.Popen([WSTEST, "-m", "fuzzingserver", "-s", "spec.json"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        state = {"count": None, "case": 0, "done": False}
        base = f"ws://127.0.0.1:{port}"

        def open_next():
            state["case"] += 1
            if state["case"] > state["count"]:
                ws = connect(f"{base}/updateReports?agent=sourcey", loop=loop)
                ws.Close += lambda w, c, r: state.update(done=True)
                return
            ws = connect(f"{base}/runCase?case={state['case']}&agent=sourcey", loop=loop,
                         compression=Deflate())
            ws.Message += lambda w, data, is_text: w.open and w.send(data)
            ws.Close += lambda w, c, r: open_next()

        def got_count(w, data, is_text):
            state["count"] = int(data)

        ws = connect(f"{base}/getCaseCount", loop=loop)
        ws.Message += got_count
        ws.Close += lambda w, c, r: open_next()
        runner.until(loop, lambda: state["done"], timeout=TIMEOUT)
        runner.run(loop)
        assert state["count"] and state["case"] == state["count"] + 1
        assert verdicts(spec["outdir"], "sourcey") == {}
    finally:
        proc.terminate()
        proc.wait(10)


def wait_listening(port, proc, timeout=30.0):
    """Poll until wstest accepts connections (it has no readiness signal)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "wstest -m fuzzingserver exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("wstest -m fuzzingserver did not start listening")

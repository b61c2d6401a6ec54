"""benchmarks/run.py end to end: the real runner, C load generators and servers, tiny runs.

Each test runs ``run.py`` as a subprocess (as ``make bench`` does) with one short round,
and reads what it wrote with ``--json``. The subprocess gets the ``sourcey`` this test
process imported (debug build under ``make test``), so its servers run the same build.
No assertion here is about speed: a rate only has to be positive, and the ratio columns
have to be the quotients of the medians.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import sourcey

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "benchmarks", "run.py")
TINY = ["--rounds", "1", "--duration", "0.3", "--warmup", "0.1", "--no-pin"]
# The first run builds libuv's static archive and the C programs (benchmarks/bin/).
RUN_TIMEOUT = 100


def bench_env() -> dict[str, str]:
    """The environment with this process's sourcey first on PYTHONPATH."""
    lib = os.path.dirname(os.path.dirname(os.path.abspath(sourcey.__file__)))
    old = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": lib + (os.pathsep + old if old else "")}


def run_bench(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, RUN, *args], cwd=ROOT, env=bench_env(),
                          capture_output=True, text=True, timeout=timeout)


def run_json(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "result.json"
    proc = run_bench(*TINY, "--json", str(out), *args)
    assert out.exists(), f"no --json written (exit {proc.returncode}):\n{proc.stdout}\n" \
                         f"{proc.stderr}"
    return proc, json.loads(out.read_text())


def run_ok(tmp_path, workloads: str, servers: str, *args: str
           ) -> tuple[subprocess.CompletedProcess, dict]:
    """A run of those workloads and servers that has to succeed."""
    proc, report = run_json(tmp_path, "--workloads", workloads, "--servers", servers, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(report["workloads"]) == workloads.split(",")
    return proc, report


def servers_of(report: dict, workload: str) -> dict[str, dict]:
    return {s["server"]: s for s in report["workloads"][workload]["servers"]}


def check_measured(server: dict) -> dict:
    """One server's summary ran its one trial cleanly; returns that trial."""
    name = server["server"]
    assert server["skipped"] is None, f"{name} skipped: {server['skipped']}"
    assert server["failures"] == [], f"{name} failed: {server['failures']}"
    assert len(server["trials"]) == 1
    trial = server["trials"][0]
    assert server["median_rate"] == trial["rate"] > 0
    assert trial["messages"] > 0
    assert trial["errors"] == 0, f"{name}: the load generator counted errors"
    assert 0 < trial["p50_us"] <= trial["p99_us"]
    # The load generators' #mark lines opened a window in which the server was sampled.
    assert trial["window_s"] > 0
    assert trial["server_cpu_s"] is not None and trial["load_cpu_s"] is not None
    assert server["cpu_us_per_unit"] > 0
    return trial


def check_ratios(proc: subprocess.CompletedProcess, report: dict, workload: str) -> None:
    """c-libuv is the reference: its ratio is 1, sourcey's is the quotient of the medians,
    and the table printed them."""
    servers = servers_of(report, workload)
    assert report["workloads"][workload]["reference"] == "c-libuv"
    ref, ours = servers["c-libuv"], servers["sourcey"]
    assert ref["x_reference"] == 1.0
    assert ours["x_reference"] == pytest.approx(ours["median_rate"] / ref["median_rate"])
    assert ours["x_baseline"] is None  # uvloop did not run
    table = proc.stdout[proc.stdout.rindex(f"\n{workload}: "):]
    rows = {cells[0]: cells for cells in map(str.split, table.splitlines())
            if cells[:1] in (["c-libuv"], ["sourcey"])}
    assert rows["c-libuv"][2] == "1.00"
    assert rows["sourcey"][2] == f"{ours['x_reference']:.2f}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workload", ["tcp-echo-1k", "udp-echo-100"])
def test_echo_c_reference_and_sourcey(tmp_path, workload):
    proc, report = run_ok(tmp_path, workload, "c-libuv,sourcey")
    servers = servers_of(report, workload)
    assert list(servers) == ["c-libuv", "sourcey"]
    for server in servers.values():
        trial = check_measured(server)
        if workload.startswith("udp"):
            assert trial["lost"] == 0 and trial["late"] == 0
            assert trial["inflight"] == 10
        else:
            assert trial["conns"] == 10 and trial["size"] == 1024
    check_ratios(proc, report, workload)


@pytest.mark.timeout(120)
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not on PATH (apt-get install wrk)")
def test_http_hello_under_wrk(tmp_path):
    # wrk runs whole seconds only: run_wrk.py makes the 0.3 s a 1 s run.
    proc, report = run_ok(tmp_path, "http-hello", "c-libuv,sourcey", "--param", "conns=10")
    for server in servers_of(report, "http-hello").values():
        trial = check_measured(server)
        assert trial["seconds"] >= 0.9
    check_ratios(proc, report, "http-hello")


@pytest.mark.timeout(120)
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not on PATH")
def test_websocket_and_tls_echo(tmp_path):
    _, report = run_ok(tmp_path, "ws-echo-64,tls-echo-16k", "sourcey,sourcey-net",
                       "--param", "conns=4")
    ws = servers_of(report, "ws-echo-64")
    assert list(ws) == ["sourcey"]
    assert check_measured(ws["sourcey"])["conns"] == 4
    tls = servers_of(report, "tls-echo-16k")
    assert list(tls) == ["sourcey-net"]
    trial = check_measured(tls["sourcey-net"])
    assert (trial["tls"], trial["cipher"]) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    # The TLS rate is payload bytes per second: messages/s times the message size.
    assert trial["rate"] == pytest.approx(trial["msg_rate"] * 16384, rel=1e-3)
    # No reference server ran: no ratio, rather than a wrong one.
    assert tls["sourcey-net"]["x_reference"] is None
    assert ws["sourcey"]["x_reference"] is None


@pytest.mark.timeout(120)
def test_failing_load_generator_fails_the_run(tmp_path):
    """A load generator that exits with an error makes a failed trial, recorded with its
    message, and a non-zero exit status: a broken generator cannot pass unnoticed."""
    proc, report = run_json(tmp_path, "--workloads", "tcp-echo-1k", "--servers", "c-libuv",
                            "--param", "conns=abc")
    assert proc.returncode == 1
    server = servers_of(report, "tcp-echo-1k")["c-libuv"]
    assert server["trials"] == [] and server["median_rate"] is None
    assert len(server["failures"]) == 1
    assert "--conns must be an integer" in server["failures"][0]
    assert "failed trials (see above): tcp-echo-1k c-libuv" in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--workloads", "no-such-workload"], "unknown workload(s) no-such-workload; known: "),
    (["--workloads", ","], "--workloads ',': no name given"),
    (["--workloads", "tcp-echo-1k", "--servers", "nginx"], "unknown server(s) nginx; known: "),
    (["--workloads", "tcp-echo-1k", "--servers", ""], "--servers '': no name given"),
    (["--workloads", "tcp-echo-1k", "--param", "conns"], "--param 'conns': expected KEY=VALUE"),
    (["--workloads", "tcp-echo-1k", "--param", "=5"], "--param '=5': expected KEY=VALUE"),
    (["--workloads", "tcp-echo-1k", "--param", "depth=2"],
     "--param 'depth=2': no selected workload has a parameter 'depth' (they have: conns, size)"),
    (["--rounds", "0"], "--rounds must be >= 1"),
    (["--duration", "fast"], "argument --duration: invalid float value: 'fast'"),
])
def test_bad_arguments_exit_with_a_message(args, message):
    """Refused before anything is built or started, with one line saying why."""
    proc = run_bench("--no-pin", *args, timeout=30)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "sourcey macro benchmarks" not in proc.stdout  # no run started

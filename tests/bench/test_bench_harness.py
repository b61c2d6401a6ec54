"""The benchmark harness's pure parts: reading load generators' output, the summaries and
the table's ratios, the C build's guards, and the workload registry's templates."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "benchmarks")
# run.py imports harness and workloads as top-level modules from its own directory.
if BENCH_DIR not in sys.path:
    sys.path.append(BENCH_DIR)
harness = importlib.import_module("harness")
http = importlib.import_module("workloads.http")
load_all = importlib.import_module("workloads").load_all


def load_run_wrk():
    spec = importlib.util.spec_from_file_location(
        "run_wrk", os.path.join(BENCH_DIR, "wrk", "run_wrk.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- output

def test_json_line_is_the_last_object_among_marks_and_noise():
    out = ("#mark start\n#mark end\nwarning: something\n"
           '{"rate": 1, "messages": 2}\n{"rate": 5.5, "errors": 0}\n\n')
    assert harness.parse_json_line(out) == {"rate": 5.5, "errors": 0}


@pytest.mark.parametrize("out", ["", "#mark start\n#mark end\n", "rate: 5\n"])
def test_json_line_missing_is_a_value_error(out):
    with pytest.raises(ValueError, match="no JSON result line"):
        harness.parse_json_line(out)


WRK_OUT = """\
Running 1s test @ http://127.0.0.1:23456/
  1 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    58.48us   64.76us   2.14ms   99.43%
    Req/Sec   236.80k     2.42k  239.68k    60.00%
  Latency Distribution
     50%   56.00us
     75%   61.00us
     90%   65.00us
     99%    1.50ms
  234668 requests in 1.00s, 17.46MB read
{socket}Requests/sec: 234511.58
Transfer/sec:     17.44MB
"""


def test_wrk_summary():
    result = http.parse_wrk(WRK_OUT.format(socket=""))
    assert result == {"rate": 234511.58, "messages": 234668, "seconds": 1.0,
                      "p50_us": 56.0, "p75_us": 61.0, "p90_us": 65.0, "p99_us": 1500.0,
                      "errors": 0}


def test_wrk_socket_errors_and_bad_statuses_are_errors():
    socket = ("  Socket errors: connect 1, read 2, write 3, timeout 4\n"
              "  Non-2xx or 3xx responses: 10\n")
    assert http.parse_wrk(WRK_OUT.format(socket=socket))["errors"] == 20


def test_wrk_broken_pipelined_percentiles_are_dropped():
    # wrk 4.1 under pipelining prints 0 for the upper percentiles.
    out = WRK_OUT.format(socket="").replace("1.50ms", "0.00us")
    result = http.parse_wrk(out)
    assert "p50_us" not in result and "p99_us" not in result
    assert result["rate"] == 234511.58


def test_wrk_without_a_summary_is_a_value_error():
    with pytest.raises(ValueError, match="Requests/sec"):
        http.parse_wrk("Usage: wrk <options> <url>\n")


@pytest.mark.parametrize(("arg", "expected"), [
    ("-d0.3s", "-d1s"), ("-d2.6s", "-d3s"), ("-d5s", "-d5s"), ("-d5", "-d5s"),
    ("-c100", "-c100"), ("--latency", "--latency"), ("http://h/-d1s", "http://h/-d1s"),
])
def test_run_wrk_gives_wrk_whole_seconds(arg, expected):
    assert load_run_wrk().whole_seconds(arg) == expected


# --------------------------------------------------------------------------- summaries

def trial(server, rate, messages=None, cpu=None, **extra):
    result = {"rate": rate, **({"messages": messages} if messages is not None else {}), **extra}
    return harness.Trial(server, 0, result, 1.0, cpu, 0.5, 0.0)


def summary(server, *trials):
    return harness.Summary(server, list(trials), [])


def test_summary_median_rate_and_cpu_per_message():
    s = summary("a", trial("a", 300.0, 300, 0.003), trial("a", 100.0, 100, 0.002),
                trial("a", 200.0, 200, 0.006))
    assert s.rate == 200.0
    assert s.cpu_per_unit_us() == pytest.approx(20.0)  # the median of 10, 20, 30 us
    even = summary("b", trial("b", 100.0), trial("b", 300.0))
    assert even.rate == 200.0
    assert even.cpu_per_unit_us() is None  # no CPU sample, no figure
    # A tool that reports a rate and a duration, not a count (wrk's rate and seconds).
    timed = summary("c", trial("c", 1000.0, cpu=0.5, seconds=2.0))
    assert timed.cpu_per_unit_us() == pytest.approx(250.0)


def test_ratio_to_the_reference():
    ref = summary("c-libuv", trial("c-libuv", 400.0), trial("c-libuv", 200.0))
    ours = summary("sourcey", trial("sourcey", 150.0), trial("sourcey", 240.0))
    assert ref.ratio_to(ref) == 1.0
    assert ours.ratio_to(ref) == pytest.approx(195.0 / 300.0)
    assert ours.ratio_to(None) is None
    assert ours.ratio_to(summary("node")) is None  # the other ran no trial


def workload(**kw):
    return harness.Workload(name="w", description="d", proto="tcp", servers={},
                            load=harness.Load([]), **kw)


def test_table_ratio_columns_skips_and_errors():
    ref = summary("c-libuv", trial("c-libuv", 400.0, 400, 0.004))
    ours = summary("sourcey", trial("sourcey", 100.0, 100, 0.002, errors=3))
    gone = harness.Summary("node", [], [], "'node' is not on PATH")
    broke = harness.Summary("uvloop", [], ["load generator exited with code 1: boom"])
    table = harness.format_table(workload(cpu_ratio=True), [ref, ours, gone, broke])
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["server", "msg/s", "(median)", "x", "c-libuv"]
    assert lines[2].split()[:3] == ["c-libuv", "400", "1.00"]
    # sourcey: 0.25x the rate, 20 us/msg against the reference's 10: 2.00x its CPU.
    cells = lines[3].split()
    assert cells[:4] == ["sourcey", "100", "0.25", "-"]
    assert cells[6:8] == ["20.00", "2.00"]
    assert lines[4].split() == ["node", "skipped:", "'node'", "is", "not", "on", "PATH"]
    assert lines[5] == "uvloop   failed: load generator exited with code 1: boom"
    assert lines[6].endswith("summed over rounds: sourcey 3")


# --------------------------------------------------------------------------- building

def test_link_flags():
    src = "/* bench-link: -lssl -lcrypto */\nint x;\n/* bench-link: -pthread -L/opt/lib */\n"
    assert harness.link_flags(src) == ["-lssl", "-lcrypto", "-pthread", "-L/opt/lib"]
    assert harness.link_flags("int main(void) { return 0; }") == []


@pytest.mark.parametrize("flag", ["-Wl,-rpath,/tmp", "$(rm)", "-L", "lssl", "-o/tmp/x"])
def test_link_flags_refuse_anything_else(flag):
    with pytest.raises(harness.Unavailable, match="bench-link"):
        harness.link_flags(f"/* bench-link: -lm {flag} */")


@pytest.mark.parametrize("name", ["../hist", "a b", "x;rm", ""])
def test_builder_refuses_a_bad_program_name(name):
    builder = harness.Builder(cc="/nonexistent-cc", log=lambda msg: None)
    with pytest.raises(harness.Unavailable, match="bad program name"):
        builder.build(name)


def test_builder_reports_a_missing_source_once():
    builder = harness.Builder(cc="/nonexistent-cc", log=lambda msg: None)
    with pytest.raises(harness.Unavailable, match="no source for no_such_program"):
        builder.build("no_such_program")
    assert "no_such_program" in builder.failed
    with pytest.raises(harness.Unavailable, match="no source for no_such_program"):
        builder.build("no_such_program")


# --------------------------------------------------------------------------- registry

def test_every_workload_renders_with_its_own_fields(tmp_path):
    """Every template field a workload's servers and load use is one the runner provides
    (a typo would only show in a long run), and every {bin}/NAME has a C source."""
    registry = load_all()
    assert {"tcp-echo-1k", "udp-echo-100", "http-hello"} <= set(registry)
    ctx = harness.Context()
    for w in registry.values():
        fields = ctx.fields(port=1, duration="1", warmup="0", **w.params)
        if w.setup is not None:
            scratch = tmp_path / w.name
            scratch.mkdir()
            try:
                fields.update(w.setup(str(scratch)))
            except harness.Unavailable:
                continue  # a tool its setup needs is missing here
        assert w.title(w.params)
        # A renamed server would leave the ratio columns empty without an error.
        assert w.reference in w.servers and w.baseline in w.servers, w.name
        for argv in [w.load.argv, *(s.argv for s in w.servers.values())]:
            rendered = harness.render(argv, fields)
            assert not any("{" in part for part in rendered), (w.name, rendered)
            for prog in harness.programs_in(argv):
                assert os.path.exists(os.path.join(harness.C_DIR, prog + ".c")), prog


@pytest.mark.parametrize("source", sorted(n for n in os.listdir(harness.C_DIR) if n.endswith(".c")))
def test_c_programs_compile_without_warnings(source):
    """The runner builds with -Wall -Wextra and only prints warnings: fail on them here."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler {cc!r}")
    cmd = [cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-c", "-o", os.devnull,
           "-I" + os.path.join(harness.LIBUV_DIR, "include"), os.path.join(harness.C_DIR, source)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and "openssl/" in proc.stderr and "No such file" in proc.stderr:
        pytest.skip("OpenSSL's headers are not installed (libssl-dev)")
    assert proc.returncode == 0, proc.stderr

"""The generic machinery of the macro benchmarks: no workload is named here.

A ``Workload`` (defined in ``benchmarks/workloads/``) says which servers to compare, how to
start each one, which load generator to run against them and how to read its output. This
module builds the C programs, places processes on CPUs, starts and stops servers, samples
their CPU time over the measured window, and formats the results.

Argument templates are lists of strings formatted with ``str.format``; the fields are
``{python}`` (the interpreter running the benchmarks), ``{bin}`` (``benchmarks/bin``),
``{servers}`` (``benchmarks/servers``), ``{root}`` (the checkout), ``{host}``, ``{port}``,
``{duration}``, ``{warmup}``, every entry of the workload's ``params`` and the fields its
``setup`` returns. A template element ``{bin}/NAME`` is built from ``benchmarks/c/NAME.c``
before anything runs: linked with libuv when that file includes ``<uv.h>``, and with the
libraries a ``/* bench-link: -lfoo -lbar */`` line in it names.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
BIN_DIR = os.path.join(BENCH_DIR, "bin")
C_DIR = os.path.join(BENCH_DIR, "c")
SERVERS_DIR = os.path.join(BENCH_DIR, "servers")
LIBUV_DIR = os.path.join(ROOT, "vendor", "libuv")
HOST = "127.0.0.1"  # all benchmark traffic stays on the loopback interface

START_TIMEOUT = 15.0  # seconds for a server to open its port
STOP_TIMEOUT = 3.0  # seconds between SIGTERM and SIGKILL
LOAD_GRACE = 30.0  # seconds a load generator may overrun warmup + duration
MARK_START = "#mark start"
MARK_END = "#mark end"


class Unavailable(Exception):
    """A server or load generator cannot run here (missing tool, failed build, ...)."""


class StartError(Exception):
    """A server exited or never opened its port."""


class TrialError(Exception):
    """One measurement failed (load generator error, server died, unreadable output)."""


# --------------------------------------------------------------------------- definitions


def python_module(name: str) -> Callable[[], str | None]:
    """A ``Server.requires`` check: the benchmark interpreter can import ``name``."""

    def check() -> str | None:
        if importlib.util.find_spec(name) is None:
            return f"python module {name!r} is not installed in {sys.executable}"
        return None

    return check


def executable(name: str) -> Callable[[], str | None]:
    """A ``Server.requires`` check: ``name`` is on PATH."""

    def check() -> str | None:
        return None if shutil.which(name) else f"{name!r} is not on PATH"

    return check


@dataclass(frozen=True)
class Server:
    """One implementation of a workload's server side."""

    argv: Sequence[str]
    requires: Callable[[], str | None] | None = None
    env: dict[str, str] = field(default_factory=dict)

    def unavailable(self) -> str | None:
        return self.requires() if self.requires else None


def parse_json_line(stdout: str) -> dict:
    """The default load-output parser: the last line of stdout that is a JSON object."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON result line in the load generator's output")


@dataclass(frozen=True)
class Load:
    """The load generator. ``parse`` turns its stdout into a dict with at least ``rate``
    and ideally ``messages``, ``p50_us``, ``p99_us`` and ``errors``. A generator that prints
    ``#mark start`` / ``#mark end`` lines lets the server's CPU time be sampled exactly
    over the measured window; otherwise the whole run of the generator is used."""

    argv: Sequence[str]
    parse: Callable[[str], dict] = parse_json_line


@dataclass(frozen=True)
class Workload:
    """``setup``, if given, runs once per run before the first trial, with a fresh
    directory of its own (removed after the run unless --keep-logs): it makes what the
    servers need (a throwaway TLS certificate, say) and returns extra template fields
    such as ``{"cert": path}``. It raises ``Unavailable`` if it cannot."""

    name: str
    description: str  # formatted with params, e.g. "TCP echo, {size} B messages"
    proto: str  # "tcp" or "udp": how a free port is picked and how readiness is seen
    servers: dict[str, Server]  # display order
    load: Load
    params: dict[str, str] = field(default_factory=dict)
    metric: str = "msg/s"  # the unit of the load generator's "rate"
    unit: str = "msg"  # what one rate unit is, for the CPU-per-unit column
    reference: str = "c-libuv"  # the limit
    baseline: str = "uvloop"  # the second ratio column
    quick: bool = False  # part of ``run.py --quick``
    totals: tuple[str, ...] = ()  # result keys summed over rounds as extra columns
    cpu_ratio: bool = False  # a column: srv CPU per unit divided by the reference's
    setup: Callable[[str], dict[str, str]] | None = None  # (scratch dir) -> extra fields

    def title(self, params: dict[str, str]) -> str:
        return self.description.format(**params)


# --------------------------------------------------------------------------- context


@dataclass
class Context:
    python: str = sys.executable
    host: str = HOST

    def fields(self, **extra: object) -> dict[str, object]:
        return {"python": self.python, "bin": BIN_DIR, "servers": SERVERS_DIR, "root": ROOT,
                "host": self.host, **extra}


def render(template: Iterable[str], fields: dict[str, object]) -> list[str]:
    return [str(part).format(**fields) for part in template]


def programs_in(template: Iterable[str]) -> list[str]:
    """The C programs a template runs: every ``{bin}/NAME`` element."""
    return [part[len("{bin}/"):] for part in template if part.startswith("{bin}/")]


# --------------------------------------------------------------------------- building

def _libuv_build_module():
    path = os.path.join(LIBUV_DIR, "build.py")
    spec = importlib.util.spec_from_file_location("_libuv_build", path)
    if not os.path.exists(path) or spec is None or spec.loader is None:
        raise Unavailable(f"{path} is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _newer(target: str, deps: Iterable[str]) -> bool:
    """True when target is missing or older than any dep."""
    if not os.path.exists(target):
        return True
    mtime = os.path.getmtime(target)
    return any(os.path.getmtime(d) > mtime for d in deps)


# A line in a C program naming the system libraries it links, e.g.
# /* bench-link: -lssl -lcrypto */  (only -lNAME, -L/dir and -pthread are accepted)
_LINK_LINE = re.compile(r"^\s*/\*\s*bench-link:(.*?)\*/", re.MULTILINE)
_LINK_FLAG = re.compile(r"-l[A-Za-z0-9_.+-]+|-L/\S+|-pthread")


def link_flags(source: str) -> list[str]:
    """The flags of every ``/* bench-link: ... */`` line in a C source."""
    flags: list[str] = []
    for match in _LINK_LINE.finditer(source):
        for flag in match.group(1).split():
            if not _LINK_FLAG.fullmatch(flag):
                raise Unavailable(f"bench-link: {flag!r} is not -lNAME, -L/dir or -pthread")
            flags.append(flag)
    return flags


class Builder:
    """Builds ``benchmarks/c/NAME.c`` into ``benchmarks/bin/NAME`` on demand, with -O2."""

    def __init__(self, cc: str | None = None, log: Callable[[str], None] = print) -> None:
        self.cc = cc or os.environ.get("CC", "cc")
        self.log = log
        self._libuv: list[str] | None = None  # the archive, then -l flags
        self._built: dict[str, str] = {}
        self.failed: dict[str, str] = {}

    def libuv(self) -> list[str]:
        """The link arguments for libuv: the static archive, then its system libraries."""
        if self._libuv is None:
            mod = _libuv_build_module()
            try:
                archive = mod.build_static(os.path.join(BIN_DIR, "libuv"))
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                raise Unavailable(f"cannot build libuv: {exc}") from exc
            self._libuv = [archive, *["-l" + lib for lib in mod.LIBS]]
        return self._libuv

    def build(self, name: str) -> str:
        """Return the path of the built program; raises Unavailable if it cannot be built."""
        if name in self._built:
            return self._built[name]
        if name in self.failed:
            raise Unavailable(self.failed[name])
        try:
            path = self._build(name)
        except Unavailable as exc:
            self.failed[name] = str(exc)
            raise
        self._built[name] = path
        return path

    def _build(self, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise Unavailable(f"bad program name {name!r}")
        src = os.path.join(C_DIR, name + ".c")
        if not os.path.exists(src):
            raise Unavailable(f"no source for {name}: {src}")
        with open(src, encoding="utf-8") as f:
            text = f.read()
        uses_libuv = re.search(r"#\s*include\s*<uv\.h>", text) is not None
        system_libs = link_flags(text)
        headers = [os.path.join(C_DIR, h) for h in os.listdir(C_DIR) if h.endswith(".h")]
        link = [*(self.libuv() if uses_libuv else []), *system_libs]
        deps = [src, *headers, *[p for p in link if not p.startswith("-")]]
        out = os.path.join(BIN_DIR, name)
        if not _newer(out, deps):
            return out
        os.makedirs(BIN_DIR, exist_ok=True)
        cmd = [self.cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-o", out, src]
        if uses_libuv:
            cmd[1:1] = ["-I" + os.path.join(LIBUV_DIR, "include")]
        cmd += link
        self.log(f"building {os.path.relpath(out, ROOT)}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as exc:
            raise Unavailable(f"cannot run the C compiler {self.cc!r}: {exc}") from exc
        if proc.returncode != 0:
            hint = (f"\n({name} links {' '.join(system_libs)}: are those libraries' "
                    "development packages installed?)") if system_libs else ""
            raise Unavailable(f"cannot build {name}:\n{proc.stderr.strip()}{hint}")
        if proc.stderr.strip():
            self.log(proc.stderr.rstrip())
        return out


# --------------------------------------------------------------------------- machine


def libuv_version() -> str:
    try:
        with open(os.path.join(LIBUV_DIR, "include", "uv", "version.h"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return "unknown"
    parts = [re.search(rf"#define UV_VERSION_{k}\s+(\d+)", text) for k in
             ("MAJOR", "MINOR", "PATCH")]
    return ".".join(m.group(1) for m in parts) if all(parts) else "unknown"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def tool_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def machine_info(python: str) -> dict[str, object]:
    info: dict[str, object] = {
        "nproc": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "python": tool_version([python, "-c", "import sys; print(sys.version.split()[0])"]),
        "python_path": python,
        "libuv": libuv_version(),
        "node": tool_version(["node", "--version"]) if shutil.which("node") else None,
        "uvloop": tool_version([python, "-c", "import uvloop; print(uvloop.__version__)"]),
    }
    return info


@dataclass(frozen=True)
class Placement:
    """Which CPU the server and the load generator run on (None: unpinned)."""

    server_cpu: int | None
    load_cpu: int | None
    note: str

    @classmethod
    def detect(cls) -> Placement:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(None, None, f"unpinned: only {len(cpus)} usable CPU, server and "
                                   "load generator share it (ratios are still comparable)")
        return cls(cpus[1], cpus[0], f"server pinned to CPU {cpus[1]}, load generator to "
                                     f"CPU {cpus[0]}")

    def wrap(self, argv: list[str], cpu: int | None) -> list[str]:
        if cpu is None:
            return argv
        taskset = shutil.which("taskset")
        if taskset:
            return [taskset, "-c", str(cpu), *argv]
        return argv  # no taskset: preexec() pins the child instead

    @staticmethod
    def preexec(cpu: int | None) -> Callable[[], None] | None:
        if cpu is None or shutil.which("taskset"):
            return None
        return lambda: os.sched_setaffinity(0, {cpu})


# --------------------------------------------------------------------------- processes

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) from /proc/PID/stat, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # fields from #3 (state) on
    try:
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # #14 utime, #15 stime
    except (IndexError, ValueError):
        return None


class Processes:
    """Every process the benchmark starts, so each is stopped whatever happens."""

    def __init__(self) -> None:
        self._live: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def spawn(self, argv: list[str], **kwargs) -> subprocess.Popen:
        # A session of its own: a Ctrl-C in the terminal reaches the runner only, and the
        # runner stops the process (and anything it forked) by its process-group id.
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)
        with self._lock:
            self._live.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL to the process group after ``timeout``; returns the code."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group is ours: its id is proc.pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_TIMEOUT)
        with self._lock:
            if proc in self._live:
                self._live.remove(proc)
        return proc.returncode

    def stop_all(self) -> None:
        with self._lock:
            live = list(self._live)
        for proc in live:
            self.stop(proc, timeout=1.0)


def _proc_net_ports(proto: str) -> set[int]:
    """Local ports with a listening TCP socket / a bound UDP socket, from /proc/net."""
    ports: set[int] = set()
    for name in (proto, proto + "6"):
        try:
            with open(f"/proc/net/{name}", encoding="ascii") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 4:
                continue
            if proto == "tcp" and parts[3] != "0A":  # TCP_LISTEN
                continue
            ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def pick_port(proto: str, host: str = HOST) -> int:
    """A port free for both TCP and UDP on host, below the ephemeral range."""
    busy = _proc_net_ports("tcp") | _proc_net_ports("udp")
    for _ in range(200):
        port = random.randrange(20000, 30000)
        if port in busy:
            continue
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise StartError("no free port found")


def wait_for_port(proto: str, port: int, proc: subprocess.Popen, timeout: float,
                  log_path: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if proc.poll() is not None:
            raise StartError(f"exited with code {proc.returncode}: {tail(log_path)}")
        if port in _proc_net_ports(proto):
            return
        if time.monotonic() > deadline:
            raise StartError(f"port {proto}/{port} not open after {timeout:.0f} s: "
                             f"{tail(log_path)}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def tail(path: str, lines: int = 6) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read().strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"


# --------------------------------------------------------------------------- one trial


@dataclass
class Trial:
    server: str
    round: int
    result: dict
    window_s: float
    server_cpu_s: float | None
    load_cpu_s: float | None
    other_cpu_s: float | None = None  # everything else on the machine during the window

    def share(self, seconds: float | None) -> float | None:
        if seconds is None or self.window_s <= 0:
            return None
        return seconds / self.window_s

    def as_dict(self) -> dict:
        return {"server": self.server, "round": self.round, "window_s": self.window_s,
                "server_cpu_s": self.server_cpu_s, "load_cpu_s": self.load_cpu_s,
                "other_cpu_s": self.other_cpu_s, **self.result}


def busy_cpu_seconds() -> float | None:
    """CPU time used by everything on the machine (all CPUs, steal included), /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    values = [int(v) for v in fields[1:9]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK


def wait_until_quiet(max_wait: float, threshold: float, interval: float = 0.5) -> float | None:
    """Wait (at most max_wait seconds) until the machine's CPU use over one interval is
    below threshold (a share of one CPU); returns the last share measured."""
    deadline = time.monotonic() + max_wait
    share = None
    while True:
        before, t0 = busy_cpu_seconds(), time.monotonic()
        time.sleep(interval)
        after, t1 = busy_cpu_seconds(), time.monotonic()
        if before is None or after is None:
            return None
        share = (after - before) / (t1 - t0)
        if share <= threshold or time.monotonic() >= deadline:
            return share


def _sample(*pids: int) -> tuple[float, list[float | None]]:
    return time.monotonic(), [cpu_seconds(p) for p in pids] + [busy_cpu_seconds()]


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else max(0.0, b - a)


def run_trial(workload: Workload, server_name: str, params: dict[str, str], ctx: Context,
              placement: Placement, procs: Processes, round_no: int, duration: float,
              warmup: float, logdir: str) -> Trial:
    """Start one server, run the load against it, stop it. Raises StartError or TrialError."""
    server = workload.servers[server_name]
    port = pick_port(workload.proto, ctx.host)
    fields = ctx.fields(port=port, duration=f"{duration:g}", warmup=f"{warmup:g}", **params)
    srv_log = os.path.join(logdir, f"{workload.name}-{server_name}-{round_no}.server.log")
    load_log = os.path.join(logdir, f"{workload.name}-{server_name}-{round_no}.load.log")
    env = {**os.environ, **server.env} if server.env else None
    argv = render(server.argv, fields)
    try:
        with open(srv_log, "wb") as out:
            srv = procs.spawn(placement.wrap(argv, placement.server_cpu),
                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                              env=env, preexec_fn=placement.preexec(placement.server_cpu))
    except OSError as exc:
        raise StartError(f"cannot run {argv[0]}: {exc}") from exc
    load = None
    try:
        wait_for_port(workload.proto, port, srv, START_TIMEOUT, srv_log)
        load_argv = render(workload.load.argv, fields)
        try:
            with open(load_log, "wb") as err:
                load = procs.spawn(placement.wrap(load_argv, placement.load_cpu),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=err, text=True,
                                   preexec_fn=placement.preexec(placement.load_cpu))
        except OSError as exc:
            raise TrialError(f"cannot run {load_argv[0]}: {exc}") from exc
        watchdog = threading.Timer(warmup + duration + LOAD_GRACE, load.kill)
        watchdog.daemon = True
        watchdog.start()
        start = _sample(srv.pid, load.pid)
        end = None
        lines = []
        try:
            assert load.stdout is not None
            for line in load.stdout:
                if line.startswith(MARK_START):
                    start = _sample(srv.pid, load.pid)
                elif line.startswith(MARK_END):
                    end = _sample(srv.pid, load.pid)
                else:
                    lines.append(line)
            code = load.wait()
        finally:
            watchdog.cancel()
        if end is None:  # no marks: the whole run of the generator is the window
            end = (time.monotonic(), [cpu_seconds(srv.pid), None, busy_cpu_seconds()])
        if code != 0:
            # Its message is on stderr (the log), or for some tools (wrk's usage) on stdout.
            said = tail(load_log)
            if said == "(no output)" and lines:
                said = " | ".join(line.strip() for line in lines[-6:])
            raise TrialError(f"load generator exited with code {code}: {said}")
        if srv.poll() is not None:
            raise TrialError(f"server exited during the run (code {srv.returncode}): "
                             f"{tail(srv_log)}")
        try:
            result = workload.load.parse("".join(lines))
            float(result["rate"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TrialError(f"cannot read the load generator's result: {exc}") from exc
        srv_cpu = _diff(start[1][0], end[1][0])
        load_cpu = _diff(start[1][1], end[1][1])
        busy = _diff(start[1][2], end[1][2])
        other = None
        if busy is not None and srv_cpu is not None and load_cpu is not None:
            other = max(0.0, busy - srv_cpu - load_cpu)
        return Trial(server_name, round_no, result, end[0] - start[0], srv_cpu, load_cpu,
                     other)
    finally:
        if load is not None:
            procs.stop(load, timeout=1.0)
        procs.stop(srv)


# --------------------------------------------------------------------------- summaries


def _median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


@dataclass
class Summary:
    server: str
    trials: list[Trial]
    failures: list[str]
    skipped: str | None = None

    @property
    def rates(self) -> list[float]:
        return [float(t.result["rate"]) for t in self.trials]

    @property
    def rate(self) -> float | None:
        return _median(self.rates)

    def median(self, key: str) -> float | None:
        return _median(t.result.get(key) for t in self.trials)

    def ratio_to(self, other: Summary | None) -> float | None:
        """This median rate divided by other's (the table's "x NAME" columns)."""
        rate = self.rate
        other_rate = other.rate if other is not None else None
        return rate / other_rate if rate and other_rate else None

    def total(self, key: str) -> float | None:
        vals = [t.result.get(key) for t in self.trials if t.result.get(key) is not None]
        return sum(vals) if vals else None

    def cpu_per_unit_us(self) -> float | None:
        per = []
        for t in self.trials:
            n = t.result.get("messages")
            if n is None and t.result.get("seconds"):  # a tool that reports a rate only
                n = float(t.result["rate"]) * float(t.result["seconds"])
            if t.server_cpu_s is not None and n:
                per.append(t.server_cpu_s / n * 1e6)
        return _median(per)

    def cpu_share(self, which: str) -> float | None:
        """Median share of one CPU used by "server", "load" or "other" (the rest)."""
        attr = {"server": "server_cpu_s", "load": "load_cpu_s", "other": "other_cpu_s"}[which]
        return _median(t.share(getattr(t, attr)) for t in self.trials)

    def as_dict(self) -> dict:
        return {"server": self.server, "skipped": self.skipped, "failures": self.failures,
                "median_rate": self.rate, "cpu_us_per_unit": self.cpu_per_unit_us(),
                "server_cpu_share": self.cpu_share("server"),
                "load_cpu_share": self.cpu_share("load"),
                "other_cpu_share": self.cpu_share("other"),
                "trials": [t.as_dict() for t in self.trials]}


def fmt_rate(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}"


def fmt_num(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


def fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def format_table(workload: Workload, summaries: list[Summary]) -> str:
    by_name = {s.server: s for s in summaries}
    ref = by_name.get(workload.reference)
    base = by_name.get(workload.baseline)
    ref_cpu = ref.cpu_per_unit_us() if ref and ref.trials else None
    cpu_cols = [f"srv us x {workload.reference}"] if workload.cpu_ratio else []
    headers = ["server", f"{workload.metric} (median)", f"x {workload.reference}",
               f"x {workload.baseline}", "p50 us", "p99 us", f"srv us/{workload.unit}",
               *cpu_cols, "srv CPU", "load CPU", "other CPU", "spread min-max", "rounds",
               *[f"{k} (sum)" for k in workload.totals]]
    rows = []
    for s in summaries:
        if s.skipped or not s.trials:
            why = s.skipped or ("; ".join(dict.fromkeys(s.failures)) or "no result")
            rows.append([s.server, "skipped" if s.skipped else "failed", why])
            continue
        rate = s.rate
        cpu = s.cpu_per_unit_us()
        lo, hi = min(s.rates), max(s.rates)
        spread = f"{fmt_rate(lo)}-{fmt_rate(hi)} ({(hi - lo) / rate * 100:.0f}%)" if rate else "-"
        rows.append([
            s.server, fmt_rate(rate),
            fmt_num(s.ratio_to(ref), 2), fmt_num(s.ratio_to(base), 2),
            fmt_num(s.median("p50_us")), fmt_num(s.median("p99_us")),
            fmt_num(cpu, 2),
            *([f"{cpu / ref_cpu:.2f}" if cpu and ref_cpu else "-"] if cpu_cols else []),
            fmt_pct(s.cpu_share("server")),
            fmt_pct(s.cpu_share("load")), fmt_pct(s.cpu_share("other")), spread,
            f"{len(s.trials)}" + (f" ({len(s.failures)} failed)" if s.failures else ""),
            *[fmt_num(s.total(k), 0) for k in workload.totals],
        ])
    full = [r for r in rows if len(r) == len(headers)]
    widths = [max(len(h), *(len(r[i]) for r in full)) if full else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(headers, widths, strict=True)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        if len(r) != len(headers):
            lines.append(f"{r[0].ljust(widths[0])}  {r[1]}: {r[2]}")
            continue
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))))
    errors = [f"{s.server} {s.total('errors'):.0f}" for s in summaries if s.total("errors")]
    if errors:
        lines.append(f"load generator errors (lost connections, bad echoes), summed over "
                     f"rounds: {', '.join(errors)}")
    return "\n".join(lines)


def new_logdir() -> str:
    return tempfile.mkdtemp(prefix="sourcey-bench-")

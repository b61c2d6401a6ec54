#!/usr/bin/env python3
"""sourcey's macro benchmarks: each workload's servers one after another, same load.

    python benchmarks/run.py --quick                 # the short run (about 4 minutes)
    python benchmarks/run.py                         # every workload, 5 rounds x 5 s
    python benchmarks/run.py --workloads tcp-echo-1k --servers c-libuv,sourcey,uvloop
    python benchmarks/run.py --list                  # workloads and servers

Rounds are interleaved: in each round every server runs once, in an order rotated from
round to round, so slow drifts of the machine hit every server alike. Each server runs on
one CPU and the load generator on another. A table per workload reports the median rate,
its ratio to the reference (plain C libuv, the limit) and to uvloop, latency, the server's
CPU time per message and the spread across rounds. Only ratios mean anything: absolute
numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time

import harness
from harness import (
    Context,
    Placement,
    Processes,
    StartError,
    Summary,
    TrialError,
    Unavailable,
    Workload,
)
from workloads import load_all

NOISY = 0.15  # other processes using more than this share of a CPU make a trial suspect
QUICK = {"rounds": 3, "duration": 3.0, "warmup": 0.5}
FULL = {"rounds": 5, "duration": 5.0, "warmup": 1.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="the short run: the quick workloads, 3 rounds x 3 s")
    p.add_argument("--workloads", help="comma-separated workload names (default: all, or "
                                       "the quick ones with --quick)")
    p.add_argument("--servers", help="comma-separated server names (default: all available)")
    p.add_argument("--rounds", type=int, help="interleaved rounds per workload")
    p.add_argument("--duration", type=float, help="measured seconds per trial")
    p.add_argument("--warmup", type=float, help="unmeasured seconds before each trial")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="override a workload parameter, e.g. conns=50 (repeatable)")
    p.add_argument("--json", metavar="OUT", help="write every trial and summary to OUT")
    p.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each trial, wait up to S seconds for other processes to "
                        "use less than 15%% of a CPU (for shared machines)")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the servers' and load generators' output (path is printed)")
    p.add_argument("--list", action="store_true", help="list workloads and servers, then exit")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.rounds < 1 or args.duration <= 0 or args.warmup < 0:
        p.error("--rounds must be >= 1, --duration > 0 and --warmup >= 0")
    return args


def split(value: str | None, option: str) -> list[str]:
    """A comma-separated option's names; [] when the option is absent. Given but naming
    nothing ("," or ""), it is an error rather than a silent "all"."""
    if value is None:
        return []
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        sys.exit(f"{option} {value!r}: no name given")
    return names


def select(args: argparse.Namespace, registry: dict[str, Workload]) -> list[Workload]:
    names = split(args.workloads, "--workloads")
    unknown = [n for n in names if n not in registry]
    if unknown:
        sys.exit(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(registry)}")
    if names:
        return [registry[n] for n in names]
    return [w for w in registry.values() if w.quick or not args.quick]


def workload_params(workload: Workload, overrides: list[str]) -> dict[str, str]:
    params = dict(workload.params)
    for item in overrides:
        key, _, value = item.partition("=")  # main() checked the KEY=VALUE form
        if key in params:
            params[key] = value
    return params


def check_params(overrides: list[str], workloads: list[Workload]) -> None:
    """Exit with a message unless every override is KEY=VALUE for a selected workload's
    parameter: before anything is built or started."""
    keys = {k for w in workloads for k in w.params}
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key:
            sys.exit(f"--param {item!r}: expected KEY=VALUE")
        if key not in keys:
            sys.exit(f"--param {item!r}: no selected workload has a parameter {key!r} "
                     f"(they have: {', '.join(sorted(keys)) or 'none'})")


def prepare(workload: Workload, server_names: list[str], builder: harness.Builder,
            ) -> tuple[str | None, dict[str, str]]:
    """Build what the workload needs. Returns (reason the workload cannot run, or None;
    {server: reason it is skipped})."""
    try:
        for prog in harness.programs_in(workload.load.argv):
            builder.build(prog)
    except Unavailable as exc:
        return f"load generator unavailable: {exc}", {}
    skipped = {}
    for name in server_names:
        server = workload.servers[name]
        reason = server.unavailable()
        if reason is None:
            try:
                for prog in harness.programs_in(server.argv):
                    builder.build(prog)
            except Unavailable as exc:
                reason = str(exc)
        if reason is not None:
            skipped[name] = reason
    return None, skipped


def print_header(args: argparse.Namespace, machine: dict, placement: Placement) -> None:
    mode = "quick" if args.quick else "full"
    print(f"sourcey macro benchmarks ({mode}: {args.rounds} interleaved rounds x "
          f"{args.duration:g} s, warmup {args.warmup:g} s)")
    print(f"machine: nproc {machine['nproc']} ({machine['cpu']}), Linux {machine['kernel']}, "
          f"Python {machine['python']}, libuv {machine['libuv']}, "
          f"node {machine['node'] or '-'}, uvloop {machine['uvloop'] or '-'}")
    print(f"placement: {placement.note}")
    print("Only the ratios measured in this run mean anything; absolute rates depend on "
          "the machine.")


NOTES = """\
x c-libuv / x uvloop: median rate divided by that server's median rate in this run.
srv us/msg: the server's CPU time (utime+stime from /proc) per message in the measured
window. srv CPU / load CPU: share of one core used by the server / the load generator;
a load CPU near 100% means the client, not the server, set the pace. other CPU: what the
rest of the machine used meanwhile; more than a few % means the numbers are disturbed."""


def run_workload(workload: Workload, server_names: list[str], skipped: dict[str, str],
                 args: argparse.Namespace, ctx: Context, placement: Placement,
                 procs: Processes, logdir: str) -> list[Summary]:
    params = workload_params(workload, args.param)
    print(f"\n== {workload.name}: {workload.title(params)}")
    fields = dict(params)
    if workload.setup is not None:
        scratch = os.path.join(logdir, f"{workload.name}.setup")
        os.makedirs(scratch, exist_ok=True)
        try:
            fields.update(workload.setup(scratch))
        except Unavailable as exc:
            print(f"  skip workload {workload.name}: setup failed: {exc}")
            return [Summary(n, [], [], f"setup failed: {exc}") for n in server_names]
    summaries = {n: Summary(n, [], [], skipped.get(n)) for n in server_names}
    for name, reason in skipped.items():
        print(f"  skip {name}: {reason}")
    active = [n for n in server_names if n not in skipped]
    width = max([10, *map(len, active)])
    for rnd in range(args.rounds):
        shift = rnd % len(active) if active else 0
        order = active[shift:] + active[:shift]
        for name in order:
            summary = summaries[name]
            if summary.skipped:
                continue
            if args.wait_quiet > 0:
                busy = harness.wait_until_quiet(args.wait_quiet, NOISY)
                if busy is not None and busy > NOISY:
                    print(f"  (machine still busy: {busy:.0%} of a CPU in use)")
            try:
                trial = harness.run_trial(workload, name, fields, ctx, placement, procs, rnd,
                                          args.duration, args.warmup, logdir)
            except StartError as exc:
                summary.skipped = f"could not start: {exc}"
                print(f"  skip {name}: {summary.skipped}")
                continue
            except TrialError as exc:
                summary.failures.append(str(exc))
                print(f"  round {rnd + 1}/{args.rounds}  {name:<{width}} failed: {exc}")
                continue
            summary.trials.append(trial)
            r = trial.result
            notes = f"  errors {r['errors']}" if r.get("errors") else ""
            other = trial.share(trial.other_cpu_s)
            if other is not None and other > NOISY:
                notes += f"  NOISY: other processes used {other:.0%} of a CPU"
            print(f"  round {rnd + 1}/{args.rounds}  {name:<{width}} "
                  f"{harness.fmt_rate(float(r['rate'])):>8} {workload.metric}  "
                  f"p99 {harness.fmt_num(r.get('p99_us'))} us  "
                  f"srv CPU {harness.fmt_pct(trial.share(trial.server_cpu_s))}  "
                  f"load CPU {harness.fmt_pct(trial.share(trial.load_cpu_s))}{notes}",
                  flush=True)
    result = [summaries[n] for n in server_names]
    print()
    print(f"{workload.name}: {workload.title(params)}")
    print(harness.format_table(workload, result))
    return result


def server_report(summary: Summary, summaries: list[Summary], workload: Workload) -> dict:
    """One server's entry in --json: its summary, trials and the table's two ratios."""
    by_name = {s.server: s for s in summaries}
    return {**summary.as_dict(),
            "x_reference": summary.ratio_to(by_name.get(workload.reference)),
            "x_baseline": summary.ratio_to(by_name.get(workload.baseline))}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    registry = load_all()
    if args.list:
        for w in registry.values():
            quick = " [quick]" if w.quick else ""
            print(f"{w.name}{quick}: {w.title(w.params)}")
            print(f"    servers: {', '.join(w.servers)}")
        return 0
    workloads = select(args, registry)
    wanted = split(args.servers, "--servers")
    known = {n for w in workloads for n in w.servers}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        sys.exit(f"unknown server(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")

    check_params(args.param, workloads)

    ctx = Context()
    builder = harness.Builder()
    plans = []
    for w in workloads:
        names = [n for n in w.servers if not wanted or n in wanted]
        problem, skipped = prepare(w, names, builder)
        if problem:
            print(f"skip workload {w.name}: {problem}")
            continue
        plans.append((w, names, skipped))

    placement = Placement(None, None, "unpinned (--no-pin)") if args.no_pin \
        else Placement.detect()
    machine = harness.machine_info(ctx.python)
    print_header(args, machine, placement)
    if placement.load_cpu is not None:
        # The runner only waits on the load generator: keep it off the server's CPU.
        os.sched_setaffinity(0, {placement.load_cpu})

    procs = Processes()
    logdir = harness.new_logdir()

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt  # the same clean-up as Ctrl-C

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    report = {"machine": machine, "placement": placement.note,
              "config": {"rounds": args.rounds, "duration": args.duration,
                         "warmup": args.warmup, "quick": args.quick, "params": args.param},
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "workloads": {}}
    started = time.monotonic()
    code = 0
    try:
        for w, names, skipped in plans:
            summaries = run_workload(w, names, skipped, args, ctx, placement, procs, logdir)
            params = workload_params(w, args.param)
            report["workloads"][w.name] = {
                "title": w.title(params), "params": params, "metric": w.metric,
                "reference": w.reference, "baseline": w.baseline,
                "servers": [server_report(s, summaries, w) for s in summaries]}
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every process started")
        code = 130
    finally:
        procs.stop_all()
        signal.signal(signal.SIGTERM, previous)
        if args.keep_logs:
            print(f"\nlogs: {logdir}")
        else:
            shutil.rmtree(logdir, ignore_errors=True)
    print(f"\n{NOTES}\n(total {time.monotonic() - started:.0f} s)")
    failed = [f"{name} {s['server']}" for name, wl in report["workloads"].items()
              for s in wl["servers"] if s["failures"]]
    if failed:
        print(f"failed trials (see above): {', '.join(failed)}")
        code = code or 1
    if args.json:
        report["seconds"] = time.monotonic() - started
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        print(f"results written to {args.json}")
    return code


if __name__ == "__main__":
    sys.exit(main())

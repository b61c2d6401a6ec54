"""Runs wrk for the benchmark runner: an unmeasured warmup run, then the measured one.

    python run_wrk.py --warmup S -- wrk -t1 -c100 -d3s --latency -s marks.lua URL [-- ARGS]

wrk has no warmup phase of its own. With ``--warmup S`` > 0 this first runs the same
command with ``-dS`` (its output discarded), then replaces itself (exec) with the
measured command, so the runner's process id is wrk's own: the load generator's CPU
time is wrk's, and the warmup run (a child that was waited for) is not in it. The
measured command's script (marks.lua, or pipeline.lua which loads it) prints
``#mark start`` before wrk opens a connection and ``#mark end`` after it stops, and the
runner samples the server's CPU time at those two lines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys


def whole_seconds(arg: str) -> str:
    """``-dS`` with S seconds (a float) -> ``-dNs``, N >= 1 whole seconds; other args as is."""
    m = re.fullmatch(r"-d([0-9]*\.?[0-9]+)s?", arg)
    return f"-d{max(1, round(float(m.group(1))))}s" if m else arg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        sys.exit("run_wrk: no wrk command given")
    # wrk takes whole seconds only (it prints its usage for "-d0.5s"): round the measured
    # duration to at least 1 s; the runner reads the time wrk actually ran from its output.
    cmd = [whole_seconds(a) for a in cmd]
    if args.warmup > 0:
        # The same load for S seconds, without the window markers (no script output).
        warm = [re.sub(r"^-d\S+$", f"-d{max(1, round(args.warmup))}s", a) for a in cmd]
        try:
            proc = subprocess.run(warm, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True, timeout=args.warmup + 30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            sys.exit(f"run_wrk: warmup run failed: {exc}")
        if proc.returncode != 0:
            sys.exit(f"run_wrk: warmup run exited with code {proc.returncode}: "
                     f"{proc.stderr.strip()}")
    sys.stdout.flush()
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        sys.exit(f"run_wrk: cannot run {cmd[0]}: {exc}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compile the fetched libuv into a static, position-independent archive.

setup.py links this archive into ``sourcey.uv._core``; the benchmark runner links its
plain C servers and load generators against the same one, so both sides of a comparison
run the same libuv. Objects are rebuilt only when their source is newer.

Usage: ``python vendor/libuv/build.py [BUILD_DIR]`` prints the archive's path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INCLUDE = os.path.join(HERE, "include")

# The Linux source list of libuv's own CMakeLists.txt (uv_sources, unix and linux).
SOURCES = [
    "src/fs-poll.c", "src/idna.c", "src/inet.c", "src/random.c", "src/strscpy.c",
    "src/strtok.c", "src/thread-common.c", "src/threadpool.c", "src/timer.c",
    "src/uv-common.c", "src/uv-data-getter-setters.c", "src/version.c",
    "src/unix/async.c", "src/unix/core.c", "src/unix/dl.c", "src/unix/fs.c",
    "src/unix/getaddrinfo.c", "src/unix/getnameinfo.c", "src/unix/loop-watcher.c",
    "src/unix/loop.c", "src/unix/pipe.c", "src/unix/poll.c", "src/unix/process.c",
    "src/unix/random-devurandom.c", "src/unix/signal.c", "src/unix/stream.c",
    "src/unix/tcp.c", "src/unix/thread.c", "src/unix/tty.c", "src/unix/udp.c",
    "src/unix/linux.c", "src/unix/procfs-exepath.c", "src/unix/random-getrandom.c",
    "src/unix/random-sysctl-linux.c", "src/unix/proctitle.c",
]
# UV_EXTERN= drops uv.h's visibility("default") from libuv's own declarations, so that
# -fvisibility=hidden applies: the extension must not export libuv's uv_* symbols.
DEFINES = ["_GNU_SOURCE", "_POSIX_C_SOURCE=200112", "_FILE_OFFSET_BITS=64", "_LARGEFILE_SOURCE",
           "UV_EXTERN="]
LIBS = ["pthread", "dl", "rt"]


def _compile(cc: str, cflags: list[str], src: str, obj: str, force: bool) -> None:
    if not force and os.path.exists(obj) and os.path.getmtime(obj) >= os.path.getmtime(src):
        return
    os.makedirs(os.path.dirname(obj), exist_ok=True)
    cmd = [cc, *cflags, "-c", src, "-o", obj]
    subprocess.run(cmd, check=True)


def build_static(build_dir: str | None = None, debug: bool = False) -> str:
    """Build libuv.a in build_dir (default build/libuv[-debug]) and return its path."""
    if not os.path.exists(os.path.join(INCLUDE, "uv.h")):
        raise RuntimeError("libuv source is missing: run vendor/libuv/fetch.py first")
    build_dir = build_dir or os.path.join(ROOT, "build", "libuv-debug" if debug else "libuv")
    cc = os.environ.get("CC", "cc")
    cflags = ["-fPIC", "-fvisibility=hidden", "-fno-strict-aliasing", "-std=gnu99",
              "-g", "-O0" if debug else "-O2", "-w",
              "-I" + INCLUDE, "-I" + os.path.join(HERE, "src")]
    cflags += ["-D" + d for d in DEFINES]
    objs = [os.path.join(build_dir, "obj", s.replace("/", "_")[:-2] + ".o") for s in SOURCES]
    # Objects built with other flags (or another compiler) are rebuilt, not reused.
    stamp = os.path.join(build_dir, "flags")
    flags = " ".join([cc, *cflags])
    try:
        with open(stamp, encoding="utf-8") as f:
            force = f.read() != flags
    except OSError:
        force = True
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = [pool.submit(_compile, cc, cflags, os.path.join(HERE, s), o, force)
                   for s, o in zip(SOURCES, objs, strict=True)]
        for f in futures:
            f.result()
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(flags)
    archive = os.path.join(build_dir, "libuv.a")
    newest = max(os.path.getmtime(o) for o in objs)
    if not os.path.exists(archive) or os.path.getmtime(archive) < newest:
        if os.path.exists(archive):
            os.unlink(archive)
        subprocess.run(["ar", "rcs", archive, *objs], check=True)
    return archive


if __name__ == "__main__":
    print(build_static(sys.argv[1] if len(sys.argv) > 1 else None))

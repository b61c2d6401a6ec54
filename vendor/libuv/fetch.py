#!/usr/bin/env python3
"""Fetch the pinned libuv source into vendor/libuv/ (DESIGN.md §2).

libuv is a dependency, never our code: its source is fetched at build time, checked
against the sha256 recorded in PIN, and unpacked here (git-ignored). Where it comes from,
in order:

1. ``SOURCEY_LIBUV_TARBALL=path``: a local tarball. Debian's ``.orig.tar.gz`` is checked
   by its file sha256; any other packing of the same release (GitHub's tag archive, for
   one) by the digest of its file tree (``tree_sha256`` in PIN).
2. Debian's source package, through apt-get with a private configuration in a temporary
   folder: the machine's apt setup is read (for the mirror) but never changed.
3. ``SOURCEY_LIBUV_URL=url``: a download of the upstream release, checked as in 1.

Run it as ``python vendor/libuv/fetch.py`` (``--check`` only verifies what is there).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = os.path.join(HERE, ".fetched")
# Our own files in vendor/libuv/, which clean() keeps (everything else is libuv's).
OURS = {"PIN", "fetch.py", "build.py", ".fetched"}
DEFAULT_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class FetchError(RuntimeError):
    pass


def read_pin() -> dict[str, str]:
    pin = {}
    with open(os.path.join(HERE, "PIN"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                pin[key.strip()] = value.strip()
    return pin


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _members(tar: tarfile.TarFile) -> list[tuple[str, tarfile.TarInfo]]:
    """Regular files and directories with the top folder stripped, refusing unsafe paths."""
    out = []
    for m in tar.getmembers():
        parts = m.name.split("/", 1)
        if len(parts) < 2 or not parts[1]:
            continue
        rel = parts[1]
        if rel.startswith("/") or ".." in rel.split("/"):
            raise FetchError(f"unsafe path in tarball: {m.name!r}")
        if m.isfile() or m.isdir():
            out.append((rel, m))
    return out


def tree_digest(tar: tarfile.TarFile) -> str:
    """sha256 over the sorted (path, content sha256) of every file: packing-independent."""
    h = hashlib.sha256()
    for rel, m in sorted(_members(tar), key=lambda x: x[0]):
        if not m.isfile():
            continue
        f = tar.extractfile(m)
        assert f is not None
        h.update(rel.encode() + b"\0" + hashlib.sha256(f.read()).hexdigest().encode() + b"\n")
    return h.hexdigest()


def verify_and_unpack(tarball: str, pin: dict[str, str]) -> None:
    try:
        _verify_and_unpack(tarball, pin)
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise FetchError(
            f"{tarball}: not a readable libuv {pin['version']} tarball: {exc}"
        ) from None


def _verify_and_unpack(tarball: str, pin: dict[str, str]) -> None:
    digest = file_sha256(tarball)
    with tarfile.open(tarball, "r:*") as tar:
        if digest != pin["sha256"]:
            tree = tree_digest(tar)
            if tree != pin["tree_sha256"]:
                raise FetchError(
                    f"{tarball}: sha256 {digest} is not the pinned {pin['sha256']}, "
                    f"and its file tree ({tree}) is not libuv {pin['version']}'s"
                )
        clean()
        for rel, m in _members(tar):
            dest = os.path.join(HERE, rel)
            if m.isdir():
                os.makedirs(dest, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            src = tar.extractfile(m)
            assert src is not None
            with open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
    with open(STAMP, "w", encoding="utf-8") as f:
        f.write(pin["version"] + "\n")


def clean() -> None:
    for name in os.listdir(HERE):
        if name in OURS:
            continue
        path = os.path.join(HERE, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def is_fetched(pin: dict[str, str]) -> bool:
    if not os.path.exists(os.path.join(HERE, "include", "uv.h")):
        return False
    try:
        with open(STAMP, encoding="utf-8") as f:
            return f.read().strip() == pin["version"]
    except OSError:
        return False


def debian_mirror() -> tuple[str, str]:
    """The machine's Debian archive URI and keyring, from its own apt sources."""
    stanzas: list[dict[str, str]] = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path, encoding="utf-8") as f:
            for block in re.split(r"\n\s*\n", f.read()):
                fields = {}
                for line in block.splitlines():
                    if ":" in line and not line.lstrip().startswith("#"):
                        key, _, value = line.partition(":")
                        fields[key.strip().lower()] = value.strip()
                if fields:
                    stanzas.append(fields)
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*deb(?:-src)?\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)", line)
                if m:
                    opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                    stanzas.append({
                        "uris": m.group(2),
                        "suites": m.group(3),
                        "signed-by": opts.get("signed-by", ""),
                    })
    for st in stanzas:
        suites = st.get("suites", "")
        if "security" in suites or "security" in st.get("uris", ""):
            continue
        if st.get("enabled", "yes").lower() == "no":
            continue
        uri = st.get("uris", "").split()
        if uri and "debian" in uri[0]:
            keyring = st.get("signed-by") or DEFAULT_KEYRING
            return uri[0], keyring
    raise FetchError("no Debian archive found in the machine's apt sources")


def fetch_with_apt(pin: dict[str, str], work: str) -> str:
    uri, keyring = debian_mirror()
    for sub in ("lists/partial", "cache/archives/partial", "parts", "dl"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    src_list = os.path.join(work, "sources.list")
    with open(src_list, "w", encoding="utf-8") as f:
        f.write(f"deb-src [signed-by={keyring}] {uri} {pin['debian_suite']} main\n")
    opts = [
        "-o", f"Dir::Etc::SourceList={src_list}",
        "-o", f"Dir::Etc::SourceParts={work}/parts",
        "-o", f"Dir::State::Lists={work}/lists",
        "-o", f"Dir::Cache={work}/cache",
        "-o", "APT::Sandbox::User=root",
    ]
    run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    try:
        subprocess.run(["apt-get", *opts, "update"], **run)
        subprocess.run(
            ["apt-get", *opts, "source", "--download-only", f"libuv1={pin['debian_version']}"],
            cwd=os.path.join(work, "dl"),
            **run,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise FetchError(
            f"apt-get could not fetch libuv1 {pin['debian_version']}: {exc} "
            f"{detail.decode(errors='replace')[-500:]}"
        ) from exc
    path = os.path.join(work, "dl", pin["tarball"])
    if not os.path.exists(path):
        raise FetchError(f"apt-get did not produce {pin['tarball']}")
    return path


def fetch(force: bool = False) -> None:
    pin = read_pin()
    if not force and is_fetched(pin):
        return
    tarball = os.environ.get("SOURCEY_LIBUV_TARBALL")
    if tarball:
        verify_and_unpack(tarball, pin)
        return
    with tempfile.TemporaryDirectory(prefix="sourcey-libuv-") as work:
        try:
            path = fetch_with_apt(pin, work)
        except FetchError as apt_error:
            url = os.environ.get("SOURCEY_LIBUV_URL")
            if not url:
                raise FetchError(
                    f"{apt_error}\nSet SOURCEY_LIBUV_TARBALL to a libuv {pin['version']} tarball, "
                    "SOURCEY_LIBUV_URL to its release URL, or SOURCEY_SYSTEM_LIBUV=1."
                ) from None
            path = os.path.join(work, "libuv.tar.gz")
            try:
                urllib.request.urlretrieve(url, path)
            except (OSError, ValueError) as exc:
                raise FetchError(f"cannot download {url}: {exc}") from None
        verify_and_unpack(path, pin)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="fetch again even if present")
    ap.add_argument("--check", action="store_true", help="only say whether the source is present")
    ap.add_argument("--tree-digest", metavar="TARBALL", help="print a tarball's file-tree digest")
    args = ap.parse_args()
    if args.tree_digest:
        with tarfile.open(args.tree_digest, "r:*") as tar:
            print(tree_digest(tar))
        return 0
    if args.check:
        ok = is_fetched(read_pin())
        print("present" if ok else "missing")
        return 0 if ok else 1
    try:
        fetch(force=args.force)
    except FetchError as exc:
        print(f"fetch.py: {exc}", file=sys.stderr)
        return 1
    print(f"libuv {read_pin()['version']} is in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build sourcey's compiled modules with libuv compiled in (DESIGN.md §2).

Environment:
  SOURCEY_DEBUG=1          debug build: handle/request leak counters, assertions, -O0
  SOURCEY_SYSTEM_LIBUV=1   link the system libuv (pkg-config libuv) instead of vendor/libuv
  SOURCEY_LIBUV_TARBALL    a local libuv tarball for the fetch step (checked by sha256)
  SOURCEY_CYTHON_ANNOTATE=1  write Cython's HTML annotation beside each .pyx
"""

import glob
import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

ROOT = os.path.dirname(os.path.abspath(__file__))
VENDOR = os.path.join(ROOT, "vendor", "libuv")
DEBUG = os.environ.get("SOURCEY_DEBUG") == "1"
SYSTEM_LIBUV = os.environ.get("SOURCEY_SYSTEM_LIBUV") == "1"


def _vendor_module(name):
    sys.path.insert(0, VENDOR)
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def fetch_libuv():
    fetch = _vendor_module("fetch")
    try:
        fetch.fetch()
    except fetch.FetchError as exc:
        sys.exit(f"sourcey: cannot get libuv: {exc}")


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "libuv"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"sourcey: SOURCEY_SYSTEM_LIBUV=1 needs pkg-config and libuv's headers: {exc}")
    return shlex.split(out)


class BuildExt(build_ext):
    """Fetch and compile libuv first, then link it statically into each extension."""

    def build_extensions(self):
        if SYSTEM_LIBUV:
            cflags, libs = pkg_config("--cflags"), pkg_config("--libs")
            for ext in self.extensions:
                ext.extra_compile_args += cflags
                ext.extra_link_args += libs
        else:
            fetch_libuv()
            archive = _vendor_module("build").build_static(
                os.path.join(os.path.abspath(self.build_temp), "libuv"), debug=DEBUG)
            libs = _vendor_module("build").LIBS
            for ext in self.extensions:
                ext.include_dirs.append(os.path.join(VENDOR, "include"))
                ext.extra_objects.append(archive)
                ext.libraries += libs
        super().build_extensions()


class SDist(sdist):
    """The sdist carries libuv's source, so it builds with no network."""

    def run(self):
        if not SYSTEM_LIBUV:
            fetch_libuv()
        super().run()


def extensions():
    from Cython.Build import cythonize

    macros = [("SOURCEY_DEBUG", "1")] if DEBUG else [("NDEBUG", "1")]
    cflags = ["-O0", "-g"] if DEBUG else ["-O2"]
    cflags += ["-fno-strict-aliasing", "-Wno-unused-function"]
    depends = glob.glob("sourcey/**/*.pxd", recursive=True) + glob.glob("sourcey/**/*.pyx", recursive=True)
    depends += glob.glob("csrc/*.h")
    exts = [
        Extension(
            "sourcey.uv._core",
            ["sourcey/uv/_core.pyx"],
            include_dirs=[os.path.join(ROOT, "csrc")],
            define_macros=macros,
            extra_compile_args=cflags,
            depends=depends,
        ),
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "embedsignature": True,
            "binding": False,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
        },
        annotate=os.environ.get("SOURCEY_CYTHON_ANNOTATE") == "1",
        nthreads=0,
    )


setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": BuildExt, "sdist": SDist},
)

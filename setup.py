"""Build sourcey's compiled modules with libuv compiled in (DESIGN.md §2).

Environment:
  SOURCEY_DEBUG=1          debug build: handle/request leak counters, assertions, -O0
  SOURCEY_SYSTEM_LIBUV=1   link the system libuv (pkg-config libuv) instead of vendor/libuv
  SOURCEY_LIBUV_TARBALL    a local libuv tarball for the fetch step (checked by sha256)
  SOURCEY_CYTHON_ANNOTATE=1  write Cython's HTML annotation beside each .pyx
"""

import glob
import importlib.util
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
# The oldest libuv with every API the binding uses: UV_TCP_REUSEPORT and UV_UDP_REUSEPORT
# are 1.49.0 (uv_pipe_bind2/uv_pipe_connect2 1.46.0, uv_get_available_memory 1.45.0).
LIBUV_MIN_VERSION = "1.49.0"


def _vendor_module(name):
    """vendor/libuv/<name>.py, under a private module name: a plain ``import build``
    could pick up PyPA's ``build`` package instead."""
    key = f"_sourcey_vendor_libuv_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, os.path.join(VENDOR, name + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


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
    except OSError as exc:
        sys.exit(f"sourcey: SOURCEY_SYSTEM_LIBUV=1 needs pkg-config: {exc}")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"sourcey: SOURCEY_SYSTEM_LIBUV=1, but pkg-config finds no libuv (install "
                 f"libuv's development files, libuv >= {LIBUV_MIN_VERSION}, or set "
                 f"PKG_CONFIG_PATH): {exc.stderr.strip()}")
    return shlex.split(out)


def system_libuv_flags():
    """pkg-config's compile and link flags for the system libuv, once its version is checked."""
    version = " ".join(pkg_config("--modversion"))
    try:
        new_enough = subprocess.run(
            ["pkg-config", f"--atleast-version={LIBUV_MIN_VERSION}", "libuv"]).returncode == 0
    except OSError as exc:
        sys.exit(f"sourcey: SOURCEY_SYSTEM_LIBUV=1 needs pkg-config: {exc}")
    if not new_enough:
        sys.exit(f"sourcey: SOURCEY_SYSTEM_LIBUV=1 found libuv {version}, but sourcey needs "
                 f"libuv >= {LIBUV_MIN_VERSION}. Point PKG_CONFIG_PATH at a newer libuv, or "
                 f"build without SOURCEY_SYSTEM_LIBUV to compile in the pinned libuv.")
    return pkg_config("--cflags"), pkg_config("--libs")


class BuildExt(build_ext):
    """Fetch and compile libuv first, then link it statically into each extension."""

    def build_extensions(self):
        if SYSTEM_LIBUV:
            cflags, libs = system_libuv_flags()
            for ext in self.extensions:
                ext.extra_compile_args += cflags
                ext.extra_link_args += libs
        else:
            fetch_libuv()
            build = _vendor_module("build")
            archive = build.build_static(
                os.path.join(os.path.abspath(self.build_temp), "libuv"), debug=DEBUG)
            libs = build.LIBS
            for ext in self.extensions:
                ext.include_dirs.append(os.path.join(VENDOR, "include"))
                if ext.name == "sourcey.uv._core":  # the one module that calls libuv
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
    # A module depends on the files of its own package (its .pyx includes), on every
    # .pxd (cimports cross packages) and on csrc's headers: so a change in one package
    # does not rebuild the others.
    shared = glob.glob("sourcey/**/*.pxd", recursive=True) + glob.glob("csrc/*.h")
    # Only sourcey.uv._core links libuv; the layers above reach it through _core's
    # cdef classes (cimported), so there is one libuv per process.
    modules = {
        "sourcey.uv._core": "sourcey/uv/_core.pyx",
        "sourcey.signals": "sourcey/signals.pyx",
        "sourcey.net._net": "sourcey/net/_net.pyx",
        "sourcey.http._parser": "sourcey/http/_parser.pyx",
        "sourcey.http._server": "sourcey/http/_server.pyx",
        "sourcey.stream._stream": "sourcey/stream/_stream.pyx",
        "sourcey.http._client": "sourcey/http/_client.pyx",
        "sourcey.stun._codec": "sourcey/stun/_codec.pyx",
        "sourcey.http.websocket._frame": "sourcey/http/websocket/_frame.pyx",
        "sourcey.turn._relay": "sourcey/turn/_relay.pyx",
    }
    # Our own C compiled into a module beside its .pyx (csrc/).
    c_sources = {
        "sourcey.http._parser": ["csrc/http1_parser.c"],
        "sourcey.http._server": ["csrc/http1_parser.c"],   # drives the parser itself
        "sourcey.stream._stream": ["csrc/packet_queue.c"],
        "sourcey.stun._codec": ["csrc/stun_codec.c"],
        "sourcey.http.websocket._frame": ["csrc/ws_frame.c", "csrc/utf8_check.c",
                                          "csrc/ws_deflate.c"],
        "sourcey.turn._relay": ["csrc/turn_relay.c", "csrc/stun_codec.c"],
    }
    # System libraries a module links besides libuv's.
    libraries = {"sourcey.http.websocket._frame": ["z"]}
    exts = [
        Extension(
            name,
            [source, *c_sources.get(name, [])],
            include_dirs=[os.path.join(ROOT, "csrc")],
            libraries=list(libraries.get(name, [])),
            define_macros=macros,
            extra_compile_args=cflags,
            depends=shared + glob.glob(os.path.join(os.path.dirname(source), "**", "*.pyx"),
                                       recursive=True),
        )
        for name, source in modules.items()
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

"""sourcey.uv: libuv, bound thinly, API-compatible with pyuv 1.4.

Porting pyuv code means changing the import: ``from sourcey import uv as pyuv``.
Callbacks take the handle first and the error last, ``cb(handle, ..., error)``, where
error is None or a libuv error code (compare with ``sourcey.uv.errno.UV_*``).
Synchronous failures raise ``sourcey.uv.error`` exceptions (subclasses of OSError).
"""

from . import dns, errno, error, util
from ._core import (
    DEBUG,
    LIBUV_VERSION,
    TCP,
    UDP,
    UV_ASYNC,
    UV_CHECK,
    UV_DISCONNECT,
    UV_FILE,
    UV_FS_EVENT,
    UV_FS_POLL,
    UV_HANDLE,
    UV_IDLE,
    UV_JOIN_GROUP,
    UV_LEAVE_GROUP,
    UV_NAMED_PIPE,
    UV_POLL,
    UV_PREPARE,
    UV_PRIORITIZED,
    UV_PROCESS,
    UV_READABLE,
    UV_RUN_DEFAULT,
    UV_RUN_NOWAIT,
    UV_RUN_ONCE,
    UV_SIGNAL,
    UV_STREAM,
    UV_TCP,
    UV_TCP_IPV6ONLY,
    UV_TCP_REUSEPORT,
    UV_TIMER,
    UV_TTY,
    UV_UDP,
    UV_UDP_IPV6ONLY,
    UV_UDP_PARTIAL,
    UV_UDP_REUSEADDR,
    UV_UDP_REUSEPORT,
    UV_UNKNOWN_HANDLE,
    UV_WRITABLE,
    Async,
    Check,
    Handle,
    Idle,
    Loop,
    Pipe,
    Poll,
    Prepare,
    Signal,
    Stream,
    Timer,
    WorkRequest,
)
from .stop import close_on_signals

__all__ = [
    "Async", "Check", "Handle", "Idle", "Loop", "Pipe", "Poll", "Prepare", "Signal",
    "Stream", "TCP", "Timer", "UDP", "WorkRequest", "dns", "errno", "error", "util",
    "close_on_signals",
    "DEBUG", "LIBUV_VERSION",
    "UV_RUN_DEFAULT", "UV_RUN_ONCE", "UV_RUN_NOWAIT",
    "UV_UNKNOWN_HANDLE", "UV_ASYNC", "UV_CHECK", "UV_FS_EVENT", "UV_FS_POLL", "UV_HANDLE",
    "UV_IDLE", "UV_NAMED_PIPE", "UV_POLL", "UV_PREPARE", "UV_PROCESS", "UV_STREAM",
    "UV_TCP", "UV_TIMER", "UV_TTY", "UV_UDP", "UV_SIGNAL", "UV_FILE",
    "UV_TCP_IPV6ONLY", "UV_TCP_REUSEPORT",
    "UV_UDP_IPV6ONLY", "UV_UDP_PARTIAL", "UV_UDP_REUSEADDR", "UV_UDP_REUSEPORT",
    "UV_JOIN_GROUP", "UV_LEAVE_GROUP",
    "UV_READABLE", "UV_WRITABLE", "UV_DISCONNECT", "UV_PRIORITIZED",
]

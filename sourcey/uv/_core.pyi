"""Type stubs for sourcey.uv._core, the compiled libuv binding (see the .pyx sources).

Callbacks take the handle first and the error last; the error is None or a negative
libuv error code (compare it with ``sourcey.uv.errno.UV_*``). Callback return values
are ignored.
"""

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Final, NamedTuple, TypeAlias, TypedDict, final, overload

from typing_extensions import Buffer, Self, disjoint_base

# Addresses given to bind/connect/send: (ip, port) or, for IPv6, (ip, port[, flowinfo,
# scope_id]). An empty ip means 0.0.0.0.
_AddressIn: TypeAlias = tuple[str, int] | tuple[str, int, int] | tuple[str, int, int, int]
# Addresses returned: (ip, port) for IPv4, (ip, port, flowinfo, scope_id) for IPv6.
_Address: TypeAlias = tuple[str, int] | tuple[str, int, int, int]
# What write/send take: one bytes-like object, or a list or tuple of them.
_Data: TypeAlias = Buffer | Sequence[Buffer]
_ExceptHook: TypeAlias = Callable[
    [type[BaseException], BaseException, TracebackType | None], object
]

LIBUV_VERSION: Final[str]
DEBUG: Final[bool]

UV_RUN_DEFAULT: Final[int]
UV_RUN_ONCE: Final[int]
UV_RUN_NOWAIT: Final[int]

UV_UNKNOWN_HANDLE: Final[int]
UV_ASYNC: Final[int]
UV_CHECK: Final[int]
UV_FS_EVENT: Final[int]
UV_FS_POLL: Final[int]
UV_HANDLE: Final[int]
UV_IDLE: Final[int]
UV_NAMED_PIPE: Final[int]
UV_POLL: Final[int]
UV_PREPARE: Final[int]
UV_PROCESS: Final[int]
UV_STREAM: Final[int]
UV_TCP: Final[int]
UV_TIMER: Final[int]
UV_TTY: Final[int]
UV_UDP: Final[int]
UV_SIGNAL: Final[int]
UV_FILE: Final[int]

UV_TCP_IPV6ONLY: Final[int]
UV_TCP_REUSEPORT: Final[int]

UV_UDP_IPV6ONLY: Final[int]
UV_UDP_PARTIAL: Final[int]
UV_UDP_REUSEADDR: Final[int]
UV_UDP_REUSEPORT: Final[int]
UV_JOIN_GROUP: Final[int]
UV_LEAVE_GROUP: Final[int]

UV_READABLE: Final[int]
UV_WRITABLE: Final[int]
UV_DISCONNECT: Final[int]
UV_PRIORITIZED: Final[int]

# errors.pyx

def _errno_table() -> dict[str, int]: ...
def strerror(code: int) -> str: ...

# loop.pyx

@final
class WorkRequest:
    """A function queued on libuv's thread pool by ``Loop.queue_work``."""

    def cancel(self) -> bool: ...
    @property
    def active(self) -> bool: ...

@disjoint_base
class Loop:
    """An event loop. ``Loop()`` makes a new one, ``Loop.default_loop()`` the shared one."""

    # Called with each exception a callback raised (prints it by default). Assign another
    # three-argument function to it, or override it in a subclass.
    excepthook: _ExceptHook
    def __init__(self) -> None: ...
    @classmethod
    def default_loop(cls) -> Loop: ...
    def run(self, mode: int = ...) -> bool: ...
    def stop(self) -> None: ...
    def now(self) -> int: ...
    def time(self) -> float: ...
    def update_time(self) -> None: ...
    def fileno(self) -> int: ...
    def get_timeout(self) -> int: ...
    @property
    def alive(self) -> bool: ...
    @property
    def running(self) -> bool: ...
    @property
    def handles(self) -> list[Handle]: ...
    @property
    def default(self) -> bool: ...
    def fork(self) -> None: ...
    def queue_work(
        self,
        work_callback: Callable[[], object],
        done_callback: Callable[[int | None], object] | None = None,
    ) -> WorkRequest: ...

# handles/handle.pyx

@disjoint_base
class Handle:
    """Base class of all handles: ``close``, ``closed``, ``active``, ``ref``, ``loop``."""

    @property
    def loop(self) -> Loop: ...
    def close(self, callback: Callable[[Self], object] | None = None) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def active(self) -> bool: ...
    @property
    def ref(self) -> bool: ...
    @ref.setter
    def ref(self, value: bool) -> None: ...
    def fileno(self) -> int: ...
    @property
    def send_buffer_size(self) -> int: ...
    @send_buffer_size.setter
    def send_buffer_size(self, value: int) -> None: ...
    @property
    def receive_buffer_size(self) -> int: ...
    @receive_buffer_size.setter
    def receive_buffer_size(self, value: int) -> None: ...

# handles/stream.pyx

@disjoint_base
class Stream(Handle):
    """Base of TCP and Pipe: reading, writing, shutdown, listen/accept."""

    def listen(
        self, callback: Callable[[Self, int | None], object], backlog: int = 511
    ) -> None: ...
    def accept(self, client: Stream) -> None: ...
    def start_read(self, callback: Callable[[Self, bytes | None, int | None], object]) -> None: ...
    def stop_read(self) -> None: ...
    def write(
        self, data: _Data, callback: Callable[[Self, int | None], object] | None = None
    ) -> None: ...
    def try_write(self, data: _Data) -> int: ...
    def shutdown(self, callback: Callable[[Self, int | None], object] | None = None) -> None: ...
    def set_blocking(self, blocking: bool) -> None: ...
    @property
    def readable(self) -> bool: ...
    @property
    def writable(self) -> bool: ...
    @property
    def write_queue_size(self) -> int: ...

# handles/tcp.pyx

@disjoint_base
class TCP(Stream):
    """A TCP handle: ``TCP(loop, family=socket.AF_UNSPEC)``."""

    def __init__(self, loop: Loop, family: int = ...) -> None: ...
    @property
    def family(self) -> int: ...
    def bind(self, address: _AddressIn, flags: int = 0) -> None: ...
    def connect(
        self, address: _AddressIn, callback: Callable[[Self, int | None], object] | None = None
    ) -> None: ...
    def open(self, fd: int) -> None: ...
    def getsockname(self) -> _Address: ...
    def getpeername(self) -> _Address: ...
    def nodelay(self, enable: bool) -> None: ...
    def keepalive(self, enable: bool, delay: int = 60) -> None: ...
    def simultaneous_accepts(self, enable: bool) -> None: ...
    def close_reset(self, callback: Callable[[Self], object] | None = None) -> None: ...

# handles/pipe.pyx

@disjoint_base
class Pipe(Stream):
    """A Unix domain socket: ``Pipe(loop, ipc=False)``."""

    def __init__(self, loop: Loop, ipc: bool = False) -> None: ...
    @property
    def ipc(self) -> bool: ...
    def bind(self, name: str | bytes) -> None: ...
    def connect(
        self, name: str | bytes, callback: Callable[[Self, int | None], object] | None = None
    ) -> None: ...
    def open(self, fd: int) -> None: ...
    def pending_instances(self, count: int) -> None: ...
    def pending_count(self) -> int: ...
    def pending_handle_type(self) -> int: ...
    def accept(self, client: Handle) -> None: ...
    def write(
        self,
        data: _Data,
        callback: Callable[[Self, int | None], object] | None = None,
        send_handle: Handle | None = None,
    ) -> None: ...
    def chmod(self, flags: int) -> None: ...
    def getsockname(self) -> str: ...
    def getpeername(self) -> str: ...

# handles/udp.pyx

@disjoint_base
class UDP(Handle):
    """A UDP socket: ``UDP(loop, family=socket.AF_UNSPEC, *, recvmmsg=False)``.

    ``recvmmsg=True`` reads up to 20 waiting datagrams per system call: fewer calls under
    a sustained flood, but every datagram of a batch waits for the whole batch to be read,
    which costs latency (and, for a few datagrams in flight, throughput) otherwise.
    """

    def __init__(self, loop: Loop, family: int = ..., *, recvmmsg: bool = False) -> None: ...
    @property
    def family(self) -> int: ...
    def bind(self, address: _AddressIn, flags: int = 0) -> None: ...
    def connect(self, address: _AddressIn | None) -> None: ...
    def open(self, fd: int) -> None: ...
    def getsockname(self) -> _Address: ...
    def getpeername(self) -> _Address: ...
    # callback(handle, address, flags, data, error): on an error, address and data are
    # None and flags is 0; otherwise error is None and flags may hold UV_UDP_PARTIAL.
    def start_recv(
        self,
        callback: Callable[[Self, _Address | None, int, bytes | None, int | None], object],
    ) -> None: ...
    def stop_recv(self) -> None: ...
    def send(
        self,
        address: _AddressIn | None,
        data: _Data,
        callback: Callable[[Self, int | None], object] | None = None,
    ) -> None: ...
    def try_send(self, address: _AddressIn | None, data: _Data) -> int: ...
    def set_membership(
        self, multicast_address: str, membership: int, interface: str | None = None
    ) -> None: ...
    def set_multicast_ttl(self, ttl: int) -> None: ...
    def set_multicast_loop(self, enable: bool) -> None: ...
    def set_broadcast(self, enable: bool) -> None: ...
    def set_ttl(self, ttl: int) -> None: ...
    def set_multicast_interface(self, interface: str | None = None) -> None: ...
    @property
    def send_queue_size(self) -> int: ...
    @property
    def send_queue_count(self) -> int: ...
    @property
    def using_recvmmsg(self) -> bool: ...

# handles/timer.pyx

@disjoint_base
class Timer(Handle):
    """A timer: ``start(callback, timeout, repeat=0.0)``, in seconds; ``callback(timer)``."""

    def __init__(self, loop: Loop) -> None: ...
    def start(
        self, callback: Callable[[Self], object], timeout: float, repeat: float = 0.0
    ) -> None: ...
    def stop(self) -> None: ...
    def again(self) -> None: ...
    @property
    def repeat(self) -> float: ...
    @repeat.setter
    def repeat(self, value: float) -> None: ...
    @property
    def due_in(self) -> float: ...

# handles/async_.pyx

@disjoint_base
class Async(Handle):
    """``Async(loop, callback)``: ``send()`` from any thread makes the loop call
    ``callback(handle)``."""

    def __init__(self, loop: Loop, callback: Callable[[Self], object] | None = None) -> None: ...
    def send(self) -> None: ...

# handles/watcher.pyx, idle.pyx, prepare.pyx, check.pyx

@disjoint_base
class _Watcher(Handle):
    def start(self, callback: Callable[[Self], object]) -> None: ...
    def stop(self) -> None: ...

class Idle(_Watcher):
    def __init__(self, loop: Loop) -> None: ...

class Prepare(_Watcher):
    def __init__(self, loop: Loop) -> None: ...

class Check(_Watcher):
    def __init__(self, loop: Loop) -> None: ...

# handles/signal.pyx

@disjoint_base
class Signal(Handle):
    """``Signal(loop)``: ``start(callback, signum)`` calls ``callback(handle, signum)``."""

    def __init__(self, loop: Loop) -> None: ...
    def start(self, callback: Callable[[Self, int], object], signum: int) -> None: ...
    def start_oneshot(self, callback: Callable[[Self, int], object], signum: int) -> None: ...
    def stop(self) -> None: ...
    @property
    def signum(self) -> int: ...

# handles/poll.pyx

@disjoint_base
class Poll(Handle):
    """``Poll(loop, fd)``: ``start(events, callback)``; ``callback(handle, events, error)``."""

    def __init__(self, loop: Loop, fd: int) -> None: ...
    def start(self, events: int, callback: Callable[[Self, int, int | None], object]) -> None: ...
    def stop(self) -> None: ...

# dns.pyx

class AddrinfoResult(NamedTuple):
    family: int
    socktype: int
    proto: int
    canonname: str
    sockaddr: _Address

class NameinfoResult(NamedTuple):
    host: str
    service: str

@disjoint_base
class DNSRequest:
    """A pending getaddrinfo/getnameinfo; ``cancel()`` stops it if it has not started."""

    def cancel(self) -> bool: ...
    @property
    def active(self) -> bool: ...

_Host: TypeAlias = str | bytes | None
_Port: TypeAlias = int | str | bytes | None
_AddrinfoCallback: TypeAlias = Callable[[list[AddrinfoResult] | None, int | None], object]
_NameinfoCallback: TypeAlias = Callable[[NameinfoResult | None, int | None], object]

@overload
def getaddrinfo(
    loop: Loop,
    host: _Host,
    port: _Port = None,
    family: int = 0,
    socktype: int = 0,
    protocol: int = 0,
    flags: int = 0,
    callback: None = None,
) -> list[AddrinfoResult]: ...
@overload
def getaddrinfo(
    loop: Loop,
    host: _Host,
    port: _Port = None,
    family: int = 0,
    socktype: int = 0,
    protocol: int = 0,
    flags: int = 0,
    *,
    callback: _AddrinfoCallback,
) -> DNSRequest: ...
@overload
def getaddrinfo(
    loop: Loop,
    host: _Host,
    port: _Port,
    family: int,
    socktype: int,
    protocol: int,
    flags: int,
    callback: _AddrinfoCallback,
) -> DNSRequest: ...
@overload
def getnameinfo(
    loop: Loop, address: _AddressIn, flags: int = 0, callback: None = None
) -> NameinfoResult: ...
@overload
def getnameinfo(
    loop: Loop, address: _AddressIn, flags: int = 0, *, callback: _NameinfoCallback
) -> DNSRequest: ...
@overload
def getnameinfo(
    loop: Loop, address: _AddressIn, flags: int, callback: _NameinfoCallback
) -> DNSRequest: ...

# util.pyx

class InterfaceAddress(NamedTuple):
    name: str
    is_internal: bool
    address: str | None
    netmask: str | None
    mac: str

class CPUTimes(NamedTuple):
    sys: int
    user: int
    idle: int
    irq: int
    nice: int

class CPUInfo(NamedTuple):
    model: str
    speed: int
    times: CPUTimes

class RUsage(NamedTuple):
    ru_utime: float
    ru_stime: float
    ru_maxrss: int
    ru_ixrss: int
    ru_idrss: int
    ru_isrss: int
    ru_minflt: int
    ru_majflt: int
    ru_nswap: int
    ru_inblock: int
    ru_oublock: int
    ru_msgsnd: int
    ru_msgrcv: int
    ru_nsignals: int
    ru_nvcsw: int
    ru_nivcsw: int

class _DebugCounters(TypedDict):
    handles: dict[str, int]
    requests: dict[str, int]

def hrtime() -> int: ...
def get_free_memory() -> int: ...
def get_total_memory() -> int: ...
def get_constrained_memory() -> int: ...
def get_available_memory() -> int: ...
def loadavg() -> tuple[float, float, float]: ...
def uptime() -> float: ...
def resident_set_memory() -> int: ...
def available_parallelism() -> int: ...
def interface_addresses() -> list[InterfaceAddress]: ...
def cpu_info() -> list[CPUInfo]: ...
def getrusage() -> RUsage: ...
def guess_handle_type(fd: int) -> int: ...
def debug_counters() -> _DebugCounters | None: ...

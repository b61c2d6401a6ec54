"""Exceptions raised by sourcey.uv, with pyuv 1.4's names and hierarchy.

Every one is a ``UVError``, a subclass of ``OSError`` whose ``args`` are
``(code, message)``: ``code`` is the libuv error code (negative, compare it with
``sourcey.uv.errno.UV_*``) and ``message`` is libuv's text for it.
"""


class UVError(OSError):
    """Base of every sourcey.uv error: ``args == (code, message)``."""


class ThreadError(UVError):
    """A loop or handle was used from a thread other than the one running its loop."""


class HandleError(UVError):
    """Base of the handle errors."""


class HandleClosedError(HandleError):
    """The handle is closing or closed."""


class StreamError(HandleError):
    """Base of the stream (TCP, Pipe, TTY) errors."""


class AsyncError(HandleError):
    pass


class CheckError(HandleError):
    pass


class IdleError(HandleError):
    pass


class PrepareError(HandleError):
    pass


class PollError(HandleError):
    pass


class SignalError(HandleError):
    pass


class TimerError(HandleError):
    pass


class UDPError(HandleError):
    pass


class TCPError(StreamError):
    pass


class PipeError(StreamError):
    pass


class TTYError(StreamError):
    pass


class DNSError(UVError):
    pass


class LoopError(UVError):
    """A failure of the loop itself (running it twice, closing it while busy)."""


class ThreadPoolError(UVError):
    pass


class FSError(UVError):
    pass


class FSEventError(HandleError):
    pass


class FSPollError(HandleError):
    pass


class ProcessError(HandleError):
    pass

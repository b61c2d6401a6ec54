"""errno and error: libuv's codes, their names and messages, and the exception
hierarchy (pyuv 1.4's names; every exception an OSError with args == (code, message))."""

import errno as std_errno
import pickle

import pytest

from sourcey import uv
from sourcey.uv import errno as uv_errno
from sourcey.uv import error


def test_common_codes_exist_and_are_negative():
    for name in ("UV_EOF", "UV_ECONNREFUSED", "UV_ECONNRESET", "UV_EAGAIN", "UV_EADDRINUSE",
                 "UV_EBADF", "UV_EINVAL", "UV_ENOENT", "UV_EPIPE", "UV_ECANCELED",
                 "UV_EMSGSIZE", "UV_ENOTCONN", "UV_ETIMEDOUT", "UV_EAI_NONAME",
                 "UV_EAI_AGAIN", "UV_EAI_CANCELED"):
        code = getattr(uv_errno, name)
        assert isinstance(code, int) and code < 0, name
        assert name in uv_errno.__all__
    assert uv_errno.UV_EOF == -4095


def test_unix_codes_are_negated_errno_values():
    for name in ("ECONNREFUSED", "ECONNRESET", "EAGAIN", "EADDRINUSE", "EBADF", "EINVAL",
                 "ENOENT", "EPIPE", "EMSGSIZE", "ENOTCONN", "ETIMEDOUT", "EACCES"):
        assert getattr(uv_errno, "UV_" + name) == -getattr(std_errno, name), name


def test_errorcode_maps_codes_back_to_names():
    assert uv_errno.errorcode[uv_errno.UV_EOF] == "UV_EOF"
    assert uv_errno.errorcode[uv_errno.UV_ECONNREFUSED] == "UV_ECONNREFUSED"
    assert len(uv_errno.errorcode) > 70
    for code, name in uv_errno.errorcode.items():
        assert name.startswith("UV_")
        assert getattr(uv_errno, name) == code
    names = [n for n in dir(uv_errno) if n.startswith("UV_")]
    assert sorted(names) == sorted(uv_errno.errorcode.values())


def test_strerror():
    assert uv_errno.strerror(uv_errno.UV_EOF) == "end of file"
    assert uv_errno.strerror(uv_errno.UV_ECONNREFUSED) == "connection refused"
    assert uv_errno.strerror(uv_errno.UV_EAGAIN) == "resource temporarily unavailable"
    for code in uv_errno.errorcode:
        text = uv_errno.strerror(code)
        assert isinstance(text, str) and text
    assert "-123456" in uv_errno.strerror(-123456)       # unknown: says so, no crash
    with pytest.raises(TypeError):
        uv_errno.strerror("UV_EOF")
    with pytest.raises((TypeError, OverflowError)):
        uv_errno.strerror(1 << 80)


HIERARCHY = {
    "UVError": OSError,
    "ThreadError": "UVError",
    "HandleError": "UVError",
    "HandleClosedError": "HandleError",
    "StreamError": "HandleError",
    "TCPError": "StreamError",
    "PipeError": "StreamError",
    "TTYError": "StreamError",
    "UDPError": "HandleError",
    "AsyncError": "HandleError",
    "CheckError": "HandleError",
    "IdleError": "HandleError",
    "PrepareError": "HandleError",
    "PollError": "HandleError",
    "SignalError": "HandleError",
    "TimerError": "HandleError",
    "FSEventError": "HandleError",
    "FSPollError": "HandleError",
    "ProcessError": "HandleError",
    "DNSError": "UVError",
    "FSError": "UVError",
}


@pytest.mark.parametrize("name", sorted(HIERARCHY))
def test_exception_hierarchy(name):
    cls = getattr(error, name)
    parent = HIERARCHY[name]
    parent = parent if isinstance(parent, type) else getattr(error, parent)
    assert cls.__bases__ == (parent,)
    assert issubclass(cls, error.UVError) and issubclass(cls, OSError)


def test_the_stream_chain():
    assert error.TCPError.__mro__[:5] == (error.TCPError, error.StreamError,
                                          error.HandleError, error.UVError, OSError)
    assert issubclass(error.HandleClosedError, error.HandleError)
    assert not issubclass(error.HandleClosedError, error.StreamError)


def test_uverror_is_an_oserror_with_code_and_message():
    exc = error.TCPError(uv_errno.UV_ECONNREFUSED, "connection refused")
    assert exc.args == (uv_errno.UV_ECONNREFUSED, "connection refused")
    assert exc.errno == uv_errno.UV_ECONNREFUSED
    assert exc.strerror == "connection refused"
    assert type(exc) is error.TCPError        # not remapped to ConnectionRefusedError
    assert "connection refused" in str(exc)
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is error.TCPError and copy.args == exc.args


def test_raised_errors_carry_code_and_libuv_message(loop, runner):
    first = uv.TCP(loop)
    first.bind(("127.0.0.1", 0))
    first.listen(lambda s, e: None)
    second = uv.TCP(loop)
    try:
        with pytest.raises(OSError) as info:
            second.bind(first.getsockname())
            second.listen(lambda s, e: None)
        exc = info.value
        assert type(exc) is error.TCPError
        assert exc.args == (uv_errno.UV_EADDRINUSE, uv_errno.strerror(uv_errno.UV_EADDRINUSE))
        assert exc.errno == uv_errno.UV_EADDRINUSE
    finally:
        first.close()
        second.close()
        runner.run(loop)
    with pytest.raises(error.HandleClosedError) as info:
        first.getsockname()
    assert info.value.args[0] == uv_errno.UV_EBADF
    assert isinstance(info.value.args[1], str)

# libuv error codes to pyuv's exceptions: cls(code, message).

cdef object _strerror(int code):
    cdef char buf[256]
    uv.uv_strerror_r(code, buf, sizeof(buf))
    return buf.decode("utf-8", "replace")


cdef object _make_error(object cls, int code):
    return cls(code, _strerror(code))


cdef int _check_callable(object fn, str what) except -1:
    if not callable(fn):
        raise TypeError(f"{what} must be callable, not {type(fn).__name__}")
    return 0


cdef void _print_unraisable(BaseException exc, str where) noexcept:
    try:
        sys.stderr.write(f"Exception ignored {where}:\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    except BaseException:
        pass


cdef int _check_range(long value, long low, long high, str what) except -1:
    if not low <= value <= high:
        raise ValueError(f"{what} must be {low}-{high}, not {value}")
    return 0


def _errno_table():
    """{name: code} for every error code libuv names, e.g. {"UV_EOF": -4095}."""
    cdef char buf[64]
    cdef int code
    table = {}
    for code in range(-1, -4200, -1):
        uv.uv_err_name_r(code, buf, sizeof(buf))
        name = buf.decode("ascii", "replace")
        if not name.startswith("Unknown"):
            table["UV_" + name] = code
    return table


def strerror(int code):
    """libuv's message for an error code."""
    return _strerror(code)

"""libuv's error codes: ``UV_*`` constants, ``errorcode`` ({code: name}) and
``strerror(code)``, as ``pyuv.errno``. The codes are read from the compiled libuv."""

from ._core import _errno_table, strerror

errorcode: dict[int, str] = {}
for _name, _code in _errno_table().items():
    globals()[_name] = _code
    errorcode[_code] = _name
del _name, _code

__all__ = ["errorcode", "strerror", *errorcode.values()]


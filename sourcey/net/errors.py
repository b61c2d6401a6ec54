"""libuv error codes as the ordinary exceptions Python code expects."""

from __future__ import annotations

import socket

from sourcey import uv


class PeerClosedError(ConnectionError):
    """The peer closed its side of the connection (end of stream). An orderly FIN has no
    errno; a reset is ConnectionResetError instead."""

    def __init__(self, message: str = "the peer closed the connection") -> None:
        super().__init__(message)


_EAI = {code: getattr(socket, name[3:], None)
        for code, name in uv.errno.errorcode.items() if name.startswith("UV_EAI_")}


def error_from_code(code: int) -> OSError:
    """An OSError subclass for a libuv error code: ConnectionRefusedError,
    ConnectionResetError, TimeoutError, BrokenPipeError, socket.gaierror, ..."""
    message = uv.errno.strerror(code)
    if code == uv.errno.UV_EOF:
        return PeerClosedError()
    if code in _EAI:
        eai = _EAI[code]
        return socket.gaierror(eai if eai is not None else code, message)
    if code < 0 and -code < 4096:
        return OSError(-code, message)  # OSError picks the subclass from errno
    return OSError(code, message)

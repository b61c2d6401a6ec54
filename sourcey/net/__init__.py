"""sourcey.net: LibSourcey's socket layer — sockets with signals, on sourcey.uv.

``TCPSocket``, ``SSLSocket`` and ``UDPSocket`` share one face (``Socket``): connect,
bind/listen, send, close, addresses, and the signals Connect, Recv, Error and Close.
Protocols sit between a socket and the user as ``SocketAdapter``s.
"""

from ._net import Socket, TCPSocket, UDPSocket
from .adapter import SocketAdapter
from .address import Address, resolve
from .errors import PeerClosedError, error_from_code
from .server import SSLServer, TCPServer
from .ssl import SSLSocket

__all__ = [
    "Address", "PeerClosedError", "SSLServer", "SSLSocket", "Socket", "SocketAdapter",
    "TCPServer", "TCPSocket", "UDPSocket",
    "error_from_code", "resolve",
]

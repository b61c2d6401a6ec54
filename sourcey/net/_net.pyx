# cython: language_level=3
# sourcey.net._net: Socket, TCPSocket and UDPSocket (one file each, included here so they
# share one module).


from sourcey import uv
from sourcey.net.address import Address, resolve
from sourcey.net.adapter import add_receiver, remove_receiver, replace_adapter
from sourcey.net.errors import error_from_code

include "socket.pyx"
include "tcp.pyx"
include "udp.pyx"

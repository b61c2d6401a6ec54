# UDPSocket: datagrams with signals.


cdef class UDPSocket(Socket):
    """A UDP socket with signals: ``bind`` then ``Recv(socket, data, peer)`` per
    datagram; ``send(data, address)``. ``connect`` fixes a default peer."""

    transport = "UDP"

    def __init__(self, Loop loop=None):
        Socket.__init__(self, loop)
        self._udp = uv.UDP(self.loop)

    def bind(self, host, port=None, *, reuseaddr=False, ipv6only=False):
        """Bind and start receiving."""
        address = Address.parse(host, port)
        if not address.is_ip:
            raise ValueError(f"bind takes an IP address, not {address.host!r}")
        if self._state != NEW:
            raise OSError(22, f"{type(self).__name__} is already {self!r}")  # EINVAL
        flags = ((uv.UV_UDP_REUSEADDR if reuseaddr else 0)
                 | (uv.UV_UDP_IPV6ONLY if ipv6only else 0))
        try:
            self._udp.bind(address, flags)
            self._udp.start_recv(self._received)
        except uv.error.UVError as exc:
            raise error_from_code(exc.args[0]) from None
        self._state = OPEN

    def connect(self, host, port=None):
        """Fix the default peer (an IP address) for ``send(data)``; emits Connect."""
        address = Address.parse(host, port)
        if not address.is_ip:
            raise ValueError(f"UDPSocket.connect takes an IP address, not {address.host!r}")
        try:
            self._udp.connect(address)
            if self._state == NEW:
                self._udp.start_recv(self._received)
        except uv.error.UVError as exc:
            raise error_from_code(exc.args[0]) from None
        self._state = OPEN
        _emit_to(self.Connect, (self,))

    def _received(self, handle, peer, flags, data, code):
        if code is not None:
            self._fail(error_from_code(code))
            return
        if peer is not self._last_tuple:
            self._last_tuple = peer
            self._last_peer = Address(peer[0], peer[1])
        _emit_to(self.Recv, (self, data, self._last_peer))

    def send(self, data, peer=None):
        """Send one datagram to ``peer`` (an Address or (ip, port); None: the connected
        peer). An oversized datagram is a failure: Error, then Close."""
        if self._state >= CLOSING:
            self._fail(BrokenPipeError(32, f"send on a {self!r}"))  # EPIPE
            return False
        if peer is self._last_peer:
            peer = self._last_tuple     # the tuple sourcey.uv handed out: no parsing
        elif peer is not None and type(peer) is not Address:
            peer = Address.parse(peer)
        try:
            self._udp.send(peer, data)
            if self._state == NEW:
                # The send bound the socket to an ephemeral port: replies are received.
                self._udp.start_recv(self._received)
                self._state = OPEN
        except uv.error.UVError as exc:
            self._fail(error_from_code(exc.args[0]))
            return False
        return True

    @property
    def address(self):
        try:
            return Address(*self._udp.getsockname()[:2])
        except uv.error.UVError:
            return None

    @property
    def peer_address(self):
        try:
            return Address(*self._udp.getpeername()[:2])
        except uv.error.UVError:
            return None

    def set_broadcast(self, bint enable=True):
        self._udp.set_broadcast(enable)

    def fileno(self):
        return self._udp.fileno()

    def close(self):
        if self._state >= CLOSING:
            return
        self._state = CLOSING
        self._udp.close(self._udp_closed)

    def _udp_closed(self, handle):
        self._closed()

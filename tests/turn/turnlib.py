"""Shared pieces of the sourcey.turn server tests: the test realm and users, and a UDP
peer that records what it receives."""

from sourcey.net import UDPSocket

REALM = "sourcey.test"
USERS = {"alice": "pw", "bob": "pw2"}


class Peer:
    """A UDP peer on 127.0.0.1 (or ``host``) recording what it receives."""

    def __init__(self, loop, runner, host="127.0.0.1"):
        self.loop, self.runner = loop, runner
        self.received = []
        self.closed = []
        self.sock = UDPSocket(loop)
        self.sock.bind(host, 0)
        self.address = self.sock.address
        self.sock.Recv += lambda s, data, peer: self.received.append((data, peer))
        self.sock.Close += lambda s: self.closed.append(True)

    def close(self):
        self.sock.close()
        self.runner.until(self.loop, lambda: self.closed, timeout=5)

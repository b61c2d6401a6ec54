"""TurnClient against our TurnServer on 127.0.0.1 (UDP and TCP), and against a fake
server for retransmissions and timeouts."""

import pytest

from sourcey import stun, turn
from sourcey.net import UDPSocket

REALM = "sourcey.test"


@pytest.fixture
def server(loop, runner):
    srv = turn.TurnServer(loop, realm=REALM,
                          credentials=turn.StaticCredentials({"alice": "pw"}),
                          relay_hosts=["127.0.0.1"], allowed_peers=["127.0.0.0/8"])
    yield srv
    srv.close()
    runner.run(loop)


class Peer:
    def __init__(self, loop):
        self.received = []
        self.closed = []
        self.sock = UDPSocket(loop)
        self.sock.bind("127.0.0.1", 0)
        self.address = self.sock.address
        self.sock.Recv += lambda s, data, peer: self.received.append((data, peer))
        self.sock.Close += lambda s: self.closed.append(True)


@pytest.fixture
def peer(loop, runner):
    p = Peer(loop)
    yield p
    p.sock.close()
    runner.until(loop, lambda: p.closed, timeout=5)


def watch(client):
    ev = {"allocated": [], "recv": [], "errors": [], "closed": []}
    client.Allocated += lambda c, relayed: ev["allocated"].append(relayed)
    client.Recv += lambda c, data, peer: ev["recv"].append((data, peer))
    client.Error += lambda c, exc: ev["errors"].append(exc)
    client.Close += lambda c: ev["closed"].append(True)
    return ev


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_allocate_send_receive_close(loop, runner, server, peer, transport):
    address = server.listen("127.0.0.1", 0, transport=transport)
    client = turn.TurnClient(loop, address, "alice", "pw", transport=transport)
    ev = watch(client)
    client.allocate()
    runner.until(loop, lambda: ev["allocated"] or ev["errors"], timeout=5)
    assert not ev["errors"]
    relayed = ev["allocated"][0]
    assert client.relayed == relayed and len(server.table) == 1

    done = []
    client.create_permission(peer.address, callback=lambda r, e: done.append(e))
    runner.until(loop, lambda: done, timeout=5)
    assert done == [None]
    client.send(b"by indication", peer.address)
    runner.until(loop, lambda: peer.received, timeout=5)
    assert peer.received[-1] == (b"by indication", relayed)
    peer.sock.send(b"back by indication", relayed)
    runner.until(loop, lambda: ev["recv"], timeout=5)
    assert ev["recv"][-1] == (b"back by indication", peer.address)

    bound = []
    channel = client.bind_channel(peer.address, callback=lambda r, e: bound.append(e))
    runner.until(loop, lambda: bound, timeout=5)
    assert bound == [None] and 0x4000 <= channel <= 0x7FFF
    client.send(b"by channel", peer.address)
    runner.until(loop, lambda: len(peer.received) == 2, timeout=5)
    assert peer.received[-1] == (b"by channel", relayed)
    before = server.stats["to_client"]
    peer.sock.send(b"back by channel", relayed)
    runner.until(loop, lambda: len(ev["recv"]) == 2, timeout=5)
    assert ev["recv"][-1] == (b"back by channel", peer.address)
    assert server.stats["to_client"] == before + 1

    client.close()
    runner.until(loop, lambda: ev["closed"], timeout=5)
    assert len(server.table) == 0 and not ev["errors"]


def test_wrong_password_is_an_error(loop, runner, server):
    client = turn.TurnClient(loop, server.listen("127.0.0.1", 0), "alice", "nope")
    ev = watch(client)
    client.allocate()
    runner.until(loop, lambda: ev["closed"], timeout=5)
    assert isinstance(ev["errors"][0], turn.TurnError) and ev["errors"][0].code == 401
    assert not ev["allocated"]


class FakeServer:
    """Receives requests; answers a request's ``answer_on``-th copy (0: never)."""

    def __init__(self, loop, answer_on):
        self.copies = {}
        self.closed = []
        self.sock = UDPSocket(loop)
        self.sock.bind("127.0.0.1", 0)
        self.address = self.sock.address
        self.sock.Close += lambda s: self.closed.append(True)

        def received(s, data, peer):
            msg = stun.decode(data)
            n = self.copies[msg.transaction_id] = self.copies.get(msg.transaction_id, 0) + 1
            if n == answer_on:
                s.send(msg.response().add(stun.XOR_MAPPED_ADDRESS, peer).encode(), peer)

        self.sock.Recv += received


def test_retransmission(loop, runner):
    fake = FakeServer(loop, answer_on=3)
    client = turn.TurnClient(loop, fake.address, "u", "p", rto=0.01)
    answers = []
    try:
        client.request(stun.Message(stun.BINDING), lambda r, e: answers.append((r, e)))
        runner.until(loop, lambda: answers, timeout=5)
        reply, error = answers[0]
        assert error is None and reply.cls == stun.SUCCESS
        # Answered on the third copy (a fourth may have left already on a slow machine).
        assert len(fake.copies) == 1 and list(fake.copies.values())[0] >= 3
        assert len(answers) == 1
    finally:
        client.close()
        fake.sock.close()
        runner.until(loop, lambda: fake.closed, timeout=5)
        runner.run(loop)


def test_timeout_after_seven_sends(loop, runner):
    fake = FakeServer(loop, answer_on=0)
    client = turn.TurnClient(loop, fake.address, "u", "p", rto=0.001)
    answers = []
    try:
        client.request(stun.Message(stun.BINDING), lambda r, e: answers.append((r, e)))
        runner.until(loop, lambda: answers, timeout=5)
        assert answers[0][0] is None and isinstance(answers[0][1], TimeoutError)
        # Every copy was sent before the give-up; wait for the last to be read.
        runner.until(loop, lambda: sum(fake.copies.values()) >= 7, timeout=5)
        assert list(fake.copies.values()) == [7]
    finally:
        client.close()
        fake.sock.close()
        runner.until(loop, lambda: fake.closed, timeout=5)
        runner.run(loop)


def test_bad_transport():
    with pytest.raises(ValueError):
        turn.TurnClient(None, ("127.0.0.1", 1), "u", "p", transport="sctp")


def test_over_tls(loop, runner, server, peer):
    import ssl

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    address = server.listen("127.0.0.1", 0, transport="tls", context=server_ctx)
    client = turn.TurnClient(loop, address, "alice", "pw", transport="tls",
                             context=client_ctx)
    ev = watch(client)
    client.allocate()
    runner.until(loop, lambda: ev["allocated"] or ev["errors"], timeout=5)
    assert not ev["errors"]
    relayed = ev["allocated"][0]
    assert next(iter(server.table)).five_tuple[0] == "tls"
    bound = []
    client.bind_channel(peer.address, callback=lambda r, e: bound.append(e))
    runner.until(loop, lambda: bound, timeout=5)
    client.send(b"over tls", peer.address)
    runner.until(loop, lambda: peer.received, timeout=5)
    peer.sock.send(b"back", relayed)
    runner.until(loop, lambda: ev["recv"], timeout=5)
    assert peer.received == [(b"over tls", relayed)]
    assert ev["recv"] == [(b"back", peer.address)]
    client.close()
    runner.until(loop, lambda: ev["closed"], timeout=5)
    assert len(server.table) == 0

"""The relay hot path in C (sourcey.turn._relay): ChannelData, Send and Data
indications of UDP clients are forwarded by the receive hooks of the server's UDP
handles. The server's Python counters (``_stats``) stay at zero for what C forwards,
which is how these tests see that no Python ran per datagram."""

import pytest
from test_turn_server import Client, error_code
from turnlib import Peer

from sourcey import stun, turn, uv
from sourcey.net import UDPSocket
from sourcey.turn import allocation
from sourcey.turn._relay import RelayTable


@pytest.fixture
def udp_client(loop, runner, make_server):
    srv = make_server()
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    c.server = srv
    yield c
    c.close()


def python_forwarded(srv):
    return srv._stats["to_peer"] + srv._stats["to_client"]


def wait(loop, runner, seconds):
    """Run the loop until a timer of ``seconds`` fires (lifetimes shortened by a test
    pass on the loop's clock)."""
    fired = []
    timer = uv.Timer(loop)
    timer.start(lambda t: fired.append(True), seconds, 0)
    try:
        runner.until(loop, lambda: fired, timeout=5 + seconds)
    finally:
        timer.close()


def slot_of(srv):
    (alloc,) = list(srv.table)
    return alloc.slot


def test_channel_data_both_ways_in_c(loop, runner, udp_client, peer):
    c, srv = udp_client, udp_client.server
    relayed = c.allocate()
    assert c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4002),
                     (stun.XOR_PEER_ADDRESS, peer.address)).cls == stun.SUCCESS
    assert slot_of(srv) >= 0
    payloads = [b"", b"a", b"abcde", bytes(range(256)) * 4]
    for payload in payloads:
        c.send(turn.encode_channel_data(0x4002, payload))
    # Padding after the payload is optional over UDP, and ignored.
    c.send(turn.encode_channel_data(0x4002, b"pad", pad=True))
    runner.until(loop, lambda: len(peer.received) == 5, timeout=5)
    assert [d for d, _ in peer.received] == [*payloads, b"pad"]
    assert all(src == relayed for _, src in peer.received)
    for payload in payloads:
        peer.sock.send(payload, relayed)
    runner.until(loop, lambda: len(c.channel_data) == 4, timeout=5)
    assert c.channel_data == [(0x4002, p) for p in payloads]
    stats = srv.stats
    assert stats["c_forwarded"] == 9 and stats["to_peer"] == 5 and stats["to_client"] == 4
    assert python_forwarded(srv) == 0


@pytest.mark.parametrize("size", [0, 1, 5, 100, 1203])
def test_send_and_data_indications_in_c(loop, runner, udp_client, peer, size):
    c, srv = udp_client, udp_client.server
    relayed = c.allocate()
    c.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, peer.address))
    payload = bytes(i % 251 for i in range(size))
    send = stun.Message(stun.SEND, stun.INDICATION).add(
        stun.XOR_PEER_ADDRESS, peer.address).add(stun.DATA_ATTR, payload)
    c.send(send.encode(fingerprint=True))
    runner.until(loop, lambda: peer.received, timeout=5)
    assert peer.received == [(payload, relayed)]
    peer.sock.send(payload, relayed)
    peer.sock.send(payload, relayed)
    runner.until(loop, lambda: len(c.indications) == 2, timeout=5)
    first, second = c.indications
    for data in (first, second):
        assert (data.method, data.cls) == (stun.DATA, stun.INDICATION)
        assert data.get(stun.XOR_PEER_ADDRESS) == peer.address
        assert data.get(stun.DATA_ATTR) == payload
    assert first.transaction_id != second.transaction_id
    assert srv.stats["c_forwarded"] == 3 and python_forwarded(srv) == 0


def test_a_peer_without_permission_is_dropped_in_c(loop, runner, udp_client, peer):
    c, srv = udp_client, udp_client.server
    relayed = c.allocate()
    c.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, peer.address))
    stranger = UDPSocket(loop)
    closed = []
    stranger.Close += lambda s: closed.append(True)
    try:
        stranger.bind("127.0.0.2", 0)     # permissions go by IP: another IP has none
        stranger.send(b"let me in", relayed)
        runner.until(loop, lambda: srv.stats["c_dropped"] == 1, timeout=5)
        # ChannelData on an unbound channel, and a Send indication to an unpermitted
        # peer, are dropped in C too.
        c.send(turn.encode_channel_data(0x4444, b"unbound"))
        c.send(stun.Message(stun.SEND, stun.INDICATION).add(
            stun.XOR_PEER_ADDRESS, ("127.0.0.3", 9)).add(stun.DATA_ATTR, b"x").encode())
        runner.until(loop, lambda: srv.stats["c_dropped"] == 3, timeout=5)
    finally:
        stranger.close()
        runner.until(loop, lambda: closed, timeout=5)
    assert c.indications == [] and peer.received == []
    assert srv.stats["dropped"] == 3 and srv._stats["dropped"] == 0


def test_permission_expiry_removes_the_c_entry(loop, runner, udp_client, peer,
                                                monkeypatch):
    monkeypatch.setattr(allocation, "PERMISSION_LIFETIME", 0.2)
    c, srv = udp_client, udp_client.server
    relayed = c.allocate()
    c.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, peer.address))
    slot = slot_of(srv)
    assert srv.relay.permissions(slot, loop.time()) == 1
    peer.sock.send(b"in time", relayed)
    runner.until(loop, lambda: c.indications, timeout=5)
    wait(loop, runner, 0.3)
    peer.sock.send(b"too late", relayed)
    runner.until(loop, lambda: srv.stats["c_dropped"] == 1, timeout=5)
    assert srv.relay.permissions(slot, loop.time()) == 0
    assert len(c.indications) == 1 and python_forwarded(srv) == 0


def test_channel_rebinding_after_expiry(loop, runner, udp_client, peer, monkeypatch):
    monkeypatch.setattr(allocation, "CHANNEL_LIFETIME", 0.2)
    c, srv = udp_client, udp_client.server
    other = Peer(loop, runner)
    try:
        c.allocate()
        bind = (stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4000))
        assert c.request(*bind, (stun.XOR_PEER_ADDRESS, peer.address)).cls == stun.SUCCESS
        assert error_code(c.request(*bind, (stun.XOR_PEER_ADDRESS, other.address))) == 400
        c.send(turn.encode_channel_data(0x4000, b"to the first"))
        runner.until(loop, lambda: peer.received, timeout=5)
        wait(loop, runner, 0.3)
        assert srv.relay.channels(slot_of(srv), loop.time()) == 0
        assert c.request(*bind, (stun.XOR_PEER_ADDRESS, other.address)).cls == stun.SUCCESS
        assert srv.relay.channels(slot_of(srv), loop.time()) == 1
        c.send(turn.encode_channel_data(0x4000, b"to the second"))
        runner.until(loop, lambda: other.received, timeout=5)
        assert [d for d, _ in other.received] == [b"to the second"]
        assert [d for d, _ in peer.received] == [b"to the first"]
        assert srv.stats["c_forwarded"] == 2 and python_forwarded(srv) == 0
    finally:
        other.close()


def test_bandwidth_limit_in_c(loop, runner, make_server, peer):
    """500 B/s, bursts of 500 B: of 400 then 600 bytes, only the 400 pass, in C."""
    srv = make_server(bandwidth=500)
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    try:
        relayed = c.allocate()
        c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4000),
                  (stun.XOR_PEER_ADDRESS, peer.address))
        c.send(turn.encode_channel_data(0x4000, bytes(400)))
        c.send(turn.encode_channel_data(0x4000, bytes(600)))
        runner.until(loop, lambda: srv.stats["c_dropped"] == 1 and peer.received,
                     timeout=5)
        assert [len(d) for d, _ in peer.received] == [400]
        peer.sock.send(bytes(600), relayed)
        runner.until(loop, lambda: srv.stats["c_dropped"] == 2, timeout=5)
        assert c.channel_data == [] and python_forwarded(srv) == 0
    finally:
        c.close()


def test_what_the_table_cannot_hold_goes_to_python(loop, runner, udp_client, peer):
    """Past the C table's 16 permissions per allocation, the allocation's unknown peers
    are left to the Python path rather than dropped by C."""
    c, srv = udp_client, udp_client.server
    relayed = c.allocate()
    for i in range(2, 20):
        c.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, (f"127.0.0.{i}", 9)))
    late = UDPSocket(loop)
    closed = []
    late.Close += lambda s: closed.append(True)
    try:
        late.bind("127.0.0.19", 0)    # the 18th permission: Python's, not in C
        late.send(b"hello", relayed)
        runner.until(loop, lambda: c.indications, timeout=5)
        assert c.indications[0].get(stun.DATA_ATTR) == b"hello"
        assert srv._stats["to_client"] == 1
        peer.sock.send(b"nobody", relayed)    # 127.0.0.1 has no permission
        runner.until(loop, lambda: srv.stats["dropped"] == 1, timeout=5)
        assert srv.stats["c_dropped"] == 0
    finally:
        late.close()
        runner.until(loop, lambda: closed, timeout=5)


def test_tcp_clients_stay_on_the_python_path(loop, runner, make_server, peer):
    srv = make_server()
    c = Client(loop, runner, srv.listen("127.0.0.1", 0, transport="tcp"), "tcp")
    try:
        relayed = c.allocate()
        c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4001),
                  (stun.XOR_PEER_ADDRESS, peer.address))
        c.send(turn.encode_channel_data(0x4001, b"abc", pad=True))
        runner.until(loop, lambda: peer.received, timeout=5)
        peer.sock.send(b"xyz", relayed)
        runner.until(loop, lambda: c.channel_data, timeout=5)
        assert c.channel_data == [(0x4001, b"xyz")]
        assert srv.stats["c_forwarded"] == 0 and python_forwarded(srv) == 2
    finally:
        c.close()


def test_a_deleted_allocation_leaves_the_table(loop, runner, udp_client, peer):
    c, srv = udp_client, udp_client.server
    c.allocate()
    c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4000),
              (stun.XOR_PEER_ADDRESS, peer.address))
    slot = slot_of(srv)
    assert c.request(stun.REFRESH, (stun.LIFETIME, 0)).cls == stun.SUCCESS
    assert len(srv.table) == 0 and srv.relay.channels(slot, loop.time()) == 0
    # The client's ChannelData now reaches Python, which finds no allocation.
    c.send(turn.encode_channel_data(0x4000, b"gone"))
    runner.until(loop, lambda: srv._stats["dropped"] == 1, timeout=5)
    assert peer.received == []
    # A new allocation from the same client is mirrored again.
    c.allocate()
    assert slot_of(srv) >= 0


def test_relay_table_arguments(loop):
    table = RelayTable(1)
    with pytest.raises(ValueError):
        table.permit(1, "127.0.0.1", 1.0)
    with pytest.raises(ValueError):
        table.bind(0, 0x3FFF, ("127.0.0.1", 1), 1.0)
    for capacity in (0, 1 << 21):
        with pytest.raises(ValueError):
            RelayTable(capacity)
    with pytest.raises(RuntimeError):
        table.__init__(1)
    assert table.stats == {"to_peer": 0, "to_client": 0, "dropped": 0, "send_errors": 0}


def test_allocations_beyond_the_c_table_use_python(loop, runner, make_server, peer,
                                                   monkeypatch):
    monkeypatch.setattr(turn.server, "RELAY_SLOTS", 1)
    srv = make_server()
    address = srv.listen("127.0.0.1", 0)
    first, second = Client(loop, runner, address), Client(loop, runner, address)
    try:
        first.allocate()
        second.allocate()
        slots = sorted(alloc.slot for alloc in srv.table)
        assert slots == [-1, 0]
        for c in (first, second):
            c.request(stun.CHANNEL_BIND, (stun.CHANNEL_NUMBER, 0x4000),
                      (stun.XOR_PEER_ADDRESS, peer.address))
            c.send(turn.encode_channel_data(0x4000, b"hi"))
        runner.until(loop, lambda: len(peer.received) == 2, timeout=5)
        assert srv.stats["c_forwarded"] == 1 and srv._stats["to_peer"] == 1
    finally:
        first.close()
        second.close()


def test_dual_allocation_in_c(loop, runner, make_server, peer):
    """An IPv4 client with IPv4 and IPv6 relays: each peer is reached through the relay
    of its family, and a Data indication carries an IPv6 XOR-PEER-ADDRESS, all in C."""
    srv = make_server(relay_hosts=["127.0.0.1", "::1"],
                      allowed_peers=["127.0.0.0/8", "::1/128"])
    c = Client(loop, runner, srv.listen("127.0.0.1", 0))
    p6 = Peer(loop, runner, "::1")
    got6 = p6.received
    try:
        reply = c.request(stun.ALLOCATE, (stun.REQUESTED_TRANSPORT, 17),
                          (stun.ADDITIONAL_ADDRESS_FAMILY, 2))
        v4, v6 = reply.get_all(stun.XOR_RELAYED_ADDRESS)
        c.request(stun.CREATE_PERMISSION, (stun.XOR_PEER_ADDRESS, peer.address),
                  (stun.XOR_PEER_ADDRESS, p6.address))
        for target in (peer.address, p6.address):
            c.send(stun.Message(stun.SEND, stun.INDICATION).add(
                stun.XOR_PEER_ADDRESS, target).add(stun.DATA_ATTR,
                                                   b"to " + target.host.encode()).encode())
        runner.until(loop, lambda: peer.received and got6, timeout=5)
        assert peer.received == [(b"to 127.0.0.1", v4)] and got6 == [(b"to ::1", v6)]
        p6.sock.send(b"back over six", v6)
        runner.until(loop, lambda: c.indications, timeout=5)
        data = c.indications[0]
        assert data.get(stun.XOR_PEER_ADDRESS) == p6.address
        assert data.get(stun.DATA_ATTR) == b"back over six"
        assert srv.stats["c_forwarded"] == 3 and python_forwarded(srv) == 0
    finally:
        c.close()
        p6.close()

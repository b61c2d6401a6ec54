"""TURN allocations, permissions and channel bindings: lifetimes, conflicts, quotas and
expiry, on an explicit clock."""

import pytest

from sourcey import turn
from sourcey.net import Address

SERVER = Address("127.0.0.1", 3478)


def five(port, transport="udp"):
    return (transport, Address("127.0.0.1", port), SERVER)


def relayed(port):
    return Address("127.0.0.1", 50000 + port)


def make(table, port=1, user="alice", now=0.0, lifetime=600.0):
    return table.create(five(port), relayed(port), user, lifetime, now)


def test_lifetime_rules():
    table = turn.AllocationTable(max_lifetime=3600)
    assert table.lifetime(None) == 600
    assert table.lifetime(30) == 600         # raised to the default
    assert table.lifetime(1200) == 1200
    assert table.lifetime(10**9) == 3600     # capped
    with pytest.raises(ValueError):
        turn.AllocationTable(default_lifetime=10, max_lifetime=5)


def test_create_get_and_mismatch():
    table = turn.AllocationTable()
    alloc = make(table)
    assert table.get(five(1), 1.0) is alloc
    assert table.by_relayed(relayed(1), 1.0) is alloc
    assert table.get(five(1, "tcp"), 1.0) is None
    with pytest.raises(turn.TurnError) as info:
        make(table)
    assert info.value.code == 437
    assert len(table) == 1 and table.count("alice") == 1


def test_expiry_and_refresh():
    table = turn.AllocationTable()
    a = make(table, 1, now=0.0, lifetime=600)
    b = make(table, 2, now=0.0, lifetime=900)
    assert table.next_expiry() == 600
    table.refresh(a, 600, now=500.0)                # now until 1100
    assert table.expire(600.0) == []
    assert table.next_expiry() == 900
    assert table.expire(900.0) == [b]
    assert table.get(five(2), 900.0) is None
    assert table.get(five(1), 1099.0) is a
    assert table.get(five(1), 1100.0) is None       # lazily removed on lookup
    assert len(table) == 0 and table.count("alice") == 0
    assert table.expire(10_000.0) == [] and table.next_expiry() is None


def test_refresh_zero_deletes():
    table = turn.AllocationTable()
    a = make(table)
    table.refresh(a, 0, now=1.0)
    assert table.get(five(1), 1.0) is None
    assert not table.remove(a)


def test_quotas():
    table = turn.AllocationTable(max_allocations=3, max_per_user=2)
    make(table, 1, "alice")
    make(table, 2, "alice")
    with pytest.raises(turn.TurnError) as info:
        make(table, 3, "alice")
    assert info.value.code == 486
    make(table, 3, "bob")
    with pytest.raises(turn.TurnError) as info:
        make(table, 4, "carol")
    assert info.value.code == 486
    table.remove(table.get(five(1), 0.0))
    make(table, 4, "carol")                         # room again
    assert table.count("alice") == 1


def test_permissions_expire_after_300_s():
    alloc = make(turn.AllocationTable())
    alloc.add_permission("192.0.2.1", 0.0)
    assert alloc.has_permission("192.0.2.1", 299.9)
    assert not alloc.has_permission("192.0.2.2", 1.0)
    alloc.add_permission("192.0.2.1", 200.0)        # refreshed: until 500
    assert alloc.has_permission("192.0.2.1", 499.0)
    assert not alloc.has_permission("192.0.2.1", 500.0)
    assert "192.0.2.1" not in alloc.permissions


def test_channel_bindings():
    alloc = make(turn.AllocationTable())
    peer, other = Address("192.0.2.1", 7000), Address("192.0.2.1", 7001)
    alloc.bind_channel(0x4000, peer, 0.0)
    assert alloc.peer_for_channel(0x4000, 1.0) == peer
    assert alloc.channel_for_peer(peer, 1.0) == 0x4000
    assert alloc.has_permission("192.0.2.1", 1.0)   # a binding installs the permission
    alloc.bind_channel(0x4000, peer, 100.0)         # refresh: same peer, same channel
    for channel, addr in ((0x4000, other), (0x4001, peer)):
        with pytest.raises(turn.TurnError) as info:
            alloc.bind_channel(channel, addr, 101.0)
        assert info.value.code == 400
    for bad in (0x3FFF, 0x8000):
        with pytest.raises(turn.TurnError):
            alloc.bind_channel(bad, other, 1.0)
    # 600 s after the refresh the binding is gone, and the number is free again.
    assert alloc.peer_for_channel(0x4000, 699.0) == peer
    assert alloc.peer_for_channel(0x4000, 700.0) is None
    assert alloc.channel_for_peer(peer, 700.0) is None
    alloc.bind_channel(0x4000, other, 701.0)
    assert alloc.peer_for_channel(0x4000, 702.0) == other


def test_expire_drops_permissions_and_channels():
    alloc = make(turn.AllocationTable())
    alloc.add_permission("192.0.2.9", 0.0)
    alloc.bind_channel(0x4100, Address("192.0.2.8", 1), 0.0)
    alloc.expire(301.0)
    assert "192.0.2.9" not in alloc.permissions and 0x4100 in alloc.channels
    alloc.expire(600.0)
    assert not alloc.channels and not alloc.permissions


def test_on_remove_sees_every_removal():
    removed = []
    table = turn.AllocationTable(on_remove=removed.append)
    a, b, c, d = (make(table, i) for i in range(1, 5))
    table.refresh(a, 0, now=1.0)                    # refresh to 0
    assert table.get(five(2), 600.0) is None        # expiry found by a lookup
    table.remove(c)                                 # removal
    assert table.expire(700.0) == [d]               # a sweep
    assert removed == [a, b, c, d]


def test_token_bucket():
    bucket = turn.TokenBucket(1000)              # 1000 B/s, bursts of 1000 B
    assert bucket.take(600, 0.0) and bucket.take(400, 0.0)
    assert not bucket.take(1, 0.0)
    assert bucket.take(500, 0.5)                 # half a second refills 500
    assert not bucket.take(1, 0.5)
    assert bucket.take(1000, 100.0) and not bucket.take(1, 100.0)   # capped at the burst
    with pytest.raises(ValueError):
        turn.TokenBucket(0)

"""aioice (an independent STUN/TURN implementation, asyncio) against our STUN codec and
TURN server: its STUN codec checks our messages and ours checks its, and its TURN
client relays through TurnServer to a peer. Skipped where aioice is not installed."""

import asyncio

import pytest

from sourcey import stun, turn
from sourcey.net import UDPSocket

aioice_stun = pytest.importorskip("aioice.stun", reason="aioice is not installed")
aioice_turn = pytest.importorskip("aioice.turn", reason="aioice is not installed")

REALM = "sourcey.test"


def test_codecs_agree():
    key = stun.long_term_key("alice", REALM, "pw")
    ours = stun.Message(stun.BINDING, stun.SUCCESS, attributes=[
        (stun.XOR_MAPPED_ADDRESS, ("2001:db8::1", 4000)), (stun.SOFTWARE, "sourcey"),
        (stun.USERNAME, "alice")]).encode(key, fingerprint=True)
    parsed = aioice_stun.parse_message(ours)            # checks our FINGERPRINT
    assert parsed.check_message_integrity(key)
    assert parsed.attributes["XOR-MAPPED-ADDRESS"] == ("2001:db8::1", 4000)
    assert parsed.attributes["SOFTWARE"] == "sourcey"
    theirs = aioice_stun.Message(aioice_stun.Method.ALLOCATE, aioice_stun.Class.REQUEST,
                                 attributes={"USERNAME": "alice", "LIFETIME": 600,
                                             "XOR-PEER-ADDRESS": ("192.0.2.1", 5)})
    theirs.add_message_integrity(key)
    msg = stun.decode(bytes(theirs))
    assert msg.check_integrity(key) and msg.has_fingerprint
    assert (msg.method, msg.get(stun.LIFETIME)) == (stun.ALLOCATE, 600)
    assert msg.get(stun.XOR_PEER_ADDRESS) == ("192.0.2.1", 5)


def in_asyncio(loop, runner, coro_fn, timeout=15):
    """Run ``coro_fn()`` under asyncio in a thread while our loop serves."""
    return runner.in_thread(loop, lambda: asyncio.run(asyncio.wait_for(coro_fn(), timeout)),
                            timeout + 5)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_aioice_turn_client_relays(loop, runner, transport):
    srv = turn.TurnServer(loop, realm=REALM, credentials=turn.StaticCredentials({"alice": "pw"}),
                          relay_hosts=["127.0.0.1"], allowed_peers=["127.0.0.0/8"])
    address = srv.listen("127.0.0.1", 0, transport=transport)
    peer = UDPSocket(loop)
    peer.bind("127.0.0.1", 0)
    peer.Recv += lambda s, data, source: s.send(b"echo " + data, source)
    closed = []
    peer.Close += lambda s: closed.append(True)
    peer_address = tuple(peer.address)

    async def client():
        got = asyncio.Queue()

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                got.put_nowait((data, addr))

        relay, _ = await aioice_turn.create_turn_endpoint(
            Protocol, server_addr=tuple(address), username="alice", password="pw",
            transport=transport)
        try:
            relayed = relay.get_extra_info("sockname")
            replies = []
            for i in range(3):
                relay.sendto(f"ping {i}".encode(), peer_address)
                replies.append(await got.get())
            return relayed, replies
        finally:
            relay.close()

    try:
        relayed, replies = in_asyncio(loop, runner, client)
        assert relayed[0] == "127.0.0.1"
        assert replies == [(f"echo ping {i}".encode(), peer_address) for i in range(3)]
        assert srv.stats["to_client"] == 3
    finally:
        peer.close()
        srv.close()
        runner.until(loop, lambda: closed, timeout=5)

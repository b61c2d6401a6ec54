# sourcey.turn._relay: TURN's relay hot path, datagrams forwarded in C.
#
# TurnServer keeps the control plane in Python and mirrors each UDP client's allocation
# into a RelayTable (csrc/turn_relay.c): the client's address on its listening socket,
# the relay sockets, permissions, channels and the bandwidth bucket. The listening
# socket and the relays are TurnUDP handles, whose receive hook (UDP._on_datagram)
# asks the table and, when it decides, sends from C (UDP._try_send_c): a ChannelData
# message or Send indication goes to its peer, a peer's datagram goes to the client as
# ChannelData or a Data indication, or the datagram is dropped and counted. What the
# table cannot decide (requests, unknown clients, TCP clients) goes to the Python
# receive callback as before.

import os
import socket

from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from cpython.mem cimport PyMem_Free, PyMem_Malloc

from sourcey.uv cimport libuv as uv
from sourcey.uv._core cimport UDP, Loop


# About 1 KiB a slot, allocated up front.
MAX_CAPACITY = 1 << 20


cdef extern from "<arpa/inet.h>" nogil:
    uint16_t ntohs(uint16_t)
    uint16_t htons(uint16_t)


cdef int _to_turn_addr(object ip, int port, turn_addr* out) except -1:
    """(ip, port) from Python as a turn_addr."""
    memset(out, 0, sizeof(turn_addr))
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        out.family = 6
    else:
        raw = socket.inet_pton(socket.AF_INET, ip)
        out.family = 4
    memcpy(out.ip, <const char*>raw, len(raw))
    out.port = <uint16_t>port
    return 0


cdef bint _from_sockaddr(const uv.sockaddr* sa, turn_addr* out) noexcept:
    cdef const uv.sockaddr_in* v4
    cdef const uv.sockaddr_in6* v6
    memset(out, 0, sizeof(turn_addr))
    if sa.sa_family == uv.AF_INET:
        v4 = <const uv.sockaddr_in*>sa
        out.family = 4
        memcpy(out.ip, &v4.sin_addr, 4)
        out.port = ntohs(v4.sin_port)
        return True
    if sa.sa_family == uv.AF_INET6:
        v6 = <const uv.sockaddr_in6*>sa
        out.family = 6
        memcpy(out.ip, &v6.sin6_addr, 16)
        out.port = ntohs(v6.sin6_port)
        return True
    return False


cdef void _to_sockaddr(const turn_addr* a, uv.sockaddr_in6* out) noexcept:
    cdef uv.sockaddr_in* v4
    memset(out, 0, sizeof(uv.sockaddr_in6))
    if a.family == 4:
        v4 = <uv.sockaddr_in*>out
        v4.sin_family = uv.AF_INET
        v4.sin_port = htons(a.port)
        memcpy(&v4.sin_addr, a.ip, 4)
    else:
        out.sin6_family = uv.AF_INET6
        out.sin6_port = htons(a.port)
        memcpy(&out.sin6_addr, a.ip, 16)


cdef class RelayTable:
    """The C relay table for up to ``capacity`` allocations of UDP clients. Times are
    the loop's, in seconds (``loop.time()``); ``stats`` counts what C forwarded
    (``to_peer``, ``to_client``), dropped, and sends that failed."""

    def __init__(self, int capacity):
        cdef uint32_t nbuckets = 16
        cdef int32_t* buckets
        if self._allocs != NULL:
            raise RuntimeError("a RelayTable is initialised once")
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be 1-{MAX_CAPACITY}, not {capacity}")
        while nbuckets < <uint32_t>capacity * 2:
            nbuckets *= 2
        # Until both are allocated the table stays empty (capacity 0): every slot is
        # refused and nothing is found.
        buckets = <int32_t*>PyMem_Malloc(sizeof(int32_t) * nbuckets)
        if buckets == NULL:
            raise MemoryError()
        self._allocs = <turn_alloc*>PyMem_Malloc(sizeof(turn_alloc) * <size_t>capacity)
        if self._allocs == NULL:
            PyMem_Free(buckets)
            raise MemoryError()
        self._buckets = buckets
        self._cap = <uint32_t>capacity
        seed = int.from_bytes(os.urandom(8), "little") | 1
        turn_relay_init(&self._t, self._allocs, self._cap, self._buckets, nbuckets,
                        <uint64_t>seed)
        self._relays = [None] * capacity
        self._listeners = []

    def __dealloc__(self):
        PyMem_Free(self._allocs)
        PyMem_Free(self._buckets)

    cdef int32_t _check_slot(self, int slot) except -2:
        if not 0 <= slot < <int>self._cap:
            raise ValueError(f"no slot {slot}")
        return slot

    def listener(self, TurnUDP sock not None):
        """Make ``sock`` a listening socket whose clients the table may serve."""
        if sock._table is not None:
            raise ValueError("the socket already belongs to a relay table")
        sock._table = self
        sock._listener = len(self._listeners)
        self._listeners.append(sock)

    def add(self, TurnUDP listener not None, object client not None, relays):
        """Mirror the allocation of ``client`` (ip, port) on ``listener``, relayed by the
        TurnUDP sockets ``relays``: its slot, or -1 when the table is full (the Python
        path serves it)."""
        cdef turn_addr a
        cdef TurnUDP relay
        if listener._table is not self:
            raise ValueError("not a listening socket of this table")
        _to_turn_addr(client[0], client[1], &a)
        slot = turn_relay_add(&self._t, <uint32_t>listener._listener, &a)
        if slot < 0:
            return -1
        pair = [None, None]
        for relay in relays:
            relay._table = self
            relay._slot = slot
            relay._client_sock = listener
            _to_sockaddr(&a, &relay._client_addr)
            pair[relay.family == socket.AF_INET6] = relay
        self._relays[slot] = pair
        return slot

    def remove(self, int slot):
        """Forget an allocation; its relays go back to the Python path."""
        cdef TurnUDP relay
        self._check_slot(slot)
        for relay in self._relays[slot] or ():
            if relay is not None:
                relay._slot = -1
                relay._client_sock = None
        self._relays[slot] = None
        turn_relay_remove(&self._t, slot)

    def lifetime(self, int slot, double expires):
        """The allocation's lifetime end: past it, its datagrams go to Python."""
        turn_relay_lifetime(&self._t, self._check_slot(slot), expires * 1000.0)

    def permit(self, int slot, str ip not None, double expires):
        """Install or refresh the permission for ``ip`` until ``expires``; False when
        the slot is full (then the Python path decides for what C does not know)."""
        cdef turn_addr a
        _to_turn_addr(ip, 0, &a)
        return turn_relay_permit(&self._t, self._check_slot(slot), &a, expires * 1000.0) == 0

    def bind(self, int slot, int number, object peer not None, double expires):
        """Bind channel ``number`` to ``peer`` (ip, port) until ``expires``."""
        cdef turn_addr a
        if not 0x4000 <= number <= 0x7FFF:
            raise ValueError(f"a channel number is 0x4000-0x7FFF, not {number:#x}")
        _to_turn_addr(peer[0], peer[1], &a)
        return turn_relay_bind(&self._t, self._check_slot(slot), <uint16_t>number, &a,
                               expires * 1000.0) == 0

    def limit(self, int slot, double rate, double burst):
        """The allocation's bandwidth limit, in bytes per second (0: none)."""
        turn_relay_limit(&self._t, self._check_slot(slot), rate, burst)

    def take(self, int slot, size_t n, double now):
        """Whether ``n`` bytes may pass now (the Python path shares the C bucket)."""
        return turn_relay_take(&self._t, self._check_slot(slot), n, now * 1000.0) != 0

    def permissions(self, int slot, double now):
        """How many live permissions the slot holds."""
        return turn_relay_permissions(&self._t, self._check_slot(slot), now * 1000.0)

    def channels(self, int slot, double now):
        """How many live channel bindings the slot holds."""
        return turn_relay_channels(&self._t, self._check_slot(slot), now * 1000.0)

    @property
    def stats(self):
        return {"to_peer": self._t.stats.to_peer, "to_client": self._t.stats.to_client,
                "dropped": self._t.stats.dropped, "send_errors": self._t.stats.send_errors}


cdef class TurnUDP(UDP):
    """A UDP handle of a TURN server: a listening socket or a relay. Datagrams the
    relay table forwards or drops never reach the receive callback."""

    def __init__(self, Loop loop not None, int family=uv.AF_UNSPEC):
        UDP.__init__(self, loop, family)
        self._listener = -1
        self._slot = -1

    cdef void _on_closed(self) noexcept:
        self._client_sock = None
        UDP._on_closed(self)

    cdef bint _on_datagram(self, const char* data, size_t nread,
                           const uv.sockaddr* addr) noexcept:
        if self._table is None:
            return False
        if self._listener >= 0:
            return self._from_client(data, nread, addr)
        if self._slot >= 0:
            return self._from_peer(data, nread, addr)
        return False

    cdef bint _from_client(self, const char* data, size_t nread,
                           const uv.sockaddr* addr) noexcept:
        cdef RelayTable table = self._table
        cdef turn_addr client, peer
        cdef size_t off = 0, plen = 0
        cdef uv.sockaddr_in6 sa
        cdef uv.uv_buf_t buf
        cdef TurnUDP relay
        cdef int32_t slot
        cdef int verdict
        if not _from_sockaddr(addr, &client):
            return False
        slot = turn_relay_find(&table._t, <uint32_t>self._listener, &client)
        if slot < 0:
            return False
        verdict = turn_relay_from_client(&table._t, slot, <const uint8_t*>data, nread,
                                         self.loop._now(), &peer, &off, &plen)
        if verdict == TURN_PASS:
            return False
        if verdict == TURN_DROP:
            return True
        pair = table._relays[slot]
        relay = pair[peer.family == 6] if pair is not None else None
        if relay is None:
            # A permission is of the allocation's families (443 otherwise): unreachable.
            table._t.stats.to_peer -= 1
            table._t.stats.dropped += 1
            return True
        _to_sockaddr(&peer, &sa)
        buf.base = <char*>data + off
        buf.len = plen
        if relay._try_send_c(&buf, 1, <uv.sockaddr*>&sa) < 0:
            table._t.stats.send_errors += 1
        return True

    cdef bint _from_peer(self, const char* data, size_t nread,
                         const uv.sockaddr* addr) noexcept:
        cdef RelayTable table = self._table
        cdef turn_addr peer
        cdef uint8_t header[TURN_RELAY_MAX_HEADER]
        cdef char zeros[4]
        cdef size_t hlen = 0, pad = 0
        cdef uv.uv_buf_t bufs[3]
        cdef int verdict
        if self._client_sock is None or not _from_sockaddr(addr, &peer):
            return False
        verdict = turn_relay_from_peer(&table._t, self._slot, &peer, nread,
                                       self.loop._now(), header, &hlen, &pad)
        if verdict == TURN_PASS:
            return False
        if verdict == TURN_DROP:
            return True
        memset(zeros, 0, 4)
        bufs[0].base = <char*>header
        bufs[0].len = hlen
        bufs[1].base = <char*>data
        bufs[1].len = nread
        bufs[2].base = zeros
        bufs[2].len = pad
        if self._client_sock._try_send_c(bufs, 3 if pad else 2,
                                         <uv.sockaddr*>&self._client_addr) < 0:
            table._t.stats.send_errors += 1
        return True

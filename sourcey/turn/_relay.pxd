# sourcey.turn._relay: the C relay table (csrc/turn_relay.c) and the UDP handles whose
# receive hook consults it.

from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t

from sourcey.uv cimport libuv as uv
from sourcey.uv._core cimport UDP


cdef extern from "turn_relay.h" nogil:
    enum:
        TURN_RELAY_MAX_HEADER
        TURN_PASS
        TURN_FORWARD
        TURN_DROP

    ctypedef struct turn_addr:
        uint8_t family
        uint8_t ip[16]
        uint16_t port

    ctypedef struct turn_alloc:
        pass

    ctypedef struct turn_relay_stats:
        uint64_t to_peer
        uint64_t to_client
        uint64_t dropped
        uint64_t send_errors

    ctypedef struct turn_relay_table:
        turn_relay_stats stats

    void turn_relay_init(turn_relay_table* t, turn_alloc* allocs, uint32_t cap,
                         int32_t* buckets, uint32_t nbuckets, uint64_t seed)
    int32_t turn_relay_add(turn_relay_table* t, uint32_t listener, const turn_addr* client)
    int32_t turn_relay_find(const turn_relay_table* t, uint32_t listener,
                            const turn_addr* client)
    void turn_relay_remove(turn_relay_table* t, int32_t slot)
    void turn_relay_lifetime(turn_relay_table* t, int32_t slot, double expires)
    int turn_relay_permit(turn_relay_table* t, int32_t slot, const turn_addr* peer,
                          double expires)
    int turn_relay_bind(turn_relay_table* t, int32_t slot, uint16_t number,
                        const turn_addr* peer, double expires)
    uint32_t turn_relay_permissions(turn_relay_table* t, int32_t slot, double now)
    uint32_t turn_relay_channels(turn_relay_table* t, int32_t slot, double now)
    void turn_relay_limit(turn_relay_table* t, int32_t slot, double rate, double burst)
    int turn_relay_take(turn_relay_table* t, int32_t slot, size_t n, double now)
    int turn_relay_from_client(turn_relay_table* t, int32_t slot, const uint8_t* data,
                               size_t len, double now, turn_addr* peer, size_t* off,
                               size_t* plen)
    int turn_relay_from_peer(turn_relay_table* t, int32_t slot, const turn_addr* peer,
                             size_t len, double now, uint8_t* header, size_t* hlen,
                             size_t* pad)


cdef class RelayTable:
    cdef turn_relay_table _t
    cdef turn_alloc* _allocs
    cdef int32_t* _buckets
    cdef uint32_t _cap
    cdef list _relays         # per slot: [IPv4 relay, IPv6 relay] (TurnUDP or None)
    cdef list _listeners      # by listener id: the TurnUDP clients are reached through

    cdef int32_t _check_slot(self, int slot) except -2


cdef class TurnUDP(UDP):
    cdef RelayTable _table
    cdef int _listener        # a listening socket's id in the table, or -1
    cdef int _slot            # a relay's allocation slot, or -1
    cdef TurnUDP _client_sock  # a relay's: the listening socket its client is on
    cdef uv.sockaddr_in6 _client_addr

    cdef bint _from_client(self, const char* data, size_t nread,
                           const uv.sockaddr* addr) noexcept
    cdef bint _from_peer(self, const char* data, size_t nread,
                         const uv.sockaddr* addr) noexcept

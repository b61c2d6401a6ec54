/* TURN's relay hot path (RFC 8656 §11-§12): the state a datagram needs to be forwarded
 * without the control plane, and the forwarding decisions.
 *
 * The control plane (Allocate, Refresh, CreatePermission, ChannelBind, lifetimes) stays
 * with the caller, which mirrors into this table each allocation of a UDP client (the
 * listening socket's id and the client's address), its permissions, its channel
 * bindings and its bandwidth limit. Then:
 *   - turn_relay_from_client: a ChannelData message or a Send indication from the
 *     client, checked against the channels, permissions and limit: forward the payload
 *     to a peer, drop it, or pass it to the control plane (what the table cannot decide:
 *     a message it does not parse, a peer beyond its capacity);
 *   - turn_relay_from_peer: a datagram a relay received from a peer: a permission and
 *     the limit are checked, then the header to send before the payload is written (a
 *     ChannelData header for a bound peer, else a Data indication's).
 * Permissions and channels past their expiry are removed when met.
 *
 * Sans-IO and allocation-free: the caller gives the arrays (turn_relay_init) and does the
 * sends. Times are milliseconds on the caller's clock. Every read is bounds-checked.
 */
#ifndef SOURCEY_TURN_RELAY_H
#define SOURCEY_TURN_RELAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TURN_RELAY_MAX_PERMS 16
#define TURN_RELAY_MAX_CHANNELS 16
/* The longest header turn_relay_from_peer writes: a Data indication's STUN header (20),
 * XOR-PEER-ADDRESS for IPv6 (4 + 20) and DATA's attribute header (4). */
#define TURN_RELAY_MAX_HEADER 48

typedef struct turn_addr {
    uint8_t family;       /* 4 or 6 */
    uint8_t ip[16];       /* 4 or 16 bytes used; the rest zero */
    uint16_t port;
} turn_addr;

typedef struct turn_perm {
    uint8_t family;
    uint8_t ip[16];
    double expires;
} turn_perm;

typedef struct turn_chan {
    uint16_t number;
    turn_addr peer;
    double expires;
} turn_chan;

typedef struct turn_alloc {
    int32_t used;
    int32_t next;                 /* the next slot in its hash chain, or -1 */
    uint32_t listener;
    turn_addr client;
    int32_t overflow;             /* some permission or channel is not held here */
    uint32_t nperms;
    uint32_t nchans;
    turn_perm perms[TURN_RELAY_MAX_PERMS];
    turn_chan chans[TURN_RELAY_MAX_CHANNELS];
    double expires;               /* the allocation's lifetime end (0: none set) */
    double rate;                  /* bytes per second; 0: no limit */
    double burst;
    double tokens;
    double stamp;                 /* the last take's time, or -1 */
} turn_alloc;

typedef struct turn_relay_stats {
    uint64_t to_peer;             /* datagrams forwarded from clients to peers */
    uint64_t to_client;           /* from peers to clients */
    uint64_t dropped;             /* refused here: no permission, no channel, over limit */
    uint64_t send_errors;         /* forwarded but the send failed (reported by caller) */
} turn_relay_stats;

typedef struct turn_relay_table {
    turn_alloc* allocs;
    uint32_t cap;
    int32_t* buckets;
    uint32_t nbuckets;            /* a power of two */
    uint64_t rng;                 /* xorshift state for Data indication transaction IDs */
    turn_relay_stats stats;
} turn_relay_table;

enum { TURN_PASS = 0, TURN_FORWARD = 1, TURN_DROP = 2 };

/* allocs[0..cap) and buckets[0..nbuckets) are the caller's; nbuckets is a power of two;
 * seed is nonzero (random). */
void turn_relay_init(turn_relay_table* t, turn_alloc* allocs, uint32_t cap,
                     int32_t* buckets, uint32_t nbuckets, uint64_t seed);

/* A new allocation for (listener, client): its slot, or -1 (full, or already there). */
int32_t turn_relay_add(turn_relay_table* t, uint32_t listener, const turn_addr* client);
/* The slot of (listener, client), or -1. */
int32_t turn_relay_find(const turn_relay_table* t, uint32_t listener, const turn_addr* client);
void turn_relay_remove(turn_relay_table* t, int32_t slot);

/* The allocation's lifetime end: past it, its datagrams are passed to the caller (which
 * removes it). */
void turn_relay_lifetime(turn_relay_table* t, int32_t slot, double expires);

/* Install or refresh a permission for an IP (port ignored) until `expires`; 0, or -1
 * when there is no room (the slot is then marked overflowed: what the table does not
 * know it passes to the caller rather than dropping). */
int turn_relay_permit(turn_relay_table* t, int32_t slot, const turn_addr* peer,
                      double expires);
/* Bind `number` to `peer` until `expires`, replacing any binding of the number or of
 * the peer; 0 or -1 as turn_relay_permit. */
int turn_relay_bind(turn_relay_table* t, int32_t slot, uint16_t number,
                    const turn_addr* peer, double expires);
/* Counts of live permissions and channels (expired ones are removed first). */
uint32_t turn_relay_permissions(turn_relay_table* t, int32_t slot, double now);
uint32_t turn_relay_channels(turn_relay_table* t, int32_t slot, double now);

/* The bandwidth limit: rate bytes per second, bursts up to `burst`; rate 0: none. */
void turn_relay_limit(turn_relay_table* t, int32_t slot, double rate, double burst);
/* Whether n bytes may pass now (taking them if so). */
int turn_relay_take(turn_relay_table* t, int32_t slot, size_t n, double now);

/* A datagram from the client of `slot`. TURN_FORWARD: send data[*off..*off + *len) to
 * *peer; TURN_DROP: counted in stats.dropped; TURN_PASS: the caller decides. */
int turn_relay_from_client(turn_relay_table* t, int32_t slot, const uint8_t* data,
                           size_t len, double now, turn_addr* peer, size_t* off,
                           size_t* plen);

/* A datagram of `len` bytes from `peer` to a relay of `slot`. TURN_FORWARD: send
 * header[0..*hlen), then the datagram, then *pad zero bytes, to the client; header has
 * TURN_RELAY_MAX_HEADER bytes. TURN_DROP and TURN_PASS as above. */
int turn_relay_from_peer(turn_relay_table* t, int32_t slot, const turn_addr* peer,
                         size_t len, double now, uint8_t* header, size_t* hlen,
                         size_t* pad);

#ifdef __cplusplus
}
#endif

#endif

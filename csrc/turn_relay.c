/* TURN's relay hot path: see turn_relay.h. */
#include "turn_relay.h"

#include <string.h>

#include "stun_codec.h"

#define SEND_INDICATION 0x0016
#define DATA_INDICATION 0x0017
#define SEND_ATTRS 16

static size_t ip_len(uint8_t family) { return family == 6 ? 16 : 4; }

static int same_ip(uint8_t family, const uint8_t* ip, const turn_addr* a)
{
    return family == a->family && memcmp(ip, a->ip, ip_len(family)) == 0;
}

static int same_addr(const turn_addr* a, const turn_addr* b)
{
    return same_ip(a->family, a->ip, b) && a->port == b->port;
}

static uint32_t bucket_of(const turn_relay_table* t, uint32_t listener, const turn_addr* a)
{
    uint32_t h = 2166136261u;
    size_t i;
    h = (h ^ listener) * 16777619u;
    h = (h ^ a->family) * 16777619u;
    for (i = 0; i < ip_len(a->family); i++)
        h = (h ^ a->ip[i]) * 16777619u;
    h = (h ^ (uint32_t)(a->port >> 8)) * 16777619u;
    h = (h ^ (uint32_t)(a->port & 0xFF)) * 16777619u;
    return h & (t->nbuckets - 1);
}

static turn_alloc* get(turn_relay_table* t, int32_t slot)
{
    if (slot < 0 || (uint32_t)slot >= t->cap || !t->allocs[slot].used)
        return NULL;
    return &t->allocs[slot];
}

void turn_relay_init(turn_relay_table* t, turn_alloc* allocs, uint32_t cap,
                     int32_t* buckets, uint32_t nbuckets, uint64_t seed)
{
    uint32_t i;
    memset(t, 0, sizeof(*t));
    t->allocs = allocs;
    t->cap = cap;
    t->buckets = buckets;
    t->nbuckets = nbuckets;
    t->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
    for (i = 0; i < cap; i++) {
        allocs[i].used = 0;
        allocs[i].next = -1;
    }
    for (i = 0; i < nbuckets; i++)
        buckets[i] = -1;
}

int32_t turn_relay_find(const turn_relay_table* t, uint32_t listener, const turn_addr* client)
{
    int32_t slot;
    if (t->nbuckets == 0)
        return -1;
    slot = t->buckets[bucket_of(t, listener, client)];
    while (slot >= 0 && (uint32_t)slot < t->cap) {
        const turn_alloc* a = &t->allocs[slot];
        if (a->listener == listener && same_addr(&a->client, client))
            return slot;
        slot = a->next;
    }
    return -1;
}

int32_t turn_relay_add(turn_relay_table* t, uint32_t listener, const turn_addr* client)
{
    uint32_t i, b;
    turn_alloc* a;
    if (t->nbuckets == 0 || (client->family != 4 && client->family != 6)
            || turn_relay_find(t, listener, client) >= 0)
        return -1;
    for (i = 0; i < t->cap; i++) {
        if (!t->allocs[i].used)
            break;
    }
    if (i == t->cap)
        return -1;
    a = &t->allocs[i];
    memset(a, 0, sizeof(*a));
    a->used = 1;
    a->listener = listener;
    a->client = *client;
    a->stamp = -1;
    b = bucket_of(t, listener, client);
    a->next = t->buckets[b];
    t->buckets[b] = (int32_t)i;
    return (int32_t)i;
}

void turn_relay_remove(turn_relay_table* t, int32_t slot)
{
    turn_alloc* a = get(t, slot);
    int32_t* link;
    if (a == NULL)
        return;
    link = &t->buckets[bucket_of(t, a->listener, &a->client)];
    while (*link >= 0 && (uint32_t)*link < t->cap) {
        if (*link == slot) {
            *link = a->next;
            break;
        }
        link = &t->allocs[*link].next;
    }
    a->used = 0;
    a->next = -1;
}

static void expire(turn_alloc* a, double now)
{
    uint32_t i = 0;
    while (i < a->nperms) {
        if (now >= a->perms[i].expires)
            a->perms[i] = a->perms[--a->nperms];
        else
            i++;
    }
    i = 0;
    while (i < a->nchans) {
        if (now >= a->chans[i].expires)
            a->chans[i] = a->chans[--a->nchans];
        else
            i++;
    }
}

int turn_relay_permit(turn_relay_table* t, int32_t slot, const turn_addr* peer,
                      double expires)
{
    turn_alloc* a = get(t, slot);
    uint32_t i;
    if (a == NULL)
        return -1;
    for (i = 0; i < a->nperms; i++) {
        if (same_ip(a->perms[i].family, a->perms[i].ip, peer)) {
            a->perms[i].expires = expires;
            return 0;
        }
    }
    if (a->nperms == TURN_RELAY_MAX_PERMS) {
        a->overflow = 1;
        return -1;
    }
    a->perms[a->nperms].family = peer->family;
    memcpy(a->perms[a->nperms].ip, peer->ip, sizeof(peer->ip));
    a->perms[a->nperms].expires = expires;
    a->nperms++;
    return 0;
}

int turn_relay_bind(turn_relay_table* t, int32_t slot, uint16_t number,
                    const turn_addr* peer, double expires)
{
    turn_alloc* a = get(t, slot);
    uint32_t i = 0;
    if (a == NULL)
        return -1;
    while (i < a->nchans) {
        if (a->chans[i].number == number || same_addr(&a->chans[i].peer, peer))
            a->chans[i] = a->chans[--a->nchans];
        else
            i++;
    }
    if (a->nchans == TURN_RELAY_MAX_CHANNELS) {
        a->overflow = 1;
        return -1;
    }
    a->chans[a->nchans].number = number;
    a->chans[a->nchans].peer = *peer;
    a->chans[a->nchans].expires = expires;
    a->nchans++;
    return 0;
}

uint32_t turn_relay_permissions(turn_relay_table* t, int32_t slot, double now)
{
    turn_alloc* a = get(t, slot);
    if (a == NULL)
        return 0;
    expire(a, now);
    return a->nperms;
}

uint32_t turn_relay_channels(turn_relay_table* t, int32_t slot, double now)
{
    turn_alloc* a = get(t, slot);
    if (a == NULL)
        return 0;
    expire(a, now);
    return a->nchans;
}

void turn_relay_lifetime(turn_relay_table* t, int32_t slot, double expires)
{
    turn_alloc* a = get(t, slot);
    if (a != NULL)
        a->expires = expires;
}

void turn_relay_limit(turn_relay_table* t, int32_t slot, double rate, double burst)
{
    turn_alloc* a = get(t, slot);
    if (a == NULL)
        return;
    a->rate = rate > 0 ? rate : 0;
    a->burst = burst;
    a->tokens = burst;
    a->stamp = -1;
}

static int take(turn_alloc* a, size_t n, double now)
{
    if (a->rate <= 0)
        return 1;
    if (a->stamp >= 0 && now > a->stamp) {
        a->tokens += (now - a->stamp) / 1000.0 * a->rate;
        if (a->tokens > a->burst)
            a->tokens = a->burst;
    }
    if (a->stamp < 0 || now > a->stamp)
        a->stamp = now;
    if ((double)n > a->tokens)
        return 0;
    a->tokens -= (double)n;
    return 1;
}

int turn_relay_take(turn_relay_table* t, int32_t slot, size_t n, double now)
{
    turn_alloc* a = get(t, slot);
    return a == NULL ? 1 : take(a, n, now);
}

/* A live permission for the peer's IP: 1, 0 (none), removing an expired one. */
static int permitted(turn_alloc* a, const turn_addr* peer, double now)
{
    uint32_t i;
    for (i = 0; i < a->nperms; i++) {
        if (same_ip(a->perms[i].family, a->perms[i].ip, peer)) {
            if (now < a->perms[i].expires)
                return 1;
            a->perms[i] = a->perms[--a->nperms];
            return 0;
        }
    }
    return 0;
}

/* What the table does not know about it decides: a slot that overflowed passes. */
static int refuse(turn_relay_table* t, const turn_alloc* a)
{
    if (a->overflow)
        return TURN_PASS;
    t->stats.dropped++;
    return TURN_DROP;
}

static int forward(turn_relay_table* t, turn_alloc* a, const turn_addr* peer, size_t n,
                   double now)
{
    if (!permitted(a, peer, now))
        return refuse(t, a);
    if (!take(a, n, now)) {
        t->stats.dropped++;
        return TURN_DROP;
    }
    return TURN_FORWARD;
}

static int send_indication(turn_relay_table* t, turn_alloc* a, const uint8_t* data,
                           size_t len, double now, turn_addr* peer, size_t* off,
                           size_t* plen)
{
    stun_attr attrs[SEND_ATTRS];
    stun_msg m;
    const stun_attr* where = NULL;
    const stun_attr* payload = NULL;
    int family;
    uint32_t i;
    if (stun_parse(data, len, &m, attrs, SEND_ATTRS) != STUN_OK || m.type != SEND_INDICATION)
        return TURN_PASS;
    for (i = 0; i < m.nattrs; i++) {
        if (attrs[i].type == STUN_ATTR_XOR_PEER_ADDRESS && where == NULL)
            where = &attrs[i];
        else if (attrs[i].type == STUN_ATTR_DATA && payload == NULL)
            payload = &attrs[i];
    }
    if (where == NULL || payload == NULL)
        return TURN_PASS;
    memset(peer, 0, sizeof(*peer));
    if (stun_address_decode(data + where->off, where->len, data + 8, &family, &peer->port,
                            peer->ip) != STUN_OK)
        return TURN_PASS;
    peer->family = (uint8_t)family;
    *off = payload->off;
    *plen = payload->len;
    return forward(t, a, peer, *plen, now);
}

int turn_relay_from_client(turn_relay_table* t, int32_t slot, const uint8_t* data,
                           size_t len, double now, turn_addr* peer, size_t* off,
                           size_t* plen)
{
    turn_alloc* a = get(t, slot);
    uint16_t number, n;
    uint32_t i;
    int verdict;
    if (a == NULL || len < 4 || (a->expires > 0 && now >= a->expires))
        return TURN_PASS;
    if (data[0] < 0x40) {
        verdict = send_indication(t, a, data, len, now, peer, off, plen);
    } else {
        if (stun_channel_data_parse(data, len, &number, &n) != STUN_OK)
            return TURN_PASS;
        expire(a, now);
        for (i = 0; i < a->nchans; i++) {
            if (a->chans[i].number == number)
                break;
        }
        if (i == a->nchans)
            return refuse(t, a);
        *peer = a->chans[i].peer;
        *off = 4;
        *plen = n;
        verdict = forward(t, a, peer, n, now);
    }
    if (verdict == TURN_FORWARD)
        t->stats.to_peer++;
    return verdict;
}

static uint64_t next_random(turn_relay_table* t)
{
    uint64_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->rng = x;
    return x;
}

static void put16(uint8_t* p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int turn_relay_from_peer(turn_relay_table* t, int32_t slot, const turn_addr* peer,
                         size_t len, double now, uint8_t* header, size_t* hlen,
                         size_t* pad)
{
    turn_alloc* a = get(t, slot);
    uint64_t r1, r2;
    size_t alen, body;
    uint32_t i;
    int verdict;
    if (a == NULL || len > 0xFFFF - TURN_RELAY_MAX_HEADER
            || (a->expires > 0 && now >= a->expires))
        return TURN_PASS;
    verdict = forward(t, a, peer, len, now);
    if (verdict != TURN_FORWARD)
        return verdict;
    expire(a, now);
    for (i = 0; i < a->nchans; i++) {
        if (same_addr(&a->chans[i].peer, peer)) {
            put16(header, a->chans[i].number);
            put16(header + 2, (uint16_t)len);
            *hlen = 4;
            *pad = 0;
            t->stats.to_client++;
            return TURN_FORWARD;
        }
    }
    /* A Data indication: header, XOR-PEER-ADDRESS, DATA (padded to 4). */
    put16(header, DATA_INDICATION);
    header[4] = 0x21;
    header[5] = 0x12;
    header[6] = 0xA4;
    header[7] = 0x42;
    r1 = next_random(t);
    r2 = next_random(t);
    memcpy(header + 8, &r1, 8);
    memcpy(header + 16, &r2, 4);
    alen = stun_address_encode(header + 24, TURN_RELAY_MAX_HEADER - 28, peer->family,
                               peer->port, peer->ip, header + 8);
    if (alen == 0)
        return TURN_PASS;
    put16(header + 20, STUN_ATTR_XOR_PEER_ADDRESS);
    put16(header + 22, (uint16_t)alen);
    put16(header + 24 + alen, STUN_ATTR_DATA);
    put16(header + 26 + alen, (uint16_t)len);
    *pad = (4 - (len & 3)) & 3;
    body = 4 + alen + 4 + len + *pad;
    put16(header + 2, (uint16_t)body);
    *hlen = 28 + alen;
    t->stats.to_client++;
    return TURN_FORWARD;
}

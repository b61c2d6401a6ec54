/* A bounded multi-producer queue of opaque items, for sourcey.stream (DESIGN.md §4).
 *
 * Producers on any thread push; one consumer pops in batches, either a loop woken by a
 * uv_async_t (the caller sends it when a push returns SY_PQ_WAKE) or a worker thread
 * waiting on the queue's condition variable (sy_pq_pop with SY_PQ_WAIT). Plain C99 and
 * POSIX threads; nothing here touches Python, so every call may run without the GIL.
 *
 * Items are opaque pointers; the queue never frees one. Ownership passes to the queue
 * at a successful push and back to the caller at a pop, at an eviction (drop_oldest
 * hands the evicted item back through *evicted) and at sy_pq_close's drain.
 *
 * Wake-ups are coalesced: a push returns SY_PQ_WAKE only when no wake-up is pending. The
 * pending flag is cleared by the pop that empties the queue, so a consumer that stops
 * with items left (its time budget ran out) must wake itself again: it never loses one.
 *
 * The slot array is the caller's (no hidden allocation). */
#ifndef SY_PACKET_QUEUE_H
#define SY_PACKET_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Overflow policies: what a push does when the queue is full. */
typedef enum {
    SY_PQ_BLOCK = 0,        /* wait until the consumer makes room (counted in blocked_waits) */
    SY_PQ_DROP_OLDEST = 1,  /* evict the oldest item to the caller (counted in dropped) */
    SY_PQ_ERROR = 2         /* refuse the new item (counted in rejected) */
} sy_pq_policy;

/* Push and pop results. */
enum {
    SY_PQ_OK = 0,           /* queued; a wake-up is already pending */
    SY_PQ_WAKE = 1,         /* queued; the caller must wake the consumer */
    SY_PQ_FULL = -1,        /* SY_PQ_ERROR policy: refused, the item stays the caller's */
    SY_PQ_CLOSED = -2,      /* the queue is closed: refused, the item stays the caller's */
    SY_PQ_BUSY = -3,        /* SY_PQ_TRYLOCK: the mutex was taken, nothing done */
    SY_PQ_WOULD_BLOCK = -4, /* SY_PQ_NOWAIT under SY_PQ_BLOCK: full, nothing done */
    SY_PQ_INVALID = -5      /* a NULL argument: nothing done */
};

/* Push and pop flags. */
enum {
    SY_PQ_TRYLOCK = 1,      /* do not wait for the mutex (the caller may hold a lock, e.g. a GIL) */
    SY_PQ_NOWAIT = 2,       /* push: do not wait for room */
    SY_PQ_WAIT = 4,         /* pop: wait until an item arrives or the queue closes */
    SY_PQ_REFUSE = 8        /* push under SY_PQ_BLOCK: refuse when full, as SY_PQ_ERROR does
                               (a writer that must not wait, e.g. the consumer's own thread) */
};

typedef struct {
    uint64_t enqueued;      /* items accepted by push */
    uint64_t delivered;     /* items handed to the consumer by pop */
    uint64_t dropped;       /* items evicted by drop_oldest */
    uint64_t rejected;      /* items refused by the error policy */
    uint64_t blocked_waits; /* pushes that had to wait for room */
    size_t high_water;      /* the most items queued at once */
    size_t depth;           /* items queued now */
} sy_pq_stats;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t not_full;    /* signalled when a pop makes room or the queue closes */
    pthread_cond_t not_empty;   /* signalled when a push adds an item or the queue closes */
    void** slots;               /* ring of capacity items, the caller's memory */
    size_t capacity;
    size_t head;                /* index of the oldest item */
    size_t count;
    int policy;
    int closed;
    int wake_pending;           /* a SY_PQ_WAKE was returned and the queue not emptied since */
    int consumer_waiting;       /* a SY_PQ_WAIT pop sleeps on not_empty */
    int producers_waiting;      /* blocked pushes sleeping on not_full */
    sy_pq_stats stats;
} sy_pq;

/* 0, or an errno value from pthread. slots must hold capacity (>= 1) pointers. */
int sy_pq_init(sy_pq* q, void** slots, size_t capacity, int policy);
/* Release the mutex and condition variables; the queue must be empty and unused. */
void sy_pq_destroy(sy_pq* q);

/* Queue item. On SY_PQ_DROP_OLDEST overflow the evicted item is stored in *evicted
 * (else *evicted is NULL). Returns SY_PQ_OK or SY_PQ_WAKE, or a negative result above. */
int sy_pq_push(sy_pq* q, void* item, void** evicted, int flags);

/* Move up to max items, oldest first, into out; returns how many (0 when empty, or when
 * closed and empty; SY_PQ_BUSY only with SY_PQ_TRYLOCK). With SY_PQ_WAIT, sleeps until
 * an item or a close. */
long sy_pq_pop(sy_pq* q, void** out, size_t max, int flags);

/* Close: later pushes fail with SY_PQ_CLOSED, blocked pushers and a waiting consumer
 * wake up. Items still queued stay for sy_pq_pop, which the caller uses to release them. */
void sy_pq_close(sy_pq* q);
int sy_pq_is_closed(sy_pq* q);

/* A consistent snapshot of the counters. */
void sy_pq_get_stats(sy_pq* q, sy_pq_stats* out);

/* CLOCK_MONOTONIC in nanoseconds, for drain time budgets. */
uint64_t sy_pq_now_ns(void);

#endif

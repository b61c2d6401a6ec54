/* The bounded multi-producer packet queue; see packet_queue.h for the contract. */
#include "packet_queue.h"

#include <errno.h>
#include <time.h>

int sy_pq_init(sy_pq* q, void** slots, size_t capacity, int policy) {
    int err;
    if (q == NULL || slots == NULL || capacity == 0)
        return EINVAL;
    if (policy != SY_PQ_BLOCK && policy != SY_PQ_DROP_OLDEST && policy != SY_PQ_ERROR)
        return EINVAL;
    q->slots = slots;
    q->capacity = capacity;
    q->head = 0;
    q->count = 0;
    q->policy = policy;
    q->closed = 0;
    q->wake_pending = 0;
    q->consumer_waiting = 0;
    q->producers_waiting = 0;
    q->stats = (sy_pq_stats){0};
    err = pthread_mutex_init(&q->mu, NULL);
    if (err != 0)
        return err;
    err = pthread_cond_init(&q->not_full, NULL);
    if (err != 0) {
        pthread_mutex_destroy(&q->mu);
        return err;
    }
    err = pthread_cond_init(&q->not_empty, NULL);
    if (err != 0) {
        pthread_cond_destroy(&q->not_full);
        pthread_mutex_destroy(&q->mu);
        return err;
    }
    return 0;
}

void sy_pq_destroy(sy_pq* q) {
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->mu);
}

static int lock(sy_pq* q, int flags) {
    if (flags & SY_PQ_TRYLOCK)
        return pthread_mutex_trylock(&q->mu) == 0 ? 0 : SY_PQ_BUSY;
    pthread_mutex_lock(&q->mu);
    return 0;
}

/* Remove the oldest item; the queue must not be empty. */
static void* take_oldest(sy_pq* q) {
    void* item = q->slots[q->head];
    q->slots[q->head] = NULL;
    q->head = (q->head + 1 == q->capacity) ? 0 : q->head + 1;
    q->count--;
    return item;
}

int sy_pq_push(sy_pq* q, void* item, void** evicted, int flags) {
    int rc;
    size_t tail;
    if (q == NULL || evicted == NULL)
        return SY_PQ_INVALID;
    *evicted = NULL;
    if (lock(q, flags) != 0)
        return SY_PQ_BUSY;
    if (!q->closed && q->count == q->capacity) {
        if (q->policy == SY_PQ_ERROR || (flags & SY_PQ_REFUSE)) {
            q->stats.rejected++;
            pthread_mutex_unlock(&q->mu);
            return SY_PQ_FULL;
        }
        if (q->policy == SY_PQ_DROP_OLDEST) {
            *evicted = take_oldest(q);
            q->stats.dropped++;
        } else {
            if (flags & SY_PQ_NOWAIT) {
                pthread_mutex_unlock(&q->mu);
                return SY_PQ_WOULD_BLOCK;
            }
            q->stats.blocked_waits++;
            q->producers_waiting++;
            while (!q->closed && q->count == q->capacity)
                pthread_cond_wait(&q->not_full, &q->mu);
            q->producers_waiting--;
        }
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return SY_PQ_CLOSED;
    }
    tail = q->head + q->count;
    if (tail >= q->capacity)
        tail -= q->capacity;
    q->slots[tail] = item;
    q->count++;
    q->stats.enqueued++;
    if (q->count > q->stats.high_water)
        q->stats.high_water = q->count;
    if (q->consumer_waiting)
        pthread_cond_signal(&q->not_empty);
    rc = q->wake_pending ? SY_PQ_OK : SY_PQ_WAKE;
    q->wake_pending = 1;
    pthread_mutex_unlock(&q->mu);
    return rc;
}

long sy_pq_pop(sy_pq* q, void** out, size_t max, int flags) {
    size_t n = 0;
    if (q == NULL || (out == NULL && max > 0))
        return SY_PQ_INVALID;
    if (lock(q, flags) != 0)
        return SY_PQ_BUSY;
    if (flags & SY_PQ_WAIT) {
        q->consumer_waiting = 1;
        while (q->count == 0 && !q->closed)
            pthread_cond_wait(&q->not_empty, &q->mu);
        q->consumer_waiting = 0;
    }
    while (n < max && q->count > 0)
        out[n++] = take_oldest(q);
    q->stats.delivered += n;
    if (q->count == 0)
        q->wake_pending = 0;
    if (n > 0 && q->producers_waiting)
        pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return (long)n;
}

void sy_pq_close(sy_pq* q) {
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

int sy_pq_is_closed(sy_pq* q) {
    int closed;
    pthread_mutex_lock(&q->mu);
    closed = q->closed;
    pthread_mutex_unlock(&q->mu);
    return closed;
}

void sy_pq_get_stats(sy_pq* q, sy_pq_stats* out) {
    pthread_mutex_lock(&q->mu);
    *out = q->stats;
    out->depth = q->count;
    pthread_mutex_unlock(&q->mu);
}

uint64_t sy_pq_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

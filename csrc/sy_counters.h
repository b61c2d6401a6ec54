/* Live handle and request counters for the debug build (SOURCEY_DEBUG).
 *
 * Every handle and request that sourcey.uv allocates for a Python object is counted
 * up when its memory is taken and down when it is freed, per libuv type. Tests read
 * the counters in teardown, so a leak fails the test that caused it. In a release
 * build the macros compile to nothing and sy_counters_enabled is 0. */
#ifndef SY_COUNTERS_H
#define SY_COUNTERS_H

#include "uv.h"

#ifdef SOURCEY_DEBUG
static long sy_live_handles[UV_HANDLE_TYPE_MAX];
static long sy_live_reqs[UV_REQ_TYPE_MAX];
#define sy_counters_enabled 1
#define SY_COUNT(arr, max, i, d)                                   \
    do {                                                           \
        int sy_i_ = (int)(i);                                      \
        if (sy_i_ >= 0 && sy_i_ < (int)(max))                      \
            __atomic_add_fetch(&(arr)[sy_i_], (d), __ATOMIC_RELAXED); \
    } while (0)
#define SY_HANDLE_ALLOC(t) SY_COUNT(sy_live_handles, UV_HANDLE_TYPE_MAX, (t), 1)
#define SY_HANDLE_FREE(t) SY_COUNT(sy_live_handles, UV_HANDLE_TYPE_MAX, (t), -1)
#define SY_REQ_ALLOC(t) SY_COUNT(sy_live_reqs, UV_REQ_TYPE_MAX, (t), 1)
#define SY_REQ_FREE(t) SY_COUNT(sy_live_reqs, UV_REQ_TYPE_MAX, (t), -1)
static long sy_handle_count(int t) {
    return (t >= 0 && t < UV_HANDLE_TYPE_MAX) ? __atomic_load_n(&sy_live_handles[t], __ATOMIC_RELAXED) : 0;
}
static long sy_req_count(int t) {
    return (t >= 0 && t < UV_REQ_TYPE_MAX) ? __atomic_load_n(&sy_live_reqs[t], __ATOMIC_RELAXED) : 0;
}
#else
#define sy_counters_enabled 0
#define SY_HANDLE_ALLOC(t) ((void)0)
#define SY_HANDLE_FREE(t) ((void)0)
#define SY_REQ_ALLOC(t) ((void)0)
#define SY_REQ_FREE(t) ((void)0)
static long sy_handle_count(int t) { (void)t; return 0; }
static long sy_req_count(int t) { (void)t; return 0; }
#endif

#endif

/*
 * hist.h: a bounded log-linear latency histogram shared by the load generators.
 *
 * Values are nanoseconds. Values below HIST_SUB are counted exactly; above
 * that every power of two is split into HIST_SUB/2 linear sub-buckets, so a
 * reported percentile is within 1/64 (about 1.6 %) of the true value. The
 * whole histogram is a fixed array of HIST_BUCKETS counters.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>
#include <string.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)          /* 128 exact buckets */
#define HIST_HALF (HIST_SUB >> 1)               /* 64 sub-buckets per octave */
#define HIST_MAX_SHIFT (64 - HIST_SUB_BITS + 1) /* shifts 1..58 */
#define HIST_BUCKETS (HIST_SUB + HIST_MAX_SHIFT * HIST_HALF)

typedef struct {
  uint64_t counts[HIST_BUCKETS];
  uint64_t total;
  uint64_t max;
} hist_t;

static inline void hist_reset(hist_t *h) { memset(h, 0, sizeof(*h)); }

static inline unsigned hist_index(uint64_t v) {
  unsigned msb, shift, idx;
  if (v < HIST_SUB)
    return (unsigned)v;
  msb = 63u - (unsigned)__builtin_clzll(v);  /* >= HIST_SUB_BITS */
  shift = msb - (HIST_SUB_BITS - 1);          /* >= 1 */
  idx = HIST_SUB + (shift - 1) * HIST_HALF + (unsigned)((v >> shift) - HIST_HALF);
  return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The midpoint of a bucket's value range. */
static inline double hist_value(unsigned idx) {
  unsigned k, shift;
  uint64_t m;
  if (idx < HIST_SUB)
    return (double)idx;
  k = idx - HIST_SUB;
  shift = k / HIST_HALF + 1;
  m = (uint64_t)(k % HIST_HALF) + HIST_HALF;
  return ((double)m + 0.5) * (double)(1ULL << shift);
}

static inline void hist_add(hist_t *h, uint64_t v) {
  h->counts[hist_index(v)]++;
  h->total++;
  if (v > h->max)
    h->max = v;
}

/* The value at quantile q (0 < q <= 1), or 0 for an empty histogram. */
static inline double hist_quantile(const hist_t *h, double q) {
  uint64_t want, seen = 0;
  unsigned i;
  if (h->total == 0)
    return 0.0;
  want = (uint64_t)(q * (double)h->total + 0.999999);
  if (want < 1)
    want = 1;
  if (want > h->total)
    want = h->total;
  for (i = 0; i < HIST_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= want) {
      double v = hist_value(i);
      return v > (double)h->max ? (double)h->max : v;
    }
  }
  return (double)h->max;
}

#endif

/*
 * loadgen.h: small helpers shared by the load generators: a monotonic clock,
 * strict option parsing, address resolution and the measured window, with the
 * markers the runner reads.
 *
 * The load generators print "#mark start" and "#mark end" on stdout (flushed)
 * when the measured window opens and closes, so the runner can sample the
 * server's CPU time at the same moments, and then one JSON line of results.
 */
#ifndef BENCH_LOADGEN_H
#define BENCH_LOADGEN_H

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "hist.h"

static const char *prog_name = "loadgen";

static void fail(const char *fmt, const char *arg) {
  fprintf(stderr, "%s: ", prog_name);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  exit(1);
}

/* calloc() that exits when memory runs out. */
static inline void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count, size);
  if (p == NULL)
    fail("%s", "out of memory");
  return p;
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long parse_long(const char *opt, const char *s, long lo, long hi) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "%s: %s must be an integer in [%ld, %ld], got '%s'\n", prog_name, opt, lo,
            hi, s);
    exit(2);
  }
  return v;
}

static double parse_seconds(const char *opt, const char *s, double lo, double hi) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
    fprintf(stderr, "%s: %s must be a number of seconds in [%g, %g], got '%s'\n", prog_name,
            opt, lo, hi, s);
    exit(2);
  }
  return v;
}

/* The options every load generator takes. */
typedef struct {
  const char *host;
  long port;
  double duration; /* measured seconds */
  double warmup;   /* unmeasured seconds before them */
} run_opts_t;

/* Reads "--name value" pairs: --host, --port (required), --duration and
 * --warmup into o, any other through own(opt, value), which returns 0 for an
 * option it does not know. A missing value, an unknown option or no --port
 * calls usage(), which exits. */
static void parse_options(int argc, char **argv, run_opts_t *o,
                          int (*own)(const char *opt, const char *val), void (*usage)(void)) {
  o->host = "127.0.0.1";
  o->port = 0;
  o->duration = 5.0;
  o->warmup = 1.0;
  for (int i = 1; i < argc; i += 2) {
    const char *opt = argv[i], *val;
    if (i + 1 >= argc)
      usage();
    val = argv[i + 1];
    if (strcmp(opt, "--host") == 0)
      o->host = val;
    else if (strcmp(opt, "--port") == 0)
      o->port = parse_long(opt, val, 1, 65535);
    else if (strcmp(opt, "--duration") == 0)
      o->duration = parse_seconds(opt, val, 0.01, 86400);
    else if (strcmp(opt, "--warmup") == 0)
      o->warmup = parse_seconds(opt, val, 0, 86400);
    else if (!own(opt, val))
      usage();
  }
  if (o->port == 0)
    usage();
}

/* Resolve host:port (numeric or a name) into addr; exits on failure. */
static socklen_t resolve(const char *host, long port, int socktype,
                         struct sockaddr_storage *addr) {
  struct addrinfo hints, *res = NULL;
  char service[16];
  socklen_t len;
  int r;

  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV;
  snprintf(service, sizeof(service), "%ld", port);
  r = getaddrinfo(host, service, &hints, &res);
  if (r != 0 || res == NULL)
    fail("cannot resolve host '%s'", host);
  if (res->ai_addrlen > sizeof(*addr)) {
    freeaddrinfo(res);
    fail("address of '%s' is too long", host);
  }
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  len = (socklen_t)res->ai_addrlen;
  freeaddrinfo(res);
  return len;
}

/* Point msgs[0..n) at n buffers of `size` bytes each, back to back from `base`, one
 * iovec each, with names[k] as the source-address buffers (or none if names is NULL):
 * ready for recvmmsg. */
static inline void mmsg_prepare(struct mmsghdr *msgs, struct iovec *iov, int n,
                                unsigned char *base, size_t size,
                                struct sockaddr_storage *names) {
  for (int k = 0; k < n; k++) {
    iov[k].iov_base = base + (size_t)k * size;
    iov[k].iov_len = size;
    memset(&msgs[k], 0, sizeof(msgs[k]));
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
    if (names != NULL) {
      msgs[k].msg_hdr.msg_name = &names[k];
      msgs[k].msg_hdr.msg_namelen = sizeof(names[k]);
    }
  }
}

static void mark(const char *what) {
  printf("#mark %s\n", what);
  fflush(stdout);
}

/* The run's clock: a warmup, then the measured window, whose opening and closing are
 * marked for the runner. Callbacks record samples only while win->measuring. */
typedef struct {
  uint64_t measure; /* when the window opens */
  uint64_t end;     /* when the run ends */
  uint64_t opened;  /* when the window actually opened */
  int measuring;
} window_t;

static void window_init(window_t *w, uint64_t begin, double warmup, double duration) {
  w->measure = begin + (uint64_t)(warmup * 1e9);
  w->end = w->measure + (uint64_t)(duration * 1e9);
  w->opened = 0;
  w->measuring = 0;
}

/* Opens the window once its time has come; returns the next boundary (open or end). */
static uint64_t window_tick(window_t *w, uint64_t now) {
  if (!w->measuring && now >= w->measure) {
    w->measuring = 1;
    w->opened = now;
    mark("start");
  }
  return w->measuring ? w->end : w->measure;
}

/* Closes the window; returns the seconds measured (0 if it never opened). */
static double window_close(window_t *w) {
  uint64_t now = now_ns();
  if (w->measuring)
    mark("end");
  else
    w->opened = now;
  return (double)(now - w->opened) / 1e9;
}

static void print_result(uint64_t messages, double seconds, size_t size, const hist_t *h,
                         uint64_t errors, const char *extra) {
  double rate = seconds > 0 ? (double)messages / seconds : 0.0;
  printf("{\"messages\":%llu,\"seconds\":%.6f,\"rate\":%.2f,\"bytes_per_s\":%.1f,"
         "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f,"
         "\"errors\":%llu%s}\n",
         (unsigned long long)messages, seconds, rate, rate * (double)size,
         hist_quantile(h, 0.50) / 1000.0, hist_quantile(h, 0.90) / 1000.0,
         hist_quantile(h, 0.99) / 1000.0, (double)h->max / 1000.0,
         (unsigned long long)errors, extra ? extra : "");
  fflush(stdout);
}

#endif

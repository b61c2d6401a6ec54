/*
 * udp_echo_load.c: a closed-loop UDP echo load generator on epoll (no libuv).
 *
 *   udp_echo_load --host H --port P [--inflight N] [--size BYTES]
 *                 [--duration S] [--warmup S] [--sockets K] [--timeout-ms T]
 *
 * N datagrams are kept in flight, spread over K connected sockets. Every
 * datagram carries a header (magic, slot, sequence number, send time); each
 * echo that matches its slot's current sequence number completes a message
 * and immediately sends the slot's next datagram. A slot whose datagram is not
 * echoed within T ms (default 200) counts one loss and is re-issued with a new
 * sequence number, so the number in flight never drains; an echo that arrives
 * after that is counted as "late" and ignored. Datagrams are read with
 * recvmmsg and the replies sent with sendmmsg, both in batches.
 *
 * Before the run one probe datagram must be echoed within 3 s, otherwise the
 * program exits 1 ("no echo"). Output: "#mark start" / "#mark end" around the
 * measured window, then one JSON line: messages, seconds, rate, bytes_per_s,
 * p50_us, p90_us, p99_us, max_us, errors, lost, late, inflight, size, sockets.
 */
#define _GNU_SOURCE

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loadgen.h"

#define MAGIC 0x53455131u       /* "1QES" */
#define PROBE_MAGIC 0x53455150u /* "PQES" */
#define HDR_SIZE 24             /* magic u32, slot u32, seq u64, send time u64 */
#define MAX_DGRAM 65507
#define MAX_INFLIGHT 100000
#define MAX_SOCKETS 64
#define BATCH 64
#define PROBE_TIMEOUT_MS 3000

typedef struct {
  uint64_t seq;
  uint64_t t_send;
  int unsent; /* the send failed with EAGAIN; retried from the main loop */
} slot_t;

typedef struct {
  uint32_t magic, slot;
  uint64_t seq, t_send;
} hdr_t;

typedef struct {
  int fd;
  /* outgoing batch */
  unsigned nout;
  unsigned out_slot[BATCH];
  unsigned char out_hdr[BATCH][HDR_SIZE];
  struct iovec out_iov[BATCH][2];
  struct mmsghdr out_msg[BATCH];
} sock_t;

static size_t msg_size = 100;
static long ninflight = 10;
static long nsockets = 1;
static slot_t *slots;
static sock_t *socks;
static unsigned char *payload; /* the constant bytes after the header */
static unsigned char *rbufs;   /* BATCH receive buffers of msg_size + 1 bytes */
static long unsent_count;
static window_t win;
static uint64_t messages, lost, late, errors;
static hist_t hist;

static void put_hdr(unsigned char *p, const hdr_t *h) {
  memcpy(p, &h->magic, 4);
  memcpy(p + 4, &h->slot, 4);
  memcpy(p + 8, &h->seq, 8);
  memcpy(p + 16, &h->t_send, 8);
}

static void get_hdr(const unsigned char *p, hdr_t *h) {
  memcpy(&h->magic, p, 4);
  memcpy(&h->slot, p + 4, 4);
  memcpy(&h->seq, p + 8, 8);
  memcpy(&h->t_send, p + 16, 8);
}

/* Queue slot i's current datagram on its socket's outgoing batch. */
static void flush_out(sock_t *s);

static void queue_send(unsigned i) {
  sock_t *s = &socks[i % (unsigned)nsockets];
  hdr_t h;
  unsigned k;
  if (s->nout == BATCH)
    flush_out(s);
  k = s->nout++;
  h.magic = MAGIC;
  h.slot = i;
  h.seq = slots[i].seq;
  h.t_send = slots[i].t_send;
  put_hdr(s->out_hdr[k], &h);
  s->out_slot[k] = i;
}

static void mark_unsent(unsigned i) {
  if (!slots[i].unsent) {
    slots[i].unsent = 1;
    unsent_count++;
  }
}

static void flush_out(sock_t *s) {
  unsigned done = 0;
  while (done < s->nout) {
    int r = sendmmsg(s->fd, s->out_msg + done, s->nout - done, MSG_DONTWAIT);
    if (r > 0) {
      done += (unsigned)r;
      continue;
    }
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
      errors++; /* e.g. ECONNREFUSED: the slot times out and is re-issued */
    for (; done < s->nout; done++)
      mark_unsent(s->out_slot[done]);
  }
  s->nout = 0;
}

static void issue(unsigned i, uint64_t now) {
  slots[i].seq++;
  slots[i].t_send = now;
  queue_send(i);
}

static void on_readable(sock_t *s) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  size_t blen = msg_size + 1;
  int n, k;

  mmsg_prepare(msgs, iov, BATCH, (unsigned char *)rbufs, blen, NULL);
  n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      errors++; /* ECONNREFUSED from an ICMP error, for example */
    return;
  }
  if (n > 0) {
    uint64_t now = now_ns();
    for (k = 0; k < n; k++) {
      const unsigned char *p = iov[k].iov_base;
      hdr_t h;
      if (msgs[k].msg_len < HDR_SIZE) {
        errors++;
        continue;
      }
      get_hdr(p, &h);
      if (h.magic == PROBE_MAGIC)
        continue;
      if (h.magic != MAGIC || h.slot >= (uint32_t)ninflight || msgs[k].msg_len != msg_size ||
          (msgs[k].msg_hdr.msg_flags & MSG_TRUNC)) {
        errors++;
        continue;
      }
      if (h.seq != slots[h.slot].seq || slots[h.slot].unsent) {
        late++; /* already declared lost and re-issued */
        continue;
      }
      if (msg_size > HDR_SIZE && memcmp(p + HDR_SIZE, payload, msg_size - HDR_SIZE) != 0)
        errors++;
      if (win.measuring) {
        messages++;
        hist_add(&hist, now - slots[h.slot].t_send);
      }
      issue(h.slot, now);
    }
  }
  flush_out(s);
}

/* Re-issue slots whose datagram timed out, and retry sends that hit EAGAIN. */
static void scan_slots(uint64_t now, uint64_t timeout_ns) {
  long i;
  for (i = 0; i < ninflight; i++) {
    slot_t *sl = &slots[i];
    if (sl->unsent) {
      sl->unsent = 0;
      unsent_count--;
      sl->t_send = now;
      queue_send((unsigned)i);
    } else if (now - sl->t_send > timeout_ns) {
      if (win.measuring)
        lost++;
      issue((unsigned)i, now);
    }
  }
  for (i = 0; i < nsockets; i++)
    flush_out(&socks[i]);
}

static void probe(int fd, const char *host, long port) {
  unsigned char buf[HDR_SIZE];
  unsigned char in[HDR_SIZE + 1];
  hdr_t h = {PROBE_MAGIC, 0, 0, 0};
  uint64_t deadline = now_ns() + (uint64_t)PROBE_TIMEOUT_MS * 1000000ull;
  char why[128] = "timed out";

  put_hdr(buf, &h);
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    uint64_t now = now_ns();
    int r;
    if (now >= deadline)
      break;
    if (send(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno != EAGAIN)
      snprintf(why, sizeof(why), "%s", strerror(errno));
    r = poll(&pfd, 1, 200);
    if (r > 0) {
      ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
      if (n == HDR_SIZE) {
        get_hdr(in, &h);
        if (h.magic == PROBE_MAGIC)
          return;
      } else if (n < 0 && errno != EAGAIN) {
        snprintf(why, sizeof(why), "%s", strerror(errno));
        usleep(50000); /* the server may still be starting */
      }
    }
  }
  fprintf(stderr, "%s: no echo from %s:%ld (%s)\n", prog_name, host, port, why);
  exit(1);
}

static void usage(void) {
  fprintf(stderr, "usage: udp_echo_load --host H --port P [--inflight N] [--size BYTES]\n"
                  "                     [--duration S] [--warmup S] [--sockets K]"
                  " [--timeout-ms T]\n");
  exit(2);
}

static long timeout_ms = 200;

/* This program's own options (parse_options reads the common ones). */
static int own_option(const char *opt, const char *val) {
  if (strcmp(opt, "--inflight") == 0)
    ninflight = parse_long(opt, val, 1, MAX_INFLIGHT);
  else if (strcmp(opt, "--size") == 0)
    msg_size = (size_t)parse_long(opt, val, HDR_SIZE, MAX_DGRAM);
  else if (strcmp(opt, "--sockets") == 0)
    nsockets = parse_long(opt, val, 1, MAX_SOCKETS);
  else if (strcmp(opt, "--timeout-ms") == 0)
    timeout_ms = parse_long(opt, val, 1, 60000);
  else
    return 0;
  return 1;
}

int main(int argc, char **argv) {
  run_opts_t o;
  struct sockaddr_storage addr;
  struct epoll_event events[MAX_SOCKETS];
  socklen_t addrlen;
  uint64_t t_begin, now, last_scan, timeout_ns;
  double seconds;
  long i;
  char extra[200];

  prog_name = "udp_echo_load";
  parse_options(argc, argv, &o, own_option, usage);
  if (nsockets > ninflight)
    nsockets = ninflight;
  timeout_ns = (uint64_t)timeout_ms * 1000000ull;

  slots = calloc((size_t)ninflight, sizeof(*slots));
  socks = calloc((size_t)nsockets, sizeof(*socks));
  payload = malloc(msg_size - HDR_SIZE + 1);
  rbufs = malloc((size_t)BATCH * (msg_size + 1));
  if (slots == NULL || socks == NULL || payload == NULL || rbufs == NULL)
    fail("%s", "out of memory");
  for (size_t k = 0; k < msg_size - HDR_SIZE; k++)
    payload[k] = (unsigned char)('A' + k % 26);

  addrlen = resolve(o.host, o.port, SOCK_DGRAM, &addr);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    fail("epoll_create1: %s", strerror(errno));
  for (i = 0; i < nsockets; i++) {
    sock_t *s = &socks[i];
    struct epoll_event ev;
    s->fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
      fail("socket: %s", strerror(errno));
    if (connect(s->fd, (const struct sockaddr *)&addr, addrlen) != 0) {
      fprintf(stderr, "%s: cannot connect to %s:%ld: %s\n", prog_name, o.host, o.port,
              strerror(errno));
      return 1;
    }
    for (unsigned k = 0; k < BATCH; k++) {
      s->out_iov[k][0].iov_base = s->out_hdr[k];
      s->out_iov[k][0].iov_len = HDR_SIZE;
      s->out_iov[k][1].iov_base = payload;
      s->out_iov[k][1].iov_len = msg_size - HDR_SIZE;
      memset(&s->out_msg[k], 0, sizeof(s->out_msg[k]));
      s->out_msg[k].msg_hdr.msg_iov = s->out_iov[k];
      s->out_msg[k].msg_hdr.msg_iovlen = msg_size > HDR_SIZE ? 2 : 1;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = s;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0)
      fail("epoll_ctl: %s", strerror(errno));
  }
  probe(socks[0].fd, o.host, o.port);

  hist_reset(&hist);
  t_begin = now_ns();
  window_init(&win, t_begin, o.warmup, o.duration);
  for (i = 0; i < ninflight; i++)
    issue((unsigned)i, t_begin);
  for (i = 0; i < nsockets; i++)
    flush_out(&socks[i]);
  last_scan = t_begin;

  for (;;) {
    uint64_t deadline;
    int n, timeout;

    now = now_ns();
    deadline = window_tick(&win, now);
    if (now >= win.end)
      break;
    if (unsent_count > 0 || now - last_scan >= 10000000ull) {
      scan_slots(now, timeout_ns);
      last_scan = now;
    }
    if (deadline > last_scan + 10000000ull)
      deadline = last_scan + 10000000ull;
    timeout = unsent_count > 0 ? 1 : (int)((deadline - now + 999999) / 1000000);
    n = epoll_wait(ep, events, MAX_SOCKETS, timeout);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail("epoll_wait: %s", strerror(errno));
    }
    for (int k = 0; k < n; k++)
      on_readable(events[k].data.ptr);
  }
  seconds = window_close(&win);

  snprintf(extra, sizeof(extra),
           ",\"lost\":%llu,\"late\":%llu,\"inflight\":%ld,\"size\":%zu,\"sockets\":%ld",
           (unsigned long long)lost, (unsigned long long)late, ninflight, msg_size, nsockets);
  print_result(messages, seconds, msg_size, &hist, errors, extra);
  for (i = 0; i < nsockets; i++)
    close(socks[i].fd);
  close(ep);
  return 0;
}

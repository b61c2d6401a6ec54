/*
 * tcp_echo_load.c: a closed-loop TCP echo load generator on epoll (no libuv,
 * so it is the same client for every server it measures).
 *
 *   tcp_echo_load --host H --port P [--conns N] [--size BYTES]
 *                 [--duration S] [--warmup S]
 *
 * Each of N connections (TCP_NODELAY) sends one SIZE-byte message, waits
 * until all SIZE bytes have come back (checking them), then sends the next.
 * Only messages completed inside the measured window (after the warmup) are
 * counted. Latency is the time from the first byte sent to the last byte
 * received, kept in a bounded log-linear histogram.
 *
 * Output: "#mark start" / "#mark end" lines around the measured window, then
 * one JSON line: messages, seconds, rate (messages/s), bytes_per_s (payload
 * bytes echoed per second, one direction), p50_us, p90_us, p99_us, max_us,
 * errors (connections lost and corrupt echoes), conns, size.
 * Exits 1 if it cannot connect or if every connection is lost.
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loadgen.h"

#define MAX_CONNS 10000
#define MAX_SIZE (64L * 1024 * 1024)
#define RBUF_SIZE (256 * 1024)
#define MAX_EVENTS 256
#define CONNECT_TIMEOUT_MS 5000

typedef struct {
  int fd;
  int want_out; /* EPOLLOUT is registered */
  size_t sent;  /* bytes of the current message sent */
  size_t recvd; /* bytes of the current message echoed back */
  uint64_t t0;  /* when the current message started */
} conn_t;

static int ep = -1;
static size_t msg_size = 1024;
static char *payload;
static char *rbuf;
static conn_t *conns;
static long nconns = 10;
static long alive;
static uint64_t errors;
static uint64_t messages;
static window_t win;
static hist_t hist;

static void conn_fail(conn_t *c) {
  if (c->fd < 0)
    return;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  errors++;
  alive--;
}

static void set_out(conn_t *c, int on) {
  struct epoll_event ev;
  if (c->want_out == on)
    return;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
  ev.data.ptr = c;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    conn_fail(c);
    return;
  }
  c->want_out = on;
}

/* Send as much of the current message as the socket takes. */
static void pump_send(conn_t *c) {
  while (c->sent < msg_size) {
    ssize_t n = send(c->fd, payload + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_out(c, 1);
      return;
    } else {
      conn_fail(c);
      return;
    }
  }
  set_out(c, 0);
}

static void start_message(conn_t *c, uint64_t now) {
  c->sent = 0;
  c->recvd = 0;
  c->t0 = now;
  pump_send(c);
}

static void on_readable(conn_t *c) {
  ssize_t n = recv(c->fd, rbuf, RBUF_SIZE, 0);
  size_t got;
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      conn_fail(c);
    return;
  }
  if (n == 0) {
    conn_fail(c); /* the server closed the connection */
    return;
  }
  got = (size_t)n;
  if (c->recvd + got > c->sent) {
    conn_fail(c); /* more came back than was sent */
    return;
  }
  if (memcmp(rbuf, payload + c->recvd, got) != 0)
    errors++;
  c->recvd += got;
  if (c->recvd == msg_size) {
    uint64_t now = now_ns();
    if (win.measuring) {
      messages++;
      hist_add(&hist, now - c->t0);
    }
    start_message(c, now);
  }
}

static int connect_one(const struct sockaddr_storage *addr, socklen_t addrlen,
                       const char *host, long port) {
  struct pollfd pfd;
  int fd, one = 1, err = 0, r;
  socklen_t elen = sizeof(err);
  char where[300];

  snprintf(where, sizeof(where), "%s:%ld", host, port);
  fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail("socket: %s", strerror(errno));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  r = connect(fd, (const struct sockaddr *)addr, addrlen);
  if (r != 0 && errno != EINPROGRESS) {
    fprintf(stderr, "%s: cannot connect to %s: %s\n", prog_name, where, strerror(errno));
    exit(1);
  }
  if (r != 0) {
    pfd.fd = fd;
    pfd.events = POLLOUT;
    do
      r = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      fprintf(stderr, "%s: cannot connect to %s: timed out\n", prog_name, where);
      exit(1);
    }
    if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
      fprintf(stderr, "%s: cannot connect to %s: %s\n", prog_name, where,
              strerror(err ? err : errno));
      exit(1);
    }
  }
  return fd;
}

static void usage(void) {
  fprintf(stderr, "usage: tcp_echo_load --host H --port P [--conns N] [--size BYTES]\n"
                  "                     [--duration S] [--warmup S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  struct sockaddr_storage addr;
  struct epoll_event events[MAX_EVENTS];
  struct rlimit rl;
  socklen_t addrlen;
  double duration = 5.0, warmup = 1.0;
  uint64_t t_begin, now;
  double seconds;
  long port = 0, i;
  char extra[96];

  prog_name = "tcp_echo_load";
  for (i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (i + 1 >= argc)
      usage();
    if (strcmp(opt, "--host") == 0)
      host = argv[++i];
    else if (strcmp(opt, "--port") == 0)
      port = parse_long(opt, argv[++i], 1, 65535);
    else if (strcmp(opt, "--conns") == 0)
      nconns = parse_long(opt, argv[++i], 1, MAX_CONNS);
    else if (strcmp(opt, "--size") == 0)
      msg_size = (size_t)parse_long(opt, argv[++i], 1, MAX_SIZE);
    else if (strcmp(opt, "--duration") == 0)
      duration = parse_seconds(opt, argv[++i], 0.01, 86400);
    else if (strcmp(opt, "--warmup") == 0)
      warmup = parse_seconds(opt, argv[++i], 0, 86400);
    else
      usage();
  }
  if (port == 0)
    usage();
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (rlim_t)nconns + 16 > rl.rlim_cur) {
    fprintf(stderr, "%s: --conns %ld exceeds the open-file limit (%llu)\n", prog_name, nconns,
            (unsigned long long)rl.rlim_cur);
    return 2;
  }

  payload = malloc(msg_size);
  rbuf = malloc(RBUF_SIZE);
  conns = calloc((size_t)nconns, sizeof(*conns));
  if (payload == NULL || rbuf == NULL || conns == NULL)
    fail("%s", "out of memory");
  for (size_t k = 0; k < msg_size; k++)
    payload[k] = (char)('a' + (k * 7 + k / 26) % 26);

  addrlen = resolve(host, port, SOCK_STREAM, &addr);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    fail("epoll_create1: %s", strerror(errno));
  for (i = 0; i < nconns; i++) {
    struct epoll_event ev;
    conns[i].fd = connect_one(&addr, addrlen, host, port);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &conns[i];
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0)
      fail("epoll_ctl: %s", strerror(errno));
    alive++;
  }

  hist_reset(&hist);
  t_begin = now_ns();
  window_init(&win, t_begin, warmup, duration);
  for (i = 0; i < nconns; i++)
    start_message(&conns[i], t_begin);

  for (;;) {
    uint64_t deadline;
    int n, timeout_ms;

    now = now_ns();
    deadline = window_tick(&win, now);
    if (now >= win.end || alive == 0)
      break;
    timeout_ms = (int)((deadline - now + 999999) / 1000000);
    n = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail("epoll_wait: %s", strerror(errno));
    }
    for (int k = 0; k < n; k++) {
      conn_t *c = events[k].data.ptr;
      if (c->fd < 0)
        continue;
      if (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
      if (c->fd >= 0 && (events[k].events & EPOLLOUT) && c->sent < msg_size)
        pump_send(c);
    }
  }
  seconds = window_close(&win);

  snprintf(extra, sizeof(extra), ",\"conns\":%ld,\"size\":%zu", nconns, msg_size);
  print_result(messages, seconds, msg_size, &hist, errors, extra);
  for (i = 0; i < nconns; i++)
    if (conns[i].fd >= 0)
      close(conns[i].fd);
  if (alive == 0) {
    fprintf(stderr, "%s: every connection was lost\n", prog_name);
    return 1;
  }
  return 0;
}

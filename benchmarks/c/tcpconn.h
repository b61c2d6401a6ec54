/*
 * tcpconn.h: what the closed-loop TCP load generators (tcp_echo_load,
 * ws_echo_load, tls_echo_load) share: connecting with a timeout, the epoll set
 * of connections and its counters, and the event loop over the measured
 * window. What goes over a connection (plain bytes, WebSocket frames, TLS
 * records) stays in each program.
 */
#ifndef BENCH_TCPCONN_H
#define BENCH_TCPCONN_H

#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loadgen.h"

#define MAX_CONNS 10000
#define MAX_EVENTS 256
#define CONNECT_TIMEOUT_MS 5000
#define MAX_SIZE (64L * 1024 * 1024)

static long nconns = 10;       /* --conns */
static size_t msg_size = 1024; /* --size: the payload bytes of one message */
static int ep = -1;       /* the epoll set of every connection */
static long alive;        /* connections still open */
static uint64_t errors;   /* connections lost, corrupt or unexpected echoes */
static uint64_t messages; /* round trips completed inside the window */
static window_t win;
static hist_t hist;

/* Exits 2 unless nconns sockets (and a few more) fit under the open-file limit. */
static void check_open_files(long nconns) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      (rlim_t)nconns + 16 > rl.rlim_cur) {
    fprintf(stderr, "%s: --conns %ld exceeds the open-file limit (%llu)\n", prog_name, nconns,
            (unsigned long long)rl.rlim_cur);
    exit(2);
  }
}

/* Reads --conns and --size; returns 0 for another option (parse_options' own()). */
static int conn_option(const char *opt, const char *val) {
  if (strcmp(opt, "--conns") == 0)
    nconns = parse_long(opt, val, 1, MAX_CONNS);
  else if (strcmp(opt, "--size") == 0)
    msg_size = (size_t)parse_long(opt, val, 1, MAX_SIZE);
  else
    return 0;
  return 1;
}

/* poll() one fd until deadline (now_ns() time); returns poll's result. */
static int wait_fd(int fd, short events, uint64_t deadline) {
  struct pollfd pfd;
  int r;
  pfd.fd = fd;
  pfd.events = events;
  do {
    uint64_t now = now_ns();
    int timeout_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);
    r = poll(&pfd, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r;
}

/* When connecting (and any handshake) started now must be done. */
static uint64_t connect_deadline(void) {
  return now_ns() + (uint64_t)CONNECT_TIMEOUT_MS * 1000000u;
}

/* A non-blocking TCP_NODELAY socket connected to addr ("where" in messages) by
 * deadline; exits 1 if it cannot be. */
static int tcp_connect(const struct sockaddr_storage *addr, socklen_t addrlen,
                       const char *where, uint64_t deadline) {
  int fd, one = 1, err = 0, r;
  socklen_t elen = sizeof(err);

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
    r = wait_fd(fd, POLLOUT, deadline);
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

/* Resolves o's server into addr and its "host:port" into where (for messages),
 * and creates the epoll set. Returns the address's length. */
static socklen_t conn_target(const run_opts_t *o, struct sockaddr_storage *addr, char *where,
                             size_t where_size) {
  socklen_t addrlen = resolve(o->host, o->port, SOCK_STREAM, addr);
  snprintf(where, where_size, "%s:%ld", o->host, o->port);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    fail("epoll_create1: %s", strerror(errno));
  return addrlen;
}

/* Byte k of every message sent: letters in a pattern that does not repeat
 * with a short period, so a misplaced byte shows. */
static char message_byte(size_t k) {
  return (char)('a' + (k * 7 + k / 26) % 26);
}

/* Adds a connected socket to the set, for input, with conn as its event data. */
static void conn_add(int fd, void *conn) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN;
  ev.data.ptr = conn;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
    fail("epoll_ctl: %s", strerror(errno));
  alive++;
}

/* Registers output readiness (on) or not, tracked in *want_out; -1 if epoll
 * refused, and the caller drops the connection. */
static int conn_want_out(int fd, int *want_out, int on, void *conn) {
  struct epoll_event ev;
  if (*want_out == on)
    return 0;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
  ev.data.ptr = conn;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
    return -1;
  *want_out = on;
  return 0;
}

/* Drops a lost connection: out of the set, closed, counted as an error. */
static void conn_drop(int *fd) {
  if (*fd < 0)
    return;
  epoll_ctl(ep, EPOLL_CTL_DEL, *fd, NULL);
  close(*fd);
  *fd = -1;
  errors++;
  alive--;
}

/* A round trip that started at t0 is complete at now: counted if in the window. */
static void message_done(uint64_t t0, uint64_t now) {
  if (win.measuring) {
    messages++;
    hist_add(&hist, now - t0);
  }
}

/* Opens the run's clock: warmup, then duration measured. Returns its start. */
static uint64_t run_begin(double warmup, double duration) {
  uint64_t t_begin = now_ns();
  hist_reset(&hist);
  window_init(&win, t_begin, warmup, duration);
  return t_begin;
}

/* Waits on the set until the window closes or every connection is lost, handing
 * each event to on_event with its connection; returns the seconds measured. */
static double run_loop(void (*on_event)(void *conn, uint32_t events)) {
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    uint64_t now = now_ns(), deadline = window_tick(&win, now);
    int n, timeout_ms;
    if (now >= win.end || alive == 0)
      break;
    timeout_ms = (int)((deadline - now + 999999) / 1000000);
    n = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail("epoll_wait: %s", strerror(errno));
    }
    for (int k = 0; k < n; k++)
      on_event(events[k].data.ptr, events[k].events);
  }
  return window_close(&win);
}

/* The exit status at the end: 1, with a message, if no connection survived. */
static int run_status(void) {
  if (alive == 0) {
    fprintf(stderr, "%s: every connection was lost\n", prog_name);
    return 1;
  }
  return 0;
}

#endif

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

#include "tcpconn.h"

#define MAX_SIZE (64L * 1024 * 1024)
#define RBUF_SIZE (256 * 1024)

typedef struct {
  int fd;
  int want_out; /* EPOLLOUT is registered */
  size_t sent;  /* bytes of the current message sent */
  size_t recvd; /* bytes of the current message echoed back */
  uint64_t t0;  /* when the current message started */
} conn_t;

static size_t msg_size = 1024;
static char *payload;
static char *rbuf;
static conn_t *conns;
static long nconns = 10;

static void set_out(conn_t *c, int on) {
  if (conn_want_out(c->fd, &c->want_out, on, c) != 0)
    conn_drop(&c->fd);
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
      conn_drop(&c->fd);
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
      conn_drop(&c->fd);
    return;
  }
  if (n == 0) {
    conn_drop(&c->fd); /* the server closed the connection */
    return;
  }
  got = (size_t)n;
  if (c->recvd + got > c->sent) {
    conn_drop(&c->fd); /* more came back than was sent */
    return;
  }
  if (memcmp(rbuf, payload + c->recvd, got) != 0)
    errors++;
  c->recvd += got;
  if (c->recvd == msg_size) {
    uint64_t now = now_ns();
    message_done(c->t0, now);
    start_message(c, now);
  }
}

static void on_event(void *conn, uint32_t events) {
  conn_t *c = conn;
  if (c->fd < 0)
    return;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    on_readable(c);
  if (c->fd >= 0 && (events & EPOLLOUT) && c->sent < msg_size)
    pump_send(c);
}

static void usage(void) {
  fprintf(stderr, "usage: tcp_echo_load --host H --port P [--conns N] [--size BYTES]\n"
                  "                     [--duration S] [--warmup S]\n");
  exit(2);
}

/* This program's own options (parse_options reads the common ones). */
static int own_option(const char *opt, const char *val) {
  if (strcmp(opt, "--conns") == 0)
    nconns = parse_long(opt, val, 1, MAX_CONNS);
  else if (strcmp(opt, "--size") == 0)
    msg_size = (size_t)parse_long(opt, val, 1, MAX_SIZE);
  else
    return 0;
  return 1;
}

int main(int argc, char **argv) {
  run_opts_t o;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  uint64_t t_begin;
  double seconds;
  long i;
  char where[300], extra[96];

  prog_name = "tcp_echo_load";
  parse_options(argc, argv, &o, own_option, usage);
  check_open_files(nconns);

  payload = malloc(msg_size);
  rbuf = malloc(RBUF_SIZE);
  conns = calloc((size_t)nconns, sizeof(*conns));
  if (payload == NULL || rbuf == NULL || conns == NULL)
    fail("%s", "out of memory");
  for (size_t k = 0; k < msg_size; k++)
    payload[k] = (char)('a' + (k * 7 + k / 26) % 26);

  addrlen = resolve(o.host, o.port, SOCK_STREAM, &addr);
  snprintf(where, sizeof(where), "%s:%ld", o.host, o.port);
  conn_set_open();
  for (i = 0; i < nconns; i++) {
    conns[i].fd = tcp_connect(&addr, addrlen, where, connect_deadline());
    conn_add(conns[i].fd, &conns[i]);
  }

  t_begin = run_begin(o.warmup, o.duration);
  for (i = 0; i < nconns; i++)
    start_message(&conns[i], t_begin);
  seconds = run_loop(on_event);

  snprintf(extra, sizeof(extra), ",\"conns\":%ld,\"size\":%zu", nconns, msg_size);
  print_result(messages, seconds, msg_size, &hist, errors, extra);
  for (i = 0; i < nconns; i++)
    if (conns[i].fd >= 0)
      close(conns[i].fd);
  return run_status();
}

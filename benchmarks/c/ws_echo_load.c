/*
 * ws_echo_load.c: a closed-loop WebSocket echo load generator on epoll (no
 * libuv, no WebSocket library, so it is the same client for every server).
 *
 *   ws_echo_load --host H --port P [--conns N] [--size BYTES]
 *                [--duration S] [--warmup S]
 *
 * Each of N connections (TCP_NODELAY) does the opening handshake (RFC 6455
 * §4, no extensions: the servers' framing is measured, not zlib), then sends
 * one binary message of SIZE bytes in one masked frame, waits until the whole
 * unmasked echo frame has come back (checking every byte), then sends the
 * next. The frame is built once: every message carries the same masking key,
 * which a load generator may do (the key protects browsers, not servers).
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

#define HANDSHAKE_MAX 4096
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
static char *payload;       /* the masked frame sent */
static size_t send_size;
static char *expect;        /* the echo frame expected back */
static size_t expect_size;
static char *rbuf;
static conn_t *conns;
static long nconns = 10;

static void set_out(conn_t *c, int on) {
  if (conn_want_out(c->fd, &c->want_out, on, c) != 0)
    conn_drop(&c->fd);
}

/* Send as much of the current message as the socket takes. */
static void pump_send(conn_t *c) {
  while (c->sent < send_size) {
    ssize_t n = send(c->fd, payload + c->sent, send_size - c->sent, MSG_NOSIGNAL);
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
  if (c->recvd + got > expect_size) {
    conn_drop(&c->fd); /* more came back than one echo frame */
    return;
  }
  if (memcmp(rbuf, expect + c->recvd, got) != 0)
    errors++;
  c->recvd += got;
  if (c->recvd == expect_size) {
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
  if (c->fd >= 0 && (events & EPOLLOUT) && c->sent < send_size)
    pump_send(c);
}

/* The opening handshake, blocking (before the measured window): a fixed key, so
 * the expected Sec-WebSocket-Accept is fixed too (RFC 6455 §1.3's example). */
static void handshake(int fd, const char *host, long port) {
  static const char accept_line[] = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  char req[512], resp[HANDSHAKE_MAX + 1];
  size_t sent = 0, got = 0;
  int len = snprintf(req, sizeof(req),
                     "GET / HTTP/1.1\r\nHost: %s:%ld\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", host, port);
  struct pollfd pfd;
  if (len < 0 || (size_t)len >= sizeof(req))
    fail("%s", "host name too long");
  pfd.fd = fd;
  while (sent < (size_t)len || got < 4 || memcmp(resp + got - 4, "\r\n\r\n", 4) != 0) {
    ssize_t n;
    pfd.events = sent < (size_t)len ? POLLOUT : POLLIN;
    if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) <= 0)
      fail("%s", "handshake timed out");
    if (sent < (size_t)len) {
      n = send(fd, req + sent, (size_t)len - sent, MSG_NOSIGNAL);
      if (n > 0)
        sent += (size_t)n;
    } else {
      /* one byte at a time: nothing after the head may be consumed here */
      n = recv(fd, resp + got, 1, 0);
      if (n == 0)
        fail("%s", "the server closed the connection during the handshake");
      if (n > 0 && ++got >= HANDSHAKE_MAX)
        fail("%s", "handshake response too long");
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      fail("handshake: %s", strerror(errno));
  }
  resp[got] = 0;
  if (strncmp(resp, "HTTP/1.1 101", 12) != 0 || strstr(resp, accept_line) == NULL)
    fail("bad handshake response: %.200s", resp);
}

/* A binary frame header for len payload bytes; returns its size. */
static size_t frame_header(unsigned char *h, size_t len, int masked) {
  size_t n;
  h[0] = 0x82;
  if (len < 126) {
    h[1] = (unsigned char)len;
    n = 2;
  } else if (len <= 0xFFFF) {
    h[1] = 126;
    h[2] = (unsigned char)(len >> 8);
    h[3] = (unsigned char)len;
    n = 4;
  } else {
    h[1] = 127;
    for (int k = 0; k < 8; k++)
      h[2 + k] = (unsigned char)((uint64_t)len >> (56 - 8 * k));
    n = 10;
  }
  if (masked)
    h[1] |= 0x80;
  return n;
}

static void build_frames(void) {
  static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  unsigned char h[14];
  size_t hs = frame_header(h, msg_size, 1), he;
  send_size = hs + 4 + msg_size;
  payload = malloc(send_size);
  if (payload == NULL)
    fail("%s", "out of memory");
  memcpy(payload, h, hs);
  memcpy(payload + hs, key, 4);
  he = frame_header(h, msg_size, 0);
  expect_size = he + msg_size;
  expect = malloc(expect_size);
  if (expect == NULL)
    fail("%s", "out of memory");
  memcpy(expect, h, he);
  for (size_t k = 0; k < msg_size; k++) {
    char c = (char)('a' + (k * 7 + k / 26) % 26);
    expect[he + k] = c;
    payload[hs + 4 + k] = (char)(c ^ key[k & 3]);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: ws_echo_load --host H --port P [--conns N] [--size BYTES]\n"
                  "                    [--duration S] [--warmup S]\n");
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

  prog_name = "ws_echo_load";
  parse_options(argc, argv, &o, own_option, usage);
  check_open_files(nconns);

  build_frames();
  rbuf = malloc(RBUF_SIZE);
  conns = calloc((size_t)nconns, sizeof(*conns));
  if (rbuf == NULL || conns == NULL)
    fail("%s", "out of memory");

  addrlen = resolve(o.host, o.port, SOCK_STREAM, &addr);
  snprintf(where, sizeof(where), "%s:%ld", o.host, o.port);
  conn_set_open();
  for (i = 0; i < nconns; i++) {
    conns[i].fd = tcp_connect(&addr, addrlen, where, connect_deadline());
    handshake(conns[i].fd, o.host, o.port);
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

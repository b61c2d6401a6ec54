/*
 * exchange.h: the closed loop of tcp_echo_load and ws_echo_load over plain
 * TCP. Each connection sends one fixed request (request, request_size), waits
 * until the whole fixed reply (reply, reply_size) has come back, checking
 * every byte, then sends the request again. The programs build the two: for
 * TCP echo both are the message; for WebSocket, a masked frame and the
 * unmasked echo frame.
 */
#ifndef BENCH_EXCHANGE_H
#define BENCH_EXCHANGE_H

#include "tcpconn.h"

#define RBUF_SIZE (256 * 1024)

typedef struct {
  int fd;
  int want_out; /* EPOLLOUT is registered */
  size_t sent;  /* bytes of the current request sent */
  size_t recvd; /* bytes of the current reply received */
  uint64_t t0;  /* when the current request started */
} conn_t;

static char *request;
static size_t request_size;
static char *reply;
static size_t reply_size;
/* The reply is the request echoed, so no byte of it may come back before it
 * was sent (TCP echo); otherwise only the whole reply's size bounds it. */
static int reply_is_echo;
static char *rbuf;
static conn_t *conns;

static void set_out(conn_t *c, int on) {
  if (conn_want_out(c->fd, &c->want_out, on, c) != 0)
    conn_drop(&c->fd);
}

/* Send as much of the current request as the socket takes. */
static void pump_send(conn_t *c) {
  while (c->sent < request_size) {
    ssize_t n = send(c->fd, request + c->sent, request_size - c->sent, MSG_NOSIGNAL);
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
  if (c->recvd + got > (reply_is_echo ? c->sent : reply_size)) {
    conn_drop(&c->fd); /* more came back than was sent, or than one reply */
    return;
  }
  if (memcmp(rbuf, reply + c->recvd, got) != 0)
    errors++;
  c->recvd += got;
  if (c->recvd == reply_size) {
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
  if (c->fd >= 0 && (events & EPOLLOUT) && c->sent < request_size)
    pump_send(c);
}

/* Connects nconns connections to o's server (each through after_connect, if
 * given, before it joins the set: an opening handshake), runs the loop over
 * the window, prints the result line and returns the exit status. */
static int exchange_run(const run_opts_t *o, void (*after_connect)(int fd, const run_opts_t *o)) {
  struct sockaddr_storage addr;
  socklen_t addrlen;
  uint64_t t_begin;
  double seconds;
  long i;
  char where[300], extra[96];

  rbuf = xcalloc(1, RBUF_SIZE);
  conns = xcalloc((size_t)nconns, sizeof(*conns));
  addrlen = conn_target(o, &addr, where, sizeof(where));
  for (i = 0; i < nconns; i++) {
    conns[i].fd = tcp_connect(&addr, addrlen, where, connect_deadline());
    if (after_connect != NULL)
      after_connect(conns[i].fd, o);
    conn_add(conns[i].fd, &conns[i]);
  }

  t_begin = run_begin(o->warmup, o->duration);
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

#endif

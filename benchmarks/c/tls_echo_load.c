/*
 * tls_echo_load.c: a closed-loop TLS echo load generator on epoll and OpenSSL
 * (no libuv, so it is the same client for every server it measures).
 *
 *   tls_echo_load --host H --port P [--conns N] [--size BYTES]
 *                 [--duration S] [--warmup S] [--ciphersuites LIST]
 *
 * Each of N connections (TCP_NODELAY, TLS 1.3) sends one SIZE-byte message,
 * waits until all SIZE bytes have come back (checking them), then sends the
 * next: tcp_echo_load.c with TLS in between. Every handshake is done before
 * the warmup starts, so only the record layer is measured. Only messages
 * completed inside the measured window (after the warmup) are counted.
 * Latency is the time from the first byte sent to the last byte received.
 *
 * The server's certificate is NOT verified: this is a load generator for
 * servers on the loopback interface with a throwaway self-signed certificate,
 * nothing else. --ciphersuites (OpenSSL's TLS 1.3 syntax) pins the suite, so
 * every server is measured with the same cipher; the one negotiated is
 * reported.
 *
 * Output: "#mark start" / "#mark end" lines around the measured window, then
 * one JSON line: messages, seconds, rate (messages/s), bytes_per_s (payload
 * bytes echoed per second, one direction), p50_us, p90_us, p99_us, max_us,
 * errors (connections lost and corrupt echoes), conns, size, tls, cipher.
 * Exits 1 if it cannot connect or handshake, or if every connection is lost.
 */
/* bench-link: -lssl -lcrypto */
#define _GNU_SOURCE

#include <signal.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tcpconn.h"

#define RBUF_SIZE (256 * 1024)

typedef struct {
  int fd;
  SSL *ssl;
  int want_out;         /* EPOLLOUT is registered */
  int read_wants_write; /* SSL_read asked to write first (a TLS 1.3 KeyUpdate) */
  size_t sent;          /* bytes of the current message accepted by SSL_write */
  size_t recvd;         /* bytes of the current message echoed back */
  uint64_t t0;          /* when the current message started */
} conn_t;

static char *payload;
static char *rbuf;
static conn_t *conns;

static void ssl_fail(const char *what, const char *where) {
  unsigned long e = ERR_get_error();
  char msg[256];
  if (e != 0)
    ERR_error_string_n(e, msg, sizeof(msg));
  else
    snprintf(msg, sizeof(msg), "%s", errno ? strerror(errno) : "connection closed");
  fprintf(stderr, "%s: %s %s: %s\n", prog_name, what, where, msg);
  exit(1);
}

static void conn_fail(conn_t *c) {
  if (c->fd < 0)
    return;
  SSL_free(c->ssl);
  c->ssl = NULL;
  conn_drop(&c->fd);
  ERR_clear_error();
}

static void set_out(conn_t *c, int on) {
  if (conn_want_out(c->fd, &c->want_out, on, c) != 0)
    conn_fail(c);
}

/* Hand as much of the current message to TLS as the socket takes. A write that
 * waits for the socket is retried with the same arguments, as OpenSSL asks. */
static void pump_send(conn_t *c) {
  while (c->sent < msg_size) {
    int chunk = (int)(msg_size - c->sent > INT_MAX ? INT_MAX : msg_size - c->sent);
    int n = SSL_write(c->ssl, payload + c->sent, chunk);
    if (n > 0) {
      c->sent += (size_t)n;
      continue;
    }
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_WRITE:
      set_out(c, 1);
      return;
    case SSL_ERROR_WANT_READ:
      return; /* on_readable() calls us again */
    default:
      conn_fail(c);
      return;
    }
  }
  if (!c->read_wants_write)
    set_out(c, 0);
}

static void start_message(conn_t *c, uint64_t now) {
  c->sent = 0;
  c->recvd = 0;
  c->t0 = now;
  pump_send(c);
}

/* Read every decrypted byte available: TLS buffers whole records, so the loop
 * goes on until OpenSSL needs more from the socket (epoll is level-triggered,
 * but data already inside the SSL object would not wake it). */
static void on_readable(conn_t *c) {
  for (;;) {
    int n = SSL_read(c->ssl, rbuf, RBUF_SIZE);
    size_t got;
    if (n <= 0) {
      switch (SSL_get_error(c->ssl, n)) {
      case SSL_ERROR_WANT_READ:
        break;
      case SSL_ERROR_WANT_WRITE:
        c->read_wants_write = 1;
        set_out(c, 1);
        break;
      default: /* the server closed the connection, or a TLS error */
        conn_fail(c);
        return;
      }
      break;
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
      message_done(c->t0, now);
      start_message(c, now);
      if (c->fd < 0)
        return;
    }
  }
  if (c->fd >= 0 && c->sent < msg_size)
    pump_send(c); /* a write that was waiting for a read */
}

static void on_writable(conn_t *c) {
  if (c->read_wants_write) {
    c->read_wants_write = 0;
    on_readable(c);
    if (c->fd < 0)
      return;
  }
  if (c->sent < msg_size)
    pump_send(c);
  else if (!c->read_wants_write)
    set_out(c, 0);
}

static void on_event(void *conn, uint32_t events) {
  conn_t *c = conn;
  if (c->fd < 0)
    return;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    on_readable(c);
  if (c->fd >= 0 && (events & EPOLLOUT))
    on_writable(c);
}

static void connect_one(conn_t *c, SSL_CTX *ctx, const struct sockaddr_storage *addr,
                        socklen_t addrlen, const char *where) {
  uint64_t deadline = connect_deadline();
  int fd = tcp_connect(addr, addrlen, where, deadline), r;

  c->fd = fd;
  c->ssl = SSL_new(ctx);
  if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)
    ssl_fail("cannot set up TLS for", where);
  for (;;) {
    errno = 0;
    r = SSL_connect(c->ssl);
    if (r == 1)
      break;
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
      r = wait_fd(fd, POLLIN, deadline);
      break;
    case SSL_ERROR_WANT_WRITE:
      r = wait_fd(fd, POLLOUT, deadline);
      break;
    default:
      ssl_fail("TLS handshake with", where);
    }
    if (r == 0) {
      fprintf(stderr, "%s: TLS handshake with %s: timed out\n", prog_name, where);
      exit(1);
    }
  }
}

static void usage(void) {
  fprintf(stderr, "usage: tls_echo_load --host H --port P [--conns N] [--size BYTES]\n"
                  "                     [--duration S] [--warmup S] [--ciphersuites LIST]\n");
  exit(2);
}

static const char *ciphersuites; /* --ciphersuites: OpenSSL TLS 1.3 syntax, or the default */

/* This program's own options (parse_options reads the common ones). */
static int own_option(const char *opt, const char *val) {
  if (strcmp(opt, "--ciphersuites") != 0)
    return conn_option(opt, val);
  ciphersuites = val;
  return 1;
}

int main(int argc, char **argv) {
  run_opts_t o;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  SSL_CTX *ctx;
  uint64_t t_begin;
  double seconds;
  long i;
  char where[300], extra[256];

  prog_name = "tls_echo_load";
  msg_size = 16384; /* one full TLS record */
  parse_options(argc, argv, &o, own_option, usage);
  check_open_files(nconns);
  signal(SIGPIPE, SIG_IGN); /* a server that goes away is an error, not a signal */

  ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
    ssl_fail("cannot create a TLS 1.3", "context");
  if (ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, ciphersuites) != 1)
    ssl_fail("--ciphersuites", ciphersuites);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* self-signed, loopback only */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  payload = xcalloc(1, msg_size);
  rbuf = xcalloc(1, RBUF_SIZE);
  conns = xcalloc((size_t)nconns, sizeof(*conns));
  for (size_t k = 0; k < msg_size; k++)
    payload[k] = message_byte(k);

  addrlen = conn_target(&o, &addr, where, sizeof(where));
  for (i = 0; i < nconns; i++) {
    connect_one(&conns[i], ctx, &addr, addrlen, where);
    conn_add(conns[i].fd, &conns[i]);
  }
  snprintf(extra, sizeof(extra), ",\"conns\":%ld,\"size\":%zu,\"tls\":\"%s\",\"cipher\":\"%s\"",
           nconns, msg_size, SSL_get_version(conns[0].ssl),
           SSL_CIPHER_get_name(SSL_get_current_cipher(conns[0].ssl)));

  t_begin = run_begin(o.warmup, o.duration);
  for (i = 0; i < nconns; i++)
    start_message(&conns[i], t_begin);
  seconds = run_loop(on_event);

  print_result(messages, seconds, msg_size, &hist, errors, extra);
  for (i = 0; i < nconns; i++) {
    if (conns[i].fd >= 0) {
      SSL_free(conns[i].ssl);
      close(conns[i].fd);
    }
  }
  SSL_CTX_free(ctx);
  return run_status();
}

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

#include "exchange.h"

#define HANDSHAKE_MAX 4096

/* The opening handshake, blocking (before the measured window): a fixed key, so
 * the expected Sec-WebSocket-Accept is fixed too (RFC 6455 §1.3's example). */
static void handshake(int fd, const run_opts_t *o) {
  static const char accept_line[] = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  char req[512], resp[HANDSHAKE_MAX + 1];
  size_t sent = 0, got = 0;
  int len = snprintf(req, sizeof(req),
                     "GET / HTTP/1.1\r\nHost: %s:%ld\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n", o->host, o->port);
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

/* The request, a masked binary frame of msg_size bytes, and its echo, the same
 * frame unmasked. */
static void build_frames(void) {
  static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  unsigned char h[14];
  size_t hs = frame_header(h, msg_size, 1), he;
  request_size = hs + 4 + msg_size;
  request = xcalloc(1, request_size);
  memcpy(request, h, hs);
  memcpy(request + hs, key, 4);
  he = frame_header(h, msg_size, 0);
  reply_size = he + msg_size;
  reply = xcalloc(1, reply_size);
  memcpy(reply, h, he);
  for (size_t k = 0; k < msg_size; k++) {
    char c = message_byte(k);
    reply[he + k] = c;
    request[hs + 4 + k] = (char)(c ^ key[k & 3]);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: ws_echo_load --host H --port P [--conns N] [--size BYTES]\n"
                  "                    [--duration S] [--warmup S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  run_opts_t o;

  prog_name = "ws_echo_load";
  parse_options(argc, argv, &o, conn_option, usage);
  check_open_files(nconns);
  build_frames();
  return exchange_run(&o, handshake);
}

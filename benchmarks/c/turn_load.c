/*
 * turn_load.c: a closed-loop load generator for a TURN server's UDP relay (RFC 8656),
 * on epoll (no libuv). It is the client and the echo peer both.
 *
 *   turn_load --host H --port P --user U --password PW [--inflight N] [--size BYTES]
 *             [--duration S] [--warmup S] [--timeout-ms T] [--peer-host IP]
 *
 * Setup, before the measured window: an Allocate (challenged with 401, then sent with
 * long-term credentials: MESSAGE-INTEGRITY is HMAC-SHA1 keyed with
 * MD5(user:realm:password)), then a ChannelBind of channel 0x4000 to the peer, a UDP
 * socket of this program on --peer-host. Then N ChannelData messages of BYTES of
 * payload are kept in flight: client -> server -> (relay) -> peer, which echoes each to
 * the relayed address -> server -> client as ChannelData. A round trip completes one
 * message. A payload carries (magic, slot, sequence number, send time); a slot not
 * answered within T ms (default 200) counts one loss and is re-issued.
 *
 * Output: "#mark start" / "#mark end" around the measured window, then one JSON line
 * (see loadgen.h) with lost, late, inflight and size added. Exits 1 if the setup fails.
 */
/* bench-link: -lcrypto */
#define _GNU_SOURCE

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loadgen.h"

#define MAGIC 0x4E525554u /* "TURN" */
#define HDR_SIZE 24       /* magic u32, slot u32, seq u64, send time u64 */
#define CHANNEL 0x4000
#define MAX_PAYLOAD 1400
#define MAX_INFLIGHT 100000
#define BATCH 64
#define COOKIE 0x2112A442u

typedef struct {
  uint64_t seq;
  uint64_t t_send;
} slot_t;

static size_t msg_size = 100;
static long ninflight = 10;
static slot_t *slots;
static int cfd, pfd; /* the client's socket (connected to the server), the peer's */
static unsigned char payload[MAX_PAYLOAD];
static window_t win;
static uint64_t messages, lost, late, errors;
static hist_t hist;

/* ------------------------------------------------------------------ STUN, minimal */

typedef struct {
  unsigned char b[1024];
  size_t n;
} msg_t;

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static void msg_start(msg_t *m, unsigned type) {
  uint64_t r = now_ns();
  memset(m->b, 0, 20);
  put16(m->b, type);
  m->b[4] = 0x21, m->b[5] = 0x12, m->b[6] = 0xA4, m->b[7] = 0x42;
  memcpy(m->b + 8, &r, 8);
  m->b[16] = (unsigned char)getpid();
  m->n = 20;
}

static void msg_attr(msg_t *m, unsigned type, const void *value, size_t len) {
  size_t padded = (len + 3) & ~(size_t)3;
  if (m->n + 4 + padded > sizeof(m->b))
    fail("%s", "a STUN message too long");
  put16(m->b + m->n, type);
  put16(m->b + m->n + 2, (unsigned)len);
  memset(m->b + m->n + 4, 0, padded);
  memcpy(m->b + m->n + 4, value, len);
  m->n += 4 + padded;
  put16(m->b + 2, (unsigned)(m->n - 20));
}

/* USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (RFC 8489 §14.5). */
static void msg_auth(msg_t *m, const char *user, const char *realm, const char *nonce,
                     const unsigned char key[16]) {
  unsigned char mac[20];
  unsigned maclen = 0;
  msg_attr(m, 0x0006, user, strlen(user));
  msg_attr(m, 0x0014, realm, strlen(realm));
  msg_attr(m, 0x0015, nonce, strlen(nonce));
  put16(m->b + 2, (unsigned)(m->n - 20 + 24));
  if (HMAC(EVP_sha1(), key, 16, m->b, m->n, mac, &maclen) == NULL || maclen != 20)
    fail("%s", "HMAC-SHA1 failed");
  msg_attr(m, 0x0008, mac, 20);
}

/* The value of the first attribute `type` of a message, or NULL. */
static const unsigned char *find_attr(const unsigned char *b, size_t n, unsigned type,
                                      size_t *len) {
  size_t off = 20;
  if (n < 20)
    return NULL;
  while (off + 4 <= n) {
    size_t alen = get16(b + off + 2);
    if (off + 4 + alen > n)
      return NULL;
    if (get16(b + off) == type) {
      *len = alen;
      return b + off + 4;
    }
    off += 4 + ((alen + 3) & ~(size_t)3);
  }
  return NULL;
}

/* Send a request and wait for the response of its transaction (3 s, retried). */
static size_t transact(const msg_t *m, unsigned char *out, size_t cap) {
  int tries;
  for (tries = 0; tries < 6; tries++) {
    uint64_t deadline = now_ns() + 500000000ull;
    if (send(cfd, m->b, m->n, 0) < 0)
      fail("send: %s", strerror(errno));
    for (;;) {
      struct pollfd p = {cfd, POLLIN, 0};
      uint64_t now = now_ns();
      ssize_t r;
      if (now >= deadline)
        break;
      if (poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
        continue;
      r = recv(cfd, out, cap, 0);
      if (r >= 20 && memcmp(out + 8, m->b + 8, 12) == 0)
        return (size_t)r;
    }
  }
  fail("%s", "no answer from the TURN server");
  return 0;
}

static void copy_text(char *dst, size_t cap, const unsigned char *v, size_t len) {
  if (v == NULL || len >= cap)
    fail("%s", "the 401 carries no usable REALM or NONCE");
  memcpy(dst, v, len);
  dst[len] = '\0';
}

static void setup(const char *user, const char *password, const struct sockaddr_in *peer) {
  unsigned char in[1500], key[16], transport[4] = {17, 0, 0, 0}, xpeer[8], chan[4];
  char realm[256], nonce[256], cred[1024];
  const unsigned char *v;
  unsigned keylen = 0;
  size_t n, len = 0;
  msg_t m;

  msg_start(&m, 0x0003); /* Allocate */
  msg_attr(&m, 0x0019, transport, 4);
  n = transact(&m, in, sizeof(in));
  if (get16(in) != 0x0113)
    fail("%s", "the first Allocate was not challenged (401)");
  v = find_attr(in, n, 0x0014, &len);
  copy_text(realm, sizeof(realm), v, len);
  v = find_attr(in, n, 0x0015, &len);
  copy_text(nonce, sizeof(nonce), v, len);
  snprintf(cred, sizeof(cred), "%s:%s:%s", user, realm, password);
  if (!EVP_Digest(cred, strlen(cred), key, &keylen, EVP_md5(), NULL) || keylen != 16)
    fail("%s", "MD5 failed");

  msg_start(&m, 0x0003);
  msg_attr(&m, 0x0019, transport, 4);
  msg_auth(&m, user, realm, nonce, key);
  n = transact(&m, in, sizeof(in));
  if (get16(in) != 0x0103)
    fail("%s", "Allocate refused (a wrong password?)");

  msg_start(&m, 0x0009); /* ChannelBind */
  put16(chan, CHANNEL);
  chan[2] = chan[3] = 0;
  msg_attr(&m, 0x000C, chan, 4);
  xpeer[0] = 0;
  xpeer[1] = 1;
  put16(xpeer + 2, ntohs(peer->sin_port) ^ (COOKIE >> 16));
  {
    uint32_t a = ntohl(peer->sin_addr.s_addr) ^ COOKIE;
    xpeer[4] = (unsigned char)(a >> 24), xpeer[5] = (unsigned char)(a >> 16);
    xpeer[6] = (unsigned char)(a >> 8), xpeer[7] = (unsigned char)a;
  }
  msg_attr(&m, 0x0012, xpeer, 8);
  msg_auth(&m, user, realm, nonce, key);
  n = transact(&m, in, sizeof(in));
  if (get16(in) != 0x0109)
    fail("%s", "ChannelBind refused (are loopback peers allowed?)");
}

/* ------------------------------------------------------------------ the run */

static void issue(unsigned i, uint64_t now) {
  unsigned char out[4 + MAX_PAYLOAD];
  slots[i].seq++;
  slots[i].t_send = now;
  put16(out, CHANNEL);
  put16(out + 2, (unsigned)msg_size);
  memcpy(out + 4, payload, msg_size);
  {
    uint32_t magic = MAGIC;
    memcpy(out + 4, &magic, 4);
    memcpy(out + 8, &i, 4);
    memcpy(out + 12, &slots[i].seq, 8);
    memcpy(out + 20, &slots[i].t_send, 8);
  }
  if (send(cfd, out, 4 + msg_size, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS)
    errors++; /* the slot times out and is re-issued */
}

/* The peer: echo every datagram to where it came from (the relayed address). */
static void on_peer(void) {
  static unsigned char bufs[BATCH][MAX_PAYLOAD + 1];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage from[BATCH];
  int n, k;
  mmsg_prepare(msgs, iov, BATCH, bufs[0], sizeof(bufs[0]), from);
  n = recvmmsg(pfd, msgs, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0)
    return;
  for (k = 0; k < n; k++)
    iov[k].iov_len = msgs[k].msg_len;
  for (k = 0; k < n;) {
    int r = sendmmsg(pfd, msgs + k, (unsigned)(n - k), MSG_DONTWAIT);
    if (r <= 0)
      break; /* dropped: those slots time out */
    k += r;
  }
}

static void on_client(void) {
  static unsigned char bufs[BATCH][4 + MAX_PAYLOAD + 4];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int n, k;
  mmsg_prepare(msgs, iov, BATCH, bufs[0], sizeof(bufs[0]), NULL);
  n = recvmmsg(cfd, msgs, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0)
    return;
  uint64_t now = now_ns();
  for (k = 0; k < n; k++) {
    const unsigned char *p = bufs[k];
    uint32_t magic, slot;
    uint64_t seq;
    if (msgs[k].msg_len < 4 + msg_size || get16(p) != CHANNEL || get16(p + 2) != msg_size) {
      errors++;
      continue;
    }
    memcpy(&magic, p + 4, 4);
    memcpy(&slot, p + 8, 4);
    memcpy(&seq, p + 12, 8);
    if (magic != MAGIC || slot >= (uint32_t)ninflight) {
      errors++;
      continue;
    }
    if (seq != slots[slot].seq) {
      late++;
      continue;
    }
    if (memcmp(p + 4 + HDR_SIZE, payload + HDR_SIZE, msg_size - HDR_SIZE) != 0)
      errors++;
    if (win.measuring) {
      messages++;
      hist_add(&hist, now - slots[slot].t_send);
    }
    issue(slot, now);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: turn_load --host H --port P --user U --password PW [--inflight N]\n"
                  "                 [--size BYTES] [--duration S] [--warmup S]"
                  " [--timeout-ms T] [--peer-host IP]\n");
  exit(2);
}

static const char *peer_host = "127.0.0.1", *user, *password;
static long timeout_ms = 200;

/* This program's own options (parse_options reads the common ones). */
static int own_option(const char *opt, const char *val) {
  if (strcmp(opt, "--user") == 0)
    user = val;
  else if (strcmp(opt, "--password") == 0)
    password = val;
  else if (strcmp(opt, "--peer-host") == 0)
    peer_host = val;
  else if (strcmp(opt, "--inflight") == 0)
    ninflight = parse_long(opt, val, 1, MAX_INFLIGHT);
  else if (strcmp(opt, "--size") == 0)
    msg_size = (size_t)parse_long(opt, val, HDR_SIZE, MAX_PAYLOAD);
  else if (strcmp(opt, "--timeout-ms") == 0)
    timeout_ms = parse_long(opt, val, 1, 60000);
  else
    return 0;
  return 1;
}

int main(int argc, char **argv) {
  run_opts_t o;
  struct sockaddr_storage addr;
  struct sockaddr_in peer;
  socklen_t addrlen, plen = sizeof(peer);
  double seconds;
  long i;
  uint64_t t_begin, last_scan, timeout_ns;
  char extra[200];
  int ep;

  prog_name = "turn_load";
  parse_options(argc, argv, &o, own_option, usage);
  if (user == NULL || password == NULL)
    usage();
  timeout_ns = (uint64_t)timeout_ms * 1000000ull;
  slots = calloc((size_t)ninflight, sizeof(*slots));
  if (slots == NULL)
    fail("%s", "out of memory");
  for (size_t k = 0; k < sizeof(payload); k++)
    payload[k] = (unsigned char)('A' + k % 26);

  addrlen = resolve(o.host, o.port, SOCK_DGRAM, &addr);
  cfd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (cfd < 0 || connect(cfd, (const struct sockaddr *)&addr, addrlen) != 0)
    fail("cannot reach the server: %s", strerror(errno));
  memset(&peer, 0, sizeof(peer));
  peer.sin_family = AF_INET;
  if (inet_pton(AF_INET, peer_host, &peer.sin_addr) != 1)
    fail("--peer-host must be an IPv4 address, not '%s'", peer_host);
  pfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (pfd < 0 || bind(pfd, (const struct sockaddr *)&peer, sizeof(peer)) != 0 ||
      getsockname(pfd, (struct sockaddr *)&peer, &plen) != 0)
    fail("cannot make the peer socket: %s", strerror(errno));
  setup(user, password, &peer);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0)
    fail("epoll_create1: %s", strerror(errno));
  {
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = cfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) != 0)
      fail("epoll_ctl: %s", strerror(errno));
    ev.data.fd = pfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev) != 0)
      fail("epoll_ctl: %s", strerror(errno));
  }

  hist_reset(&hist);
  t_begin = now_ns();
  window_init(&win, t_begin, o.warmup, o.duration);
  for (i = 0; i < ninflight; i++)
    issue((unsigned)i, t_begin);
  last_scan = t_begin;
  for (;;) {
    struct epoll_event events[2];
    uint64_t now = now_ns(), deadline = window_tick(&win, now);
    int n, k;
    if (now >= win.end)
      break;
    if (now - last_scan >= 10000000ull) {
      for (i = 0; i < ninflight; i++) {
        if (now - slots[i].t_send > timeout_ns) {
          if (win.measuring)
            lost++;
          issue((unsigned)i, now);
        }
      }
      last_scan = now;
    }
    if (deadline > last_scan + 10000000ull)
      deadline = last_scan + 10000000ull;
    n = epoll_wait(ep, events, 2, deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0);
    if (n < 0 && errno != EINTR)
      fail("epoll_wait: %s", strerror(errno));
    for (k = 0; k < n; k++) {
      if (events[k].data.fd == pfd)
        on_peer();
      else
        on_client();
    }
  }
  seconds = window_close(&win);
  snprintf(extra, sizeof(extra), ",\"lost\":%llu,\"late\":%llu,\"inflight\":%ld,\"size\":%zu",
           (unsigned long long)lost, (unsigned long long)late, ninflight, msg_size);
  print_result(messages, seconds, msg_size, &hist, errors, extra);
  close(cfd);
  close(pfd);
  close(ep);
  return 0;
}

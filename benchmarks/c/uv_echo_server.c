/*
 * uv_echo_server.c: a plain C99 libuv echo server, the performance limit the
 * benchmark runner compares every other implementation against.
 *
 *   uv_echo_server tcp|udp PORT [HOST]      (HOST defaults to 127.0.0.1)
 *
 * TCP: every accepted connection reads into one shared buffer (the data is
 * consumed synchronously in the read callback, so one buffer is enough) and
 * echoes it with uv_try_write; whatever the kernel does not take at once is
 * copied into a uv_write request. Reading pauses while more than
 * WRITE_HIGH_WATER bytes are queued and resumes once the queue drains.
 *
 * UDP: one plain handle (no UV_UDP_RECVMMSG: reading a batch before echoing
 * any of it holds every reply back, and at 10 datagrams in flight that halved
 * this server's rate) reading into one 64 KiB buffer. Each datagram is echoed
 * with uv_udp_try_send; on UV_EAGAIN (send queue busy or socket buffer full) it
 * is copied into a uv_udp_send request.
 *
 * SIGTERM and SIGINT close every handle and let the loop end.
 */
#define _GNU_SOURCE /* libuv's headers need POSIX types under -std=c99 */

#include <errno.h>

#include <uv.h> /* the runner links libuv into a program that includes it */

#include "uvserver.h"

#define TCP_BUF_SIZE (256 * 1024)
#define WRITE_HIGH_WATER (4 * 1024 * 1024)
#define UDP_DGRAM_MAX (64 * 1024)

typedef conn_base_t conn_t; /* an echo connection needs nothing more */

typedef struct {
  uv_udp_send_t req;
  char data[]; /* the copied datagram */
} udp_send_req_t;

static uv_tcp_t tcp_server;
static uv_udp_t udp_server;
static char *tcp_buf;
static char *udp_buf;
static unsigned long long udp_send_failures;

/* ---------------------------------------------------------------- TCP -- */

static void on_tcp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(tcp_buf, TCP_BUF_SIZE);
}

static void on_tcp_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *conn = stream->data;
  uv_buf_t wbuf;
  size_t len, done;
  int r;

  if (nread == 0)
    return; /* EAGAIN */
  if (nread < 0) {
    conn_read_end(stream, nread);
    return;
  }

  len = (size_t)nread;
  wbuf = uv_buf_init(buf->base, (unsigned int)len);
  r = uv_try_write(stream, &wbuf, 1);
  if (r == UV_EAGAIN || r == UV_ENOSYS) {
    done = 0;
  } else if (r < 0) {
    tcp_conn_close(&conn->tcp);
    return;
  } else {
    done = (size_t)r;
  }
  if (done < len) {
    if (write_copy(conn, buf->base + done, len - done) != 0) {
      tcp_conn_close(&conn->tcp);
      return;
    }
    pause_if_queued(conn);
  }
}

static void start_tcp(const struct sockaddr *addr) {
  tcp_buf = malloc(TCP_BUF_SIZE);
  if (tcp_buf == NULL)
    die("malloc", UV_ENOMEM);
  listen_tcp(&tcp_server, addr, sizeof(conn_t), on_tcp_alloc, on_tcp_read, WRITE_HIGH_WATER);
}

/* ---------------------------------------------------------------- UDP -- */

static void on_udp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(udp_buf, UDP_DGRAM_MAX);
}

static void on_udp_sent(uv_udp_send_t *req, int status) {
  if (status < 0)
    udp_send_failures++;
  free(req);
}

static void on_udp_recv(uv_udp_t *handle, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags) {
  uv_buf_t out;
  int r;

  /* nread == 0 with addr == NULL: nothing more to read. */
  if (nread <= 0 || addr == NULL)
    return;
  if (flags & UV_UDP_PARTIAL)
    return; /* truncated: echoing part of it would be wrong */

  out = uv_buf_init(buf->base, (unsigned int)nread);
  r = uv_udp_try_send(handle, &out, 1, addr);
  if (r >= 0)
    return;
  if (r == UV_EAGAIN || r == UV_ENOBUFS) {
    udp_send_req_t *req = malloc(sizeof(*req) + (size_t)nread);
    if (req == NULL) {
      udp_send_failures++;
      return;
    }
    memcpy(req->data, buf->base, (size_t)nread);
    out = uv_buf_init(req->data, (unsigned int)nread);
    if (uv_udp_send(&req->req, handle, &out, 1, addr, on_udp_sent) != 0) {
      free(req);
      udp_send_failures++;
    }
    return;
  }
  udp_send_failures++;
}

static void start_udp(const struct sockaddr *addr) {
  int r;
  udp_buf = malloc(UDP_DGRAM_MAX);
  if (udp_buf == NULL)
    die("malloc", UV_ENOMEM);
  if ((r = uv_udp_init_ex(loop, &udp_server, addr->sa_family)) != 0)
    die("uv_udp_init_ex", r);
  if ((r = uv_udp_bind(&udp_server, addr, 0)) != 0)
    die("bind", r);
  if ((r = uv_udp_recv_start(&udp_server, on_udp_alloc, on_udp_recv)) != 0)
    die("uv_udp_recv_start", r);
}

static void usage(void) {
  fprintf(stderr, "usage: uv_echo_server tcp|udp PORT [HOST]\n");
  exit(2);
}

int main(int argc, char **argv) {
  struct sockaddr_storage addr;
  const char *host = "127.0.0.1";
  char *end;
  long port;
  int is_tcp, r;

  server_name = "uv_echo_server";
  if (argc < 3 || argc > 4)
    usage();
  if (strcmp(argv[1], "tcp") == 0)
    is_tcp = 1;
  else if (strcmp(argv[1], "udp") == 0)
    is_tcp = 0;
  else
    usage();
  errno = 0;
  port = strtol(argv[2], &end, 10);
  if (errno != 0 || *end != '\0' || end == argv[2] || port < 1 || port > 65535) {
    fprintf(stderr, "uv_echo_server: bad port '%s'\n", argv[2]);
    return 2;
  }
  if (argc == 4)
    host = argv[3];
  memset(&addr, 0, sizeof(addr));
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&addr) != 0) {
    fprintf(stderr, "uv_echo_server: bad host '%s' (numeric IPv4/IPv6 only)\n", host);
    return 2;
  }

  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  if (is_tcp)
    start_tcp((const struct sockaddr *)&addr);
  else
    start_udp((const struct sockaddr *)&addr);

  stop_on_signals();

  uv_run(loop, UV_RUN_DEFAULT);
  r = uv_loop_close(loop);
  free(tcp_buf);
  free(udp_buf);
  if (udp_send_failures)
    fprintf(stderr, "uv_echo_server: %llu datagrams could not be echoed\n",
            udp_send_failures);
  return r == 0 ? 0 : 1;
}

/*
 * uv_http_server.c: a minimal plain C99 libuv HTTP/1.1 server, the limit the
 * HTTP workloads compare every other implementation against.
 *
 *   uv_http_server PORT [HOST]      (HOST defaults to 127.0.0.1)
 *
 * Every request gets the same prebuilt "Hello, world!" response. A request is
 * a head ending in "\r\n\r\n"; request bodies are not supported (the load is
 * GET only). Connections are kept alive. Pipelining-aware: each read is
 * scanned for ends of heads (the match state carries over between reads, so a
 * head split across reads is seen once), and all the responses a read
 * completes go out in one uv_try_write; what the kernel does not take is
 * copied into a uv_write request. A head longer than MAX_HEAD bytes closes the
 * connection. Reading pauses while more than WRITE_HIGH_WATER bytes are queued.
 *
 * SIGTERM and SIGINT close every handle and let the loop end.
 */
#define _GNU_SOURCE /* libuv's headers need POSIX types under -std=c99 */

#include <uv.h> /* the runner links libuv into a program that includes it */

#include "uvserver.h"

#define READ_BUF_SIZE (64 * 1024)
#define MAX_HEAD (64 * 1024)
#define WRITE_HIGH_WATER (1024 * 1024)
#define BATCH 64 /* responses prebuilt back to back, written per uv_try_write */

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, world!";
#define RESPONSE_LEN (sizeof(RESPONSE) - 1)

typedef struct {
  conn_base_t base; /* first: the handle, and whether reading is paused */
  int match;        /* bytes of "\r\n\r\n" matched at the end of the last read */
  size_t head_len;  /* bytes of the current, unfinished request head */
} conn_t;

static uv_tcp_t server;
static char *read_buf;
static char *batch_buf; /* BATCH copies of RESPONSE */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buf, READ_BUF_SIZE);
}

/* Count the request heads that end in data[0..len), carrying the partial
 * match of "\r\n\r\n" over from the previous read. Returns -1 when a head
 * grows beyond MAX_HEAD. */
static long count_requests(conn_t *conn, const char *data, size_t len) {
  static const char END[4] = {'\r', '\n', '\r', '\n'};
  long count = 0;
  size_t i = 0, start = 0; /* start: where the current head began in data */
  int m = conn->match;

  while (i < len) {
    if (m == 0) {
      const char *cr = memchr(data + i, '\r', len - i);
      if (cr == NULL) {
        i = len;
        break;
      }
      i = (size_t)(cr - data);
    }
    if (data[i] == END[m]) {
      m++;
      i++;
      if (m == 4) {
        count++;
        m = 0;
        conn->head_len = 0;
        start = i;
      }
    } else {
      m = (data[i] == '\r') ? 1 : 0;
      if (m)
        i++;
    }
  }
  conn->match = m;
  conn->head_len += len - start;
  if (conn->head_len > MAX_HEAD)
    return -1;
  return count;
}

static int respond(conn_t *conn, long count) {
  uv_stream_t *stream = (uv_stream_t *)&conn->base.tcp;
  while (count > 0) {
    long n = count < BATCH ? count : BATCH;
    size_t len = (size_t)n * RESPONSE_LEN, done = 0;
    count -= n;
    if (stream->write_queue_size == 0) { /* keep responses in order */
      uv_buf_t wbuf = uv_buf_init(batch_buf, (unsigned int)len);
      int r = uv_try_write(stream, &wbuf, 1);
      if (r >= 0)
        done = (size_t)r;
      else if (r != UV_EAGAIN && r != UV_ENOSYS)
        return -1;
    }
    if (done < len && write_copy(&conn->base, batch_buf + done, len - done) != 0)
      return -1;
  }
  pause_if_queued(&conn->base);
  return 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *conn = stream->data;
  long count;

  if (nread == 0)
    return; /* EAGAIN */
  if (nread < 0) {
    conn_read_end(stream, nread);
    return;
  }
  count = count_requests(conn, buf->base, (size_t)nread);
  if (count < 0 || (count > 0 && respond(conn, count) != 0))
    tcp_conn_close(&conn->base.tcp);
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  const char *host = argc > 2 ? argv[2] : "127.0.0.1";
  int port, r, i;

  server_name = "uv_http_server";
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: uv_http_server PORT [HOST]\n");
    return 2;
  }
  port = atoi(argv[1]);
  if (port < 1 || port > 65535) {
    fprintf(stderr, "uv_http_server: bad port %s\n", argv[1]);
    return 2;
  }
  loop = uv_default_loop();
  read_buf = malloc(READ_BUF_SIZE);
  batch_buf = malloc(BATCH * RESPONSE_LEN);
  if (read_buf == NULL || batch_buf == NULL)
    die("malloc", UV_ENOMEM);
  for (i = 0; i < BATCH; i++)
    memcpy(batch_buf + (size_t)i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
  if ((r = uv_ip4_addr(host, port, &addr)) != 0)
    die("address", r);
  listen_tcp(&server, (const struct sockaddr *)&addr, sizeof(conn_t), on_alloc, on_read,
             WRITE_HIGH_WATER);
  stop_on_signals();
  r = uv_run(loop, UV_RUN_DEFAULT);
  free(read_buf);
  free(batch_buf);
  return r == 0 ? 0 : 1;
}

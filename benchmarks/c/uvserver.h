/*
 * uvserver.h: what the two plain libuv servers (uv_echo_server, uv_http_server)
 * share: failing with libuv's message, accepting a TCP connection, closing one,
 * and SIGTERM / SIGINT closing every handle so that the loop ends.
 *
 * A connection is a struct of the program's whose first member is a conn_base_t
 * (its handle first); the handle's data points to the struct, which is freed
 * when the handle has closed. Every other handle (listeners, signals) has data
 * NULL. What the kernel does not take at once is copied into a uv_write
 * request; reading pauses while more than a high-water mark is queued and
 * resumes once the queue has drained.
 */
#ifndef BENCH_UVSERVER_H
#define BENCH_UVSERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

typedef struct {
  uv_tcp_t tcp;
  int paused; /* reading stopped because the write queue is too long */
} conn_base_t;

typedef struct {
  uv_write_t req;
  conn_base_t *conn;
  char data[]; /* the copied remainder */
} write_req_t;

static const char *server_name = "uv_server"; /* for messages */
static uv_loop_t *loop;
static uv_signal_t sig_term;
static uv_signal_t sig_int;
/* How connections are made and read: set by listen_tcp(). */
static size_t conn_size;
static uv_alloc_cb conn_alloc;
static uv_read_cb conn_read;
static size_t write_high_water;

static void die(const char *what, int err) {
  fprintf(stderr, "%s: %s: %s\n", server_name, what, uv_strerror(err));
  exit(1);
}

static void on_conn_closed(uv_handle_t *handle) {
  free(handle->data);
}

/* Closes a connection (once); its struct is freed when the handle has closed. */
static void tcp_conn_close(uv_tcp_t *tcp) {
  if (!uv_is_closing((uv_handle_t *)tcp))
    uv_close((uv_handle_t *)tcp, on_conn_closed);
}

/* A shutdown (the peer's end of stream, answered) is done: close. */
static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  tcp_conn_close((uv_tcp_t *)req->handle);
  free(req);
}

/* Reading a connection ended (nread < 0): at the peer's end of stream, flush
 * what is still queued, then close; on an error, close now. */
static void conn_read_end(uv_stream_t *stream, ssize_t nread) {
  if (nread == UV_EOF) {
    uv_shutdown_t *req = malloc(sizeof(*req));
    uv_read_stop(stream);
    if (req == NULL || uv_shutdown(req, stream, on_shutdown) != 0) {
      free(req);
      tcp_conn_close((uv_tcp_t *)stream);
    }
  } else {
    tcp_conn_close((uv_tcp_t *)stream);
  }
}

/* Accepts a connection into a zeroed struct of conn_size bytes, with
 * TCP_NODELAY, reading. A connection that cannot be set up is dropped. */
static void on_connection(uv_stream_t *listener, int status) {
  uv_tcp_t *tcp;
  if (status < 0) {
    fprintf(stderr, "%s: accept: %s\n", server_name, uv_strerror(status));
    return;
  }
  tcp = calloc(1, conn_size);
  if (tcp == NULL)
    return;
  if (uv_tcp_init(loop, tcp) != 0) {
    free(tcp);
    return;
  }
  tcp->data = tcp;
  if (uv_accept(listener, (uv_stream_t *)tcp) != 0) {
    tcp_conn_close(tcp);
    return;
  }
  uv_tcp_nodelay(tcp, 1);
  if (uv_read_start((uv_stream_t *)tcp, conn_alloc, conn_read) != 0)
    tcp_conn_close(tcp);
}

/* Listens on addr with server; each connection is a struct of size bytes (a
 * conn_base_t first), read through alloc_cb and read_cb, whose reading pauses
 * above high_water bytes queued. Exits if it cannot listen. */
static void listen_tcp(uv_tcp_t *server, const struct sockaddr *addr, size_t size,
                       uv_alloc_cb alloc_cb, uv_read_cb read_cb, size_t high_water) {
  int r;
  conn_size = size;
  conn_alloc = alloc_cb;
  conn_read = read_cb;
  write_high_water = high_water;
  if ((r = uv_tcp_init(loop, server)) != 0)
    die("uv_tcp_init", r);
  server->data = NULL;
  if ((r = uv_tcp_bind(server, addr, 0)) != 0)
    die("bind", r);
  if ((r = uv_listen((uv_stream_t *)server, 511, on_connection)) != 0)
    die("listen", r);
}

static void on_write(uv_write_t *req, int status) {
  write_req_t *wr = (write_req_t *)req;
  conn_base_t *conn = wr->conn;
  free(wr);
  if (status < 0) {
    tcp_conn_close(&conn->tcp);
    return;
  }
  if (conn->paused && conn->tcp.write_queue_size == 0 &&
      !uv_is_closing((uv_handle_t *)&conn->tcp)) {
    conn->paused = 0;
    if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_read) != 0)
      tcp_conn_close(&conn->tcp);
  }
}

/* Queues a copy of data[0..len) behind whatever is already being written;
 * -1 if it cannot (the caller closes the connection). */
static int write_copy(conn_base_t *conn, const char *data, size_t len) {
  uv_buf_t wbuf;
  write_req_t *wr = malloc(sizeof(*wr) + len);
  if (wr == NULL)
    return -1;
  memcpy(wr->data, data, len);
  wr->conn = conn;
  wbuf = uv_buf_init(wr->data, (unsigned int)len);
  if (uv_write(&wr->req, (uv_stream_t *)&conn->tcp, &wbuf, 1, on_write) != 0) {
    free(wr);
    return -1;
  }
  return 0;
}

/* Stops reading while more than the high-water mark is queued (on_write resumes). */
static void pause_if_queued(conn_base_t *conn) {
  if (conn->tcp.write_queue_size > write_high_water) {
    uv_read_stop((uv_stream_t *)&conn->tcp);
    conn->paused = 1;
  }
}

static void close_walk(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, handle->data == NULL ? NULL : on_conn_closed);
}

static void on_signal(uv_signal_t *handle, int signum) {
  (void)handle;
  (void)signum;
  uv_walk(loop, close_walk, NULL);
}

/* SIGTERM and SIGINT close every handle, so that uv_run() returns. */
static void stop_on_signals(void) {
  int r;
  sig_term.data = sig_int.data = NULL;
  if ((r = uv_signal_init(loop, &sig_term)) != 0 ||
      (r = uv_signal_start(&sig_term, on_signal, SIGTERM)) != 0 ||
      (r = uv_signal_init(loop, &sig_int)) != 0 ||
      (r = uv_signal_start(&sig_int, on_signal, SIGINT)) != 0)
    die("signal", r);
}

#endif

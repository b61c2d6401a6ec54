/*
 * uvserver.h: what the two plain libuv servers (uv_echo_server, uv_http_server)
 * share: failing with libuv's message, accepting a TCP connection, closing one,
 * and SIGTERM / SIGINT closing every handle so that the loop ends.
 *
 * A connection is a struct of the program's whose first member is its
 * uv_tcp_t; the handle's data points to the struct, which is freed when the
 * handle has closed. Every other handle (listeners, signals) has data NULL.
 */
#ifndef BENCH_UVSERVER_H
#define BENCH_UVSERVER_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

static const char *server_name = "uv_server"; /* for messages */
static uv_loop_t *loop;
static uv_signal_t sig_term;
static uv_signal_t sig_int;

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

/* Accepts a connection on listener into a zeroed struct of conn_size bytes that
 * starts with its uv_tcp_t, with TCP_NODELAY, reading through alloc_cb and
 * read_cb. A connection that cannot be set up is dropped. */
static void accept_conn(uv_stream_t *listener, int status, size_t conn_size,
                        uv_alloc_cb alloc_cb, uv_read_cb read_cb) {
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
  if (uv_read_start((uv_stream_t *)tcp, alloc_cb, read_cb) != 0)
    tcp_conn_close(tcp);
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

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

#include "exchange.h"

static void usage(void) {
  fprintf(stderr, "usage: tcp_echo_load --host H --port P [--conns N] [--size BYTES]\n"
                  "                     [--duration S] [--warmup S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  run_opts_t o;

  prog_name = "tcp_echo_load";
  parse_options(argc, argv, &o, conn_option, usage);
  check_open_files(nconns);

  /* The echo of the message is the message. */
  request = xcalloc(1, msg_size);
  for (size_t k = 0; k < msg_size; k++)
    request[k] = message_byte(k);
  request_size = msg_size;
  reply = request;
  reply_size = msg_size;
  reply_is_echo = 1;
  return exchange_run(&o, NULL);
}

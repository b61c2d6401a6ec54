/* permessage-deflate (RFC 7692) on zlib: one compressor or decompressor per direction.
 *
 * Raw DEFLATE streams (no zlib header). Each message is compressed with a sync flush,
 * whose empty stored block ends in 0x00 0x00 0xff 0xff: the sender strips those four
 * bytes and the receiver appends them before inflating the message's last bytes
 * (RFC 7692 §7.2.1, §7.2.2). "No context takeover" resets the stream after each message.
 *
 * The caller owns the output buffers; the functions say when one is full, so the caller
 * can grow it, or stop at a size limit (a decompression bomb never fills memory).
 */
#ifndef SOURCEY_WS_DEFLATE_H
#define SOURCEY_WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

typedef struct ws_zstream {
    z_stream z;
    uint8_t ready;          /* initialised; ws_z_end must run */
    uint8_t inflate;        /* 1: a decompressor, 0: a compressor */
    uint8_t ended;          /* inflate: the peer closed the stream with a final block */
} ws_zstream;

enum { WS_Z_ERROR = -1, WS_Z_FULL = 0, WS_Z_DONE = 1 };

/* window_bits 8..15 (8 is compressed with 9: zlib cannot make 256-byte windows, so a
 * caller that must honour 8 declines it at negotiation). 0 on success, -1 on failure. */
int ws_deflate_init(ws_zstream *s, int window_bits, int level, int mem_level);
/* Decompression always uses a 32 KiB window: it reads streams made with any smaller one. */
int ws_inflate_init(ws_zstream *s);
void ws_z_end(ws_zstream *s);
/* After a message, when context takeover is off. */
int ws_z_reset(ws_zstream *s);

/* Set the next input (kept by pointer until consumed). */
void ws_z_input(ws_zstream *s, const uint8_t *in, size_t n);

/* Compress the input with a sync flush into out[0..cap): *produced bytes written.
 * WS_Z_DONE: input consumed and flushed (the output ends with 00 00 ff ff);
 * WS_Z_FULL: out is full, call again with more room. */
int ws_deflate_run(ws_zstream *s, uint8_t *out, size_t cap, size_t *produced);

/* Decompress the input into out[0..cap). WS_Z_DONE: input consumed and no output
 * pending; WS_Z_FULL: out is full, call again; WS_Z_ERROR: not a valid stream. */
int ws_inflate_run(ws_zstream *s, uint8_t *out, size_t cap, size_t *produced);

/* The four bytes a sync flush ends with. */
extern const uint8_t ws_deflate_tail[4];

#endif

/* permessage-deflate on zlib; see ws_deflate.h. */
#include "ws_deflate.h"

#include <limits.h>
#include <string.h>

const uint8_t ws_deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

int ws_deflate_init(ws_zstream *s, int window_bits, int level, int mem_level) {
    memset(s, 0, sizeof *s);
    if (window_bits < 9)
        window_bits = 9;
    if (deflateInit2(&s->z, level, Z_DEFLATED, -window_bits, mem_level,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    s->ready = 1;
    return 0;
}

int ws_inflate_init(ws_zstream *s) {
    memset(s, 0, sizeof *s);
    if (inflateInit2(&s->z, -15) != Z_OK)
        return -1;
    s->ready = 1;
    s->inflate = 1;
    return 0;
}

void ws_z_end(ws_zstream *s) {
    if (!s->ready)
        return;
    if (s->inflate)
        inflateEnd(&s->z);
    else
        deflateEnd(&s->z);
    s->ready = 0;
}

int ws_z_reset(ws_zstream *s) {
    s->ended = 0;
    if (!s->ready)
        return -1;
    return (s->inflate ? inflateReset(&s->z) : deflateReset(&s->z)) == Z_OK ? 0 : -1;
}

void ws_z_input(ws_zstream *s, const uint8_t *in, size_t n) {
    s->z.next_in = (Bytef *)in;     /* zlib's API is not const; it only reads */
    s->z.avail_in = (uInt)n;
}

/* zlib counts in uInt: hand it at most UINT_MAX of the caller's room at a time. */
static uInt room(size_t cap) {
    return cap > UINT_MAX ? UINT_MAX : (uInt)cap;
}

int ws_deflate_run(ws_zstream *s, uint8_t *out, size_t cap, size_t *produced) {
    int rc;
    s->z.next_out = out;
    s->z.avail_out = room(cap);
    rc = deflate(&s->z, Z_SYNC_FLUSH);
    *produced = (size_t)(s->z.next_out - out);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        return WS_Z_ERROR;
    /* A sync flush is complete once zlib leaves room unused with no input left. */
    if (s->z.avail_in == 0 && s->z.avail_out > 0)
        return WS_Z_DONE;
    return WS_Z_FULL;
}

int ws_inflate_run(ws_zstream *s, uint8_t *out, size_t cap, size_t *produced) {
    int rc;
    s->z.next_out = out;
    s->z.avail_out = room(cap);
    if (s->ended) {
        /* After a final block nothing more belongs to this message's stream but the
         * tail the receiver appended itself. */
        *produced = 0;
        s->z.avail_in = 0;
        return WS_Z_DONE;
    }
    rc = inflate(&s->z, Z_SYNC_FLUSH);
    *produced = (size_t)(s->z.next_out - out);
    if (rc == Z_STREAM_END) {
        s->ended = 1;
        s->z.avail_in = 0;
        return WS_Z_DONE;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        return WS_Z_ERROR;
    if (s->z.avail_out == 0)
        return WS_Z_FULL;
    return s->z.avail_in == 0 ? WS_Z_DONE : WS_Z_ERROR;
}

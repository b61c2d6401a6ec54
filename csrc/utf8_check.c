/* Incremental UTF-8 validation; see utf8_check.h. */
#include "utf8_check.h"

#include <string.h>

void sy_utf8_init(sy_utf8 *s) {
    s->need = 0;
    s->lo = 0x80;
    s->hi = 0xBF;
}

int sy_utf8_complete(const sy_utf8 *s) {
    return s->need == 0;
}

int sy_utf8_feed(sy_utf8 *s, const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (s->need == 0) {
            if (b < 0x80) {
                /* ASCII runs are the common case: skip them eight bytes at a time. */
                i++;
                while (i + 8 <= n) {
                    uint64_t w;
                    memcpy(&w, p + i, 8);
                    if (w & UINT64_C(0x8080808080808080))
                        break;
                    i += 8;
                }
                continue;
            }
            /* The lead byte fixes the length and the range of the first continuation
             * byte, which is where overlongs, surrogates and > U+10FFFF are excluded. */
            s->lo = 0x80;
            s->hi = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                s->need = 1;
            } else if (b == 0xE0) {
                s->need = 2; s->lo = 0xA0;
            } else if (b == 0xED) {
                s->need = 2; s->hi = 0x9F;
            } else if (b >= 0xE1 && b <= 0xEF) {
                s->need = 2;
            } else if (b == 0xF0) {
                s->need = 3; s->lo = 0x90;
            } else if (b >= 0xF1 && b <= 0xF3) {
                s->need = 3;
            } else if (b == 0xF4) {
                s->need = 3; s->hi = 0x8F;
            } else {
                return -1;      /* 0x80..0xC1 (continuation, overlong lead), 0xF5..0xFF */
            }
        } else {
            if (b < s->lo || b > s->hi)
                return -1;
            s->need--;
            s->lo = 0x80;
            s->hi = 0xBF;
        }
        i++;
    }
    return 0;
}

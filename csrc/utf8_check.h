/* Incremental UTF-8 validation (RFC 3629): text may arrive in any number of pieces.
 *
 * Rejects overlong forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF
 * at the first byte that makes the input invalid, so a bad prefix fails at once
 * instead of at the end of the message (Autobahn 6.x "fail fast").
 *
 *     sy_utf8 s; sy_utf8_init(&s);
 *     if (sy_utf8_feed(&s, piece, n) != 0) -> invalid
 *     ...
 *     if (!sy_utf8_complete(&s)) -> the text ends inside a sequence
 */
#ifndef SOURCEY_UTF8_CHECK_H
#define SOURCEY_UTF8_CHECK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sy_utf8 {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo;     /* allowed range of the next continuation byte */
    uint8_t hi;
} sy_utf8;

void sy_utf8_init(sy_utf8 *s);

/* 0 if the bytes so far are a valid prefix of UTF-8 text, -1 if not (the state is then
 * undefined). */
int sy_utf8_feed(sy_utf8 *s, const uint8_t *p, size_t n);

/* 1 if the text fed so far ends at a character boundary. */
int sy_utf8_complete(const sy_utf8 *s);

#endif

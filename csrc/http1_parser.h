/* A strict, incremental HTTP/1.1 parser for requests and responses (RFC 9110, RFC 9112).
 *
 * Sans-IO and callback-free: the caller feeds bytes and reads one event per call.
 *
 *     h1_parser p;
 *     h1_parser_init(&p, H1_REQUEST, headbuf, sizeof headbuf, headers, 100);
 *     for (;;) {
 *         size_t n;
 *         h1_event ev = h1_parser_execute(&p, buf + off, len - off, &n);
 *         off += n;
 *         if (ev == H1_EV_NONE) break;            // all input consumed; feed more
 *         ...                                     // HEAD, BODY, MESSAGE, UPGRADE, ERROR
 *     }
 *     // on end of input: h1_parser_finish(&p) -> H1_EV_MESSAGE / H1_EV_NONE / H1_EV_ERROR
 *
 * Memory: the parser never allocates. The bytes of a head (start line and header lines,
 * then any chunked trailer lines) are copied into the caller's `headbuf` as they are
 * parsed, so a head split across reads needs no re-scan and no caller-side buffering;
 * every span (h1_span, h1_header) is an offset into `p->head`. Header fields go into the
 * caller's `headers` array. Body bytes are never copied: an H1_EV_BODY event points into
 * the buffer passed to that call.
 *
 * Lifetime of the results: the head's fields (method, target, status, reason, version,
 * headers, framing flags) are valid from H1_EV_HEAD until the next call to execute after
 * H1_EV_MESSAGE. Trailer fields (chunked messages) follow the head's fields in `headers`
 * (headers[nheaders .. nheaders + ntrailers)) and their bytes follow the head's in
 * `head`; they are valid at H1_EV_MESSAGE. So that trailers get the same field-count
 * limit as the head, give headers_cap = 2 * max_headers; the trailer section's bytes
 * share head_cap with the head (max_head applies to each section on its own).
 *
 * Policy (fail closed): CRLF only (no bare CR or bare LF), no obs-fold, no whitespace
 * before the colon, token-only method and field names, no CTL/NUL in field values,
 * versions HTTP/1.0 and HTTP/1.1 only, Content-Length 1*DIGIT without overflow (identical
 * duplicates accepted), never Content-Length together with Transfer-Encoding, request
 * Transfer-Encoding must end in chunked (responses: read until EOF), strict chunk-size
 * and chunk-ext grammar, no bytes after a message that closes the connection.
 * Errors carry the stream offset of the byte that was rejected.
 */
#ifndef SOURCEY_HTTP1_PARSER_H
#define SOURCEY_HTTP1_PARSER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum h1_kind { H1_REQUEST = 0, H1_RESPONSE = 1 } h1_kind;

typedef enum h1_event {
    H1_EV_NONE = 0,     /* all input consumed, nothing to report: feed more */
    H1_EV_HEAD = 1,     /* the head is complete: read the head fields */
    H1_EV_BODY = 2,     /* p->data/p->data_len: body bytes (inside the fed buffer) */
    H1_EV_MESSAGE = 3,  /* the message is complete (trailers readable) */
    H1_EV_UPGRADE = 4,  /* after an upgrade/CONNECT message: the rest is not HTTP/1 */
    H1_EV_ERROR = 5     /* p->error, p->error_offset; the parser stays in error */
} h1_event;

/* Error codes. The comment gives the status a server answers with. */
typedef enum h1_error {
    H1_OK = 0,
    H1_E_INCOMPLETE,               /* 400: end of input inside a message */
    H1_E_BARE_CR,                  /* 400: CR not followed by LF */
    H1_E_BARE_LF,                  /* 400: LF without CR */
    H1_E_METHOD,                   /* 400: empty method or a non-token byte in it */
    H1_E_TARGET,                   /* 400: empty target or a non-VCHAR byte in it */
    H1_E_VERSION,                  /* 400: malformed HTTP-version */
    H1_E_VERSION_UNSUPPORTED,      /* 505: well-formed, but not HTTP/1.0 or HTTP/1.1 */
    H1_E_STATUS,                   /* 400: status code not three digits, or below 100 */
    H1_E_REASON,                   /* 400: control byte in the reason phrase */
    H1_E_HEADER_NAME,              /* 400: empty name, non-token byte, missing colon */
    H1_E_WS_BEFORE_COLON,          /* 400: whitespace between field name and colon */
    H1_E_OBS_FOLD,                 /* 400: a field line starting with SP/HTAB */
    H1_E_HEADER_VALUE,             /* 400: CTL or NUL in a field value */
    H1_E_CONTENT_LENGTH,           /* 400: Content-Length not 1*DIGIT */
    H1_E_CONTENT_LENGTH_OVERFLOW,  /* 400: Content-Length above INT64_MAX */
    H1_E_CONTENT_LENGTH_CONFLICT,  /* 400: several Content-Length values that differ */
    H1_E_CL_AND_TE,                /* 400: Content-Length with Transfer-Encoding */
    H1_E_TRANSFER_ENCODING,        /* 400 (501): bad or unsupported Transfer-Encoding */
    H1_E_CHUNK_SIZE,               /* 400: malformed chunk-size line */
    H1_E_CHUNK_SIZE_OVERFLOW,      /* 400: chunk-size above INT64_MAX / 16 */
    H1_E_CHUNK_EXT,                /* 400: bad byte in chunk extensions */
    H1_E_CHUNK_DATA,               /* 400: chunk data not followed by CRLF */
    H1_E_DATA_AFTER_CLOSE,         /* 400: bytes after a message that closes */
    H1_E_START_LINE_TOO_LONG,      /* 414 (request-line), 400 for a status line */
    H1_E_HEADER_LINE_TOO_LONG,     /* 431 */
    H1_E_TOO_MANY_HEADERS,         /* 431 */
    H1_E_HEAD_TOO_LARGE,           /* 431 */
    H1_E_CHUNK_LINE_TOO_LONG,      /* 400 */
    H1_E__COUNT
} h1_error;

typedef enum h1_body {
    H1_BODY_NONE = 0,     /* no content */
    H1_BODY_LENGTH = 1,   /* content_length bytes */
    H1_BODY_CHUNKED = 2,  /* chunked transfer coding */
    H1_BODY_EOF = 3       /* response delimited by the end of the connection */
} h1_body;

/* Options (p->flags), set by the caller before the head of the message they apply to. */
#define H1_F_SKIP_BODY 0x01u  /* the message has no content (response to HEAD) */
#define H1_F_CONNECT 0x02u    /* response to CONNECT: a 2xx is a tunnel (upgrade) */

typedef struct h1_span {
    uint32_t off;
    uint32_t len;
} h1_span;

typedef struct h1_header {
    h1_span name;
    h1_span value; /* without leading and trailing OWS (RFC 9110 §5.5) */
} h1_header;

typedef struct h1_parser {
    /* configuration */
    uint8_t kind;             /* h1_kind */
    uint8_t flags;            /* H1_F_* */
    uint32_t max_start_line;  /* request-line / status-line, CRLF included */
    uint32_t max_header_line; /* one field line (and one chunk-size line), CRLF included */
    uint32_t max_headers;     /* field lines in the head (and, again, in trailers) */
    uint32_t max_head;        /* the whole head, leading empty lines and final CRLF included */

    /* caller-provided storage */
    char* head;               /* head_cap bytes; spans point here */
    uint32_t head_cap;
    h1_header* headers;       /* headers_cap entries */
    uint32_t headers_cap;

    /* results of H1_EV_HEAD */
    h1_span method;           /* requests */
    h1_span target;           /* requests */
    h1_span reason;           /* responses */
    int status;               /* responses; 0 for requests */
    uint8_t version_minor;    /* HTTP/1.<minor>: 0 or 1 */
    uint8_t body;             /* h1_body */
    uint8_t keep_alive;       /* the connection persists after this message */
    uint8_t upgrade;          /* CONNECT, Upgrade, 101, PRI: H1_EV_UPGRADE follows */
    uint32_t nheaders;
    int64_t content_length;   /* -1 when absent */

    /* result of H1_EV_MESSAGE */
    uint32_t ntrailers;       /* trailer fields at headers[nheaders ...] */

    /* result of H1_EV_BODY */
    const char* data;
    size_t data_len;

    /* result of H1_EV_ERROR */
    int error;                /* h1_error */
    uint64_t error_offset;    /* stream offset of the rejected byte */

    /* private */
    uint8_t state;
    uint8_t sub;              /* small per-state counter (version / status digits) */
    uint8_t hflags;           /* framing-relevant fields seen in this head */
    uint8_t in_trailers;
    uint8_t reset_pending;
    uint32_t hlen;            /* bytes used in head */
    uint32_t head_bytes;      /* bytes of this head, skipped empty lines included */
    uint32_t line_start;      /* offset in head of the current line */
    uint32_t chunk_line;      /* bytes of the current chunk-size line */
    uint32_t value_end;       /* end of the field value without trailing OWS */
    uint32_t field_start;     /* index of the first field of this section */
    uint64_t remaining;       /* body or chunk bytes left */
    uint64_t total;           /* stream offset of the next byte */
    uint64_t head_start;      /* stream offset of head[0] */
} h1_parser;

/* Set up a parser. max_head defaults to head_cap and max_headers to headers_cap; the
 * other limits default to 8190 bytes. Limits may be lowered (not raised above the storage)
 * before feeding, with h1_parser_set_limits. */
void h1_parser_init(h1_parser* p, h1_kind kind, char* head, uint32_t head_cap,
                    h1_header* headers, uint32_t headers_cap);

/* 0 on success, -1 if a limit is 0 or exceeds the storage given to h1_parser_init. */
int h1_parser_set_limits(h1_parser* p, uint32_t max_start_line, uint32_t max_header_line,
                         uint32_t max_headers, uint32_t max_head);

/* Parse up to len bytes; *consumed says how many were used. Returns one event. A call
 * with len == 0 still reports pending events (e.g. H1_EV_MESSAGE after a bodiless head). */
h1_event h1_parser_execute(h1_parser* p, const char* data, size_t len, size_t* consumed);

/* End of input, once execute has returned H1_EV_NONE: H1_EV_MESSAGE completes a body
 * delimited by EOF, H1_EV_NONE is a clean end between messages (or after an upgrade),
 * H1_EV_ERROR (H1_E_INCOMPLETE) is an end inside a message. */
h1_event h1_parser_finish(h1_parser* p);

/* True between messages (nothing of a next message consumed yet). */
int h1_parser_idle(const h1_parser* p);

/* Bytes of `head` holding the current message's head, from H1_EV_HEAD on: the start line
 * and the field lines with their CRLFs, the final empty line included. */
uint32_t h1_parser_head_length(const h1_parser* p);

/* For writing a head: 1 if s[0..n) is a field-name, a token of one or more tchars
 * (RFC 9110 §5.6.2); 1 if it is a field value a head can carry as it is: VCHAR, obs-text,
 * SP and HTAB, no other control byte (RFC 9110 §5.5), so it cannot split the head. */
int h1_is_token(const char* s, size_t n);
int h1_is_field_value(const char* s, size_t n);

/* "INCOMPLETE", "BARE_CR", ... and a sentence for each error code. */
const char* h1_error_name(int error);
const char* h1_error_reason(int error);

#ifdef __cplusplus
}
#endif

#endif

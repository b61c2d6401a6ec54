/* A strict, incremental HTTP/1.1 parser: see http1_parser.h. Written from RFC 9110 and
 * RFC 9112; the grammar a rule comes from is named beside it. */
#include "http1_parser.h"

#include <string.h>

enum {
    S_START = 0,          /* between messages: empty lines, then a start line */
    S_START_LF,           /* CR of an empty line seen */
    S_METHOD,             /* request-line (RFC 9112 §3) */
    S_TARGET_START,
    S_TARGET,
    S_VERSION,            /* sub = bytes of "HTTP/x.y" seen */
    S_REQ_CR,
    S_RVERSION,           /* status-line (RFC 9112 §4) */
    S_RVERSION_SP,
    S_STATUS,             /* sub = digits seen */
    S_STATUS_AFTER,
    S_REASON,
    S_LINE_LF,            /* CR of the start line seen */
    S_FIELD_START,        /* field lines (RFC 9112 §5) */
    S_NAME,
    S_VALUE_OWS,
    S_VALUE,
    S_FIELD_LF,
    S_HEAD_LF,            /* CR of the empty line ending the head (or trailers) */
    S_BODY_LENGTH,        /* RFC 9112 §6.3 */
    S_BODY_EOF,
    S_CHUNK_SIZE_START,   /* chunked (RFC 9112 §7.1) */
    S_CHUNK_SIZE,
    S_CHUNK_BWS_SEMI,
    S_CHUNK_EXT_NAME_START,
    S_CHUNK_EXT_NAME,
    S_CHUNK_EXT_AFTER_NAME,
    S_CHUNK_EXT_VAL_START,
    S_CHUNK_EXT_VAL_TOKEN,
    S_CHUNK_EXT_QUOTED,
    S_CHUNK_EXT_QUOTED_ESC,
    S_CHUNK_EXT_AFTER_QUOTED,
    S_CHUNK_SIZE_LF,
    S_CHUNK_DATA,
    S_CHUNK_DATA_CR,
    S_CHUNK_DATA_LF,
    S_MSG_END,            /* H1_EV_MESSAGE is due */
    S_UPGRADED,
    S_CLOSED,
    S_ERROR
};

/* hflags: framing-relevant fields of the head */
#define HF_CL 0x01u
#define HF_TE 0x02u
#define HF_TE_LAST_CHUNKED 0x04u  /* the final coding so far is chunked */
#define HF_TE_CHUNKED_EARLY 0x08u /* chunked followed by another coding */
#define HF_CONN_CLOSE 0x10u
#define HF_CONN_KEEP_ALIVE 0x20u
#define HF_CONN_UPGRADE 0x40u
#define HF_UPGRADE 0x80u

#define DEFAULT_LINE_MAX 8190u
#define CHUNK_SIZE_MAX (INT64_MAX >> 4)

/* Byte classes, one table lookup each. */
#define C_TCHAR 0x01u  /* tchar (RFC 9110 §5.6.2) */
#define C_VCHAR 0x02u  /* VCHAR */
#define C_FVCHAR 0x04u /* field-vchar = VCHAR / obs-text (RFC 9110 §5.5) */
#define C_OWS 0x08u    /* SP, HTAB */
#define T_ (C_TCHAR | C_VCHAR | C_FVCHAR)
#define V_ (C_VCHAR | C_FVCHAR)
#define O_ C_FVCHAR
static const unsigned char byte_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, C_OWS, 0, 0, 0, 0, 0, 0,           /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,               /* 0x10 */
    C_OWS, T_, V_, T_, T_, T_, T_, T_, V_, V_, T_, T_, V_, T_, T_, V_, /* 0x20 */
    T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, V_, V_, V_, V_, V_, V_, /* 0x30 */
    V_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, /* 0x40 */
    T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, V_, V_, V_, T_, T_, /* 0x50 */
    T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, /* 0x60 */
    T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, T_, V_, T_, V_, T_, 0,  /* 0x70 */
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, /* 0x80 */
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_,
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_,
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_,
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_,
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_,
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_,
    O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, O_, /* 0xf0 */
};
#undef T_
#undef V_
#undef O_

static int is_tchar(unsigned char c) { return (byte_class[c] & C_TCHAR) != 0; }
static int is_vchar(unsigned char c) { return (byte_class[c] & C_VCHAR) != 0; }
static int is_ows(unsigned char c) { return (byte_class[c] & C_OWS) != 0; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_field_vchar(unsigned char c) { return (byte_class[c] & C_FVCHAR) != 0; }

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* How many bytes from data[i] (of len) the head can take as one piece: under the line
 * limit and the head's limits, as APPEND checks them byte by byte. */
static size_t line_room(const h1_parser* p, size_t i, size_t len, uint32_t linemax) {
    size_t used = p->hlen - p->line_start, room, n = len - i;
    if (used >= linemax || p->head_bytes >= p->max_head || p->hlen >= p->head_cap) return 0;
    room = linemax - used;
    if (p->max_head - p->head_bytes < room) room = p->max_head - p->head_bytes;
    if (p->head_cap - p->hlen < room) room = p->head_cap - p->hlen;
    return n < room ? n : room;
}

/* The fast path for the long parts of a head: how many bytes from data[i] (of len)
 * are of class `cls` and fit under the line limit and the head's limits. The caller
 * copies them at once; the byte after them goes the byte-at-a-time way, which reports a
 * limit or a bad byte exactly where it is. */
static size_t run_length(const h1_parser* p, const char* data, size_t i, size_t len,
                         unsigned cls, uint32_t linemax) {
    size_t n = line_room(p, i, len, linemax), k = 0;
    while (k < n && (byte_class[(unsigned char)data[i + k]] & cls)) k++;
    return k;
}

/* The fast paths for a whole line in one buffer. They take a well-formed line, within
 * every limit, up to and including its CR, in one copy, and leave the parser where the
 * byte-at-a-time way would be before the LF (which that way then takes, with its checks
 * and events). Anything else, a line cut by the buffer's end included, they leave alone
 * (return 0), and the byte-at-a-time way parses it and reports what is wrong exactly
 * where it is. */

/* request-line = method SP request-target SP "HTTP/1." ("0" / "1") CR, at S_START. */
static size_t fast_request_line(h1_parser* p, const char* data, size_t i, size_t len) {
    const unsigned char* s = (const unsigned char*)data + i;
    size_t n = line_room(p, i, len, p->max_start_line), k = 0, m, t;
    while (k < n && (byte_class[s[k]] & C_TCHAR)) k++;
    if (k == 0 || k >= n || s[k] != ' ') return 0;
    m = k++;
    t = k;
    while (k < n && (byte_class[s[k]] & C_VCHAR)) k++;
    if (k == t || n - k < 10 || s[k] != ' ' || memcmp(s + k + 1, "HTTP/1.", 7) != 0 ||
        (s[k + 8] != '0' && s[k + 8] != '1') || s[k + 9] != '\r')
        return 0;
    memcpy(p->head, s, k + 10);
    p->head_start = p->total + i;
    p->hlen = (uint32_t)(k + 10);
    p->head_bytes += (uint32_t)(k + 10);
    p->line_start = 0;
    p->method.off = 0;
    p->method.len = (uint32_t)m;
    p->target.off = (uint32_t)t;
    p->target.len = (uint32_t)(k - t);
    p->version_minor = (uint8_t)(s[k + 8] - '0');
    p->sub = 8;
    p->state = S_LINE_LF;
    return k + 10;
}

/* field-line = field-name ":" OWS field-value OWS CR, at S_FIELD_START. */
static size_t fast_field_line(h1_parser* p, const char* data, size_t i, size_t len) {
    const unsigned char* s = (const unsigned char*)data + i;
    uint32_t idx = p->nheaders + p->ntrailers;
    size_t n, k = 0, voff, vend;
    h1_header* h;
    if (idx - p->field_start >= p->max_headers || idx >= p->headers_cap) return 0;
    p->line_start = p->hlen;
    n = line_room(p, i, len, p->max_header_line);
    while (k < n && (byte_class[s[k]] & C_TCHAR)) k++;
    if (k == 0 || k >= n || s[k] != ':') return 0;
    h = &p->headers[idx];
    h->name.off = p->hlen;
    h->name.len = (uint32_t)k;
    k++;
    while (k < n && (byte_class[s[k]] & C_OWS)) k++;
    voff = k;
    while (k < n && (byte_class[s[k]] & (C_FVCHAR | C_OWS))) k++;
    if (k >= n || s[k] != '\r') return 0;
    vend = k; /* the value ends before the trailing OWS */
    while (vend > voff && (byte_class[s[vend - 1]] & C_OWS)) vend--;
    k++;
    memcpy(p->head + p->hlen, s, k);
    h->value.off = p->hlen + (uint32_t)voff;
    h->value.len = (uint32_t)(vend - voff);
    p->value_end = p->hlen + (uint32_t)vend;
    p->hlen += (uint32_t)k;
    p->head_bytes += (uint32_t)k;
    p->state = S_FIELD_LF;
    return k;
}

int h1_is_token(const char* s, size_t n) {
    const unsigned char* u = (const unsigned char*)s;
    size_t i = 0;
    while (i < n && (byte_class[u[i]] & C_TCHAR)) i++;
    return n > 0 && i == n;
}

int h1_is_field_value(const char* s, size_t n) {
    const unsigned char* u = (const unsigned char*)s;
    size_t i = 0;
    while (i < n && (byte_class[u[i]] & (C_FVCHAR | C_OWS))) i++;
    return i == n;
}

/* Case-insensitive comparison of s[0..n) with a lower-case literal. */
static int ieq(const char* s, size_t n, const char* lit) {
    size_t i;
    if (strlen(lit) != n) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        if (c != (unsigned char)lit[i]) return 0;
    }
    return 1;
}

static void reset_message(h1_parser* p) {
    p->method.off = p->method.len = 0;
    p->target.off = p->target.len = 0;
    p->reason.off = p->reason.len = 0;
    p->status = 0;
    p->version_minor = 0;
    p->body = H1_BODY_NONE;
    p->keep_alive = 0;
    p->upgrade = 0;
    p->nheaders = 0;
    p->ntrailers = 0;
    p->content_length = -1;
    p->sub = 0;
    p->hflags = 0;
    p->in_trailers = 0;
    p->reset_pending = 0;
    p->hlen = 0;
    p->head_bytes = 0;
    p->line_start = 0;
    p->chunk_line = 0;
    p->value_end = 0;
    p->field_start = 0;
    p->remaining = 0;
}

void h1_parser_init(h1_parser* p, h1_kind kind, char* head, uint32_t head_cap,
                    h1_header* headers, uint32_t headers_cap) {
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->head = head;
    p->head_cap = head_cap;
    p->headers = headers;
    p->headers_cap = headers_cap;
    p->max_start_line = DEFAULT_LINE_MAX;
    p->max_header_line = DEFAULT_LINE_MAX;
    p->max_headers = headers_cap;
    p->max_head = head_cap;
    p->state = S_START;
    reset_message(p);
}

int h1_parser_set_limits(h1_parser* p, uint32_t max_start_line, uint32_t max_header_line,
                         uint32_t max_headers, uint32_t max_head) {
    if (!max_start_line || !max_header_line || !max_head || max_head > p->head_cap ||
        max_headers > p->headers_cap)
        return -1;
    p->max_start_line = max_start_line;
    p->max_header_line = max_header_line;
    p->max_headers = max_headers;
    p->max_head = max_head;
    return 0;
}

int h1_parser_idle(const h1_parser* p) { return p->state == S_START; }

uint32_t h1_parser_head_length(const h1_parser* p) { return p->hlen; }

/* Walk a comma-separated list (RFC 9110 §5.6.1): calls back with each non-empty element,
 * OWS trimmed. Returns the first non-zero result of fn. */
typedef int (*element_fn)(h1_parser* p, const char* s, size_t n, size_t at, uint64_t* erroff);

static int each_element(h1_parser* p, const h1_span* v, element_fn fn, uint64_t* erroff) {
    const char* s = p->head + v->off;
    size_t i = 0, n = v->len;
    while (i < n) {
        size_t a, b;
        int r;
        while (i < n && (is_ows((unsigned char)s[i]) || s[i] == ',')) i++;
        if (i == n) break;
        a = i;
        while (i < n && s[i] != ',') i++;
        b = i;
        while (b > a && is_ows((unsigned char)s[b - 1])) b--;
        r = fn(p, s + a, b - a, v->off + a, erroff);
        if (r) return r;
    }
    return 0;
}

static int connection_element(h1_parser* p, const char* s, size_t n, size_t at,
                              uint64_t* erroff) {
    (void)at;
    (void)erroff;
    if (ieq(s, n, "close")) p->hflags |= HF_CONN_CLOSE;
    else if (ieq(s, n, "keep-alive")) p->hflags |= HF_CONN_KEEP_ALIVE;
    else if (ieq(s, n, "upgrade")) p->hflags |= HF_CONN_UPGRADE;
    return 0;
}

/* transfer-coding = token *( OWS ";" OWS transfer-parameter ) (RFC 9112 §6.1, RFC 9110
 * §10.1.4). Parameters of codings other than chunked are kept opaque. */
static int te_element(h1_parser* p, const char* s, size_t n, size_t at, uint64_t* erroff) {
    size_t i = 0, j;
    while (i < n && is_tchar((unsigned char)s[i])) i++;
    j = i;
    while (j < n && is_ows((unsigned char)s[j])) j++;
    if (i == 0 || (j < n && s[j] != ';')) {
        *erroff = p->head_start + at + j;
        return H1_E_TRANSFER_ENCODING;
    }
    if (p->hflags & HF_TE_LAST_CHUNKED) {
        p->hflags = (uint8_t)(p->hflags & ~HF_TE_LAST_CHUNKED);
        p->hflags |= HF_TE_CHUNKED_EARLY;
    }
    if (ieq(s, i, "chunked")) {
        /* chunked is applied at most once and takes no parameters */
        if (i != n || (p->hflags & HF_TE_CHUNKED_EARLY)) {
            *erroff = p->head_start + at + i;
            return H1_E_TRANSFER_ENCODING;
        }
        p->hflags |= HF_TE_LAST_CHUNKED;
    }
    return 0;
}

/* Framing-relevant semantics of one head field line (RFC 9112 §6). */
static int process_field(h1_parser* p, const h1_header* h, uint64_t* erroff) {
    const char* name = p->head + h->name.off;
    const char* v = p->head + h->value.off;
    size_t i, n = h->value.len;

    switch (h->name.len) {
    case 14:
        if (ieq(name, 14, "content-length")) {
            uint64_t x = 0;
            /* Content-Length = 1*DIGIT (RFC 9110 §8.6); lists are not accepted */
            if (n == 0) {
                *erroff = p->head_start + h->value.off;
                return H1_E_CONTENT_LENGTH;
            }
            for (i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];
                if (!is_digit(c)) {
                    *erroff = p->head_start + h->value.off + i;
                    return H1_E_CONTENT_LENGTH;
                }
                if (x > (uint64_t)(INT64_MAX - (c - '0')) / 10) {
                    *erroff = p->head_start + h->value.off + i;
                    return H1_E_CONTENT_LENGTH_OVERFLOW;
                }
                x = x * 10 + (uint64_t)(c - '0');
            }
            if (p->hflags & HF_TE) {
                *erroff = p->head_start + h->name.off;
                return H1_E_CL_AND_TE;
            }
            if ((p->hflags & HF_CL) && (uint64_t)p->content_length != x) {
                *erroff = p->head_start + h->value.off;
                return H1_E_CONTENT_LENGTH_CONFLICT;
            }
            p->hflags |= HF_CL;
            p->content_length = (int64_t)x;
        }
        break;
    case 17:
        if (ieq(name, 17, "transfer-encoding")) {
            if (p->hflags & HF_CL) {
                *erroff = p->head_start + h->name.off;
                return H1_E_CL_AND_TE;
            }
            p->hflags |= HF_TE;
            return each_element(p, &h->value, te_element, erroff);
        }
        break;
    case 10:
        if (ieq(name, 10, "connection"))
            return each_element(p, &h->value, connection_element, erroff);
        break;
    case 7:
        if (ieq(name, 7, "upgrade") && n > 0) p->hflags |= HF_UPGRADE;
        break;
    default:
        break;
    }
    return 0;
}

/* The head is complete: decide the framing (RFC 9112 §6.3) and the connection's fate. */
static int finish_head(h1_parser* p) {
    uint8_t f = p->hflags;
    int close = (f & HF_CONN_CLOSE) != 0;
    p->keep_alive = (uint8_t)(p->version_minor == 1 ? !close
                                                   : ((f & HF_CONN_KEEP_ALIVE) && !close));
    if (p->kind == H1_REQUEST) {
        if (f & HF_TE) {
            /* a request's final coding must be chunked (RFC 9112 §6.3 item 4); an
             * HTTP/1.0 request with Transfer-Encoding has faulty framing (§6.1) */
            if (!(f & HF_TE_LAST_CHUNKED) || p->version_minor == 0)
                return H1_E_TRANSFER_ENCODING;
            p->body = H1_BODY_CHUNKED;
        } else if ((f & HF_CL) && p->content_length > 0) {
            p->body = H1_BODY_LENGTH;
        } else {
            p->body = H1_BODY_NONE;
        }
        if (p->method.len == 7 && memcmp(p->head + p->method.off, "CONNECT", 7) == 0) {
            p->upgrade = 1; /* a CONNECT request has no content (RFC 9110 §9.3.6) */
            p->body = H1_BODY_NONE;
        } else if ((f & HF_CONN_UPGRADE) && (f & HF_UPGRADE)) {
            p->upgrade = 1; /* the content is read, then the protocol switches (§7.8) */
        }
    } else {
        int s = p->status;
        if (s == 101 || ((p->flags & H1_F_CONNECT) && s / 100 == 2)) {
            p->upgrade = 1;
            p->body = H1_BODY_NONE;
        } else if (s / 100 == 1 || s == 204 || s == 304) {
            p->body = H1_BODY_NONE;
        } else if (f & HF_TE) {
            p->body = (f & HF_TE_LAST_CHUNKED) && p->version_minor == 1 ? H1_BODY_CHUNKED
                                                                       : H1_BODY_EOF;
        } else if (f & HF_CL) {
            p->body = p->content_length > 0 ? H1_BODY_LENGTH : H1_BODY_NONE;
        } else {
            p->body = H1_BODY_EOF;
        }
    }
    if (p->flags & H1_F_SKIP_BODY) p->body = H1_BODY_NONE;
    if (p->body == H1_BODY_EOF) p->keep_alive = 0;
    if (p->body == H1_BODY_LENGTH) p->remaining = (uint64_t)p->content_length;
    return 0;
}

static void begin_field_section(h1_parser* p) {
    p->state = S_FIELD_START;
    p->line_start = p->hlen;
    p->field_start = p->nheaders + p->ntrailers;
}

static h1_event emit_message(h1_parser* p) {
    if (p->upgrade) {
        p->state = S_UPGRADED;
    } else if (p->kind == H1_RESPONSE && p->status / 100 == 1) {
        p->state = S_START; /* an interim response: the final one follows */
        p->reset_pending = 1;
    } else if (!p->keep_alive) {
        p->state = S_CLOSED;
    } else {
        p->state = S_START;
        p->reset_pending = 1;
    }
    return H1_EV_MESSAGE;
}

h1_event h1_parser_execute(h1_parser* p, const char* data, size_t len, size_t* consumed) {
    size_t i = 0;
    int err = H1_OK;
    uint64_t erroff = 0;
    int have_erroff = 0;
    h1_event ev = H1_EV_NONE;

    p->data = NULL;
    p->data_len = 0;
    *consumed = 0;
    if (p->reset_pending) reset_message(p);
    switch (p->state) {
    case S_ERROR:
        return H1_EV_ERROR;
    case S_UPGRADED:
        return H1_EV_UPGRADE;
    case S_MSG_END:
        return emit_message(p);
    default:
        break;
    }

/* Add the current byte to the head buffer, under the line and head limits. */
#define APPEND(c, linemax, lineerr)                                                \
    do {                                                                           \
        if (p->hlen - p->line_start >= (linemax)) {                                \
            err = (lineerr);                                                       \
            goto fail;                                                             \
        }                                                                          \
        if (p->head_bytes >= p->max_head || p->hlen >= p->head_cap) {              \
            err = H1_E_HEAD_TOO_LARGE;                                             \
            goto fail;                                                             \
        }                                                                          \
        p->head[p->hlen++] = (char)(c);                                            \
        p->head_bytes++;                                                           \
    } while (0)
#define APPEND_SL(c) APPEND(c, p->max_start_line, H1_E_START_LINE_TOO_LONG)
#define APPEND_FL(c) APPEND(c, p->max_header_line, H1_E_HEADER_LINE_TOO_LONG)
#define FAIL(code)                                                                 \
    do {                                                                           \
        err = (code);                                                              \
        goto fail;                                                                 \
    } while (0)
/* Copy a run found by run_length into the head, then parse on from the byte after it. */
#define TAKE_RUN(k)                                                                \
    do {                                                                           \
        memcpy(p->head + p->hlen, data + i, (k));                                  \
        p->hlen += (uint32_t)(k);                                                  \
        p->head_bytes += (uint32_t)(k);                                            \
        i += (k);                                                                  \
    } while (0)
/* A chunk-size line byte, under the line limit. */
#define CHUNK_LINE()                                                               \
    do {                                                                           \
        if (++p->chunk_line > p->max_header_line) FAIL(H1_E_CHUNK_LINE_TOO_LONG);  \
    } while (0)

    while (i < len) {
        unsigned char c = (unsigned char)data[i];
        switch (p->state) {
        case S_START:
            /* a server SHOULD ignore empty lines before a request-line (RFC 9112 §2.2);
             * the same is done before a status-line */
            if (c == '\r') {
                if (p->head_bytes >= p->max_head) FAIL(H1_E_HEAD_TOO_LARGE);
                p->head_bytes++;
                p->state = S_START_LF;
                break;
            }
            if (c == '\n') FAIL(H1_E_BARE_LF);
            p->hlen = 0;
            p->line_start = 0;
            if (p->kind == H1_REQUEST) {
                size_t k = fast_request_line(p, data, i, len);
                if (k) {
                    i += k;
                    continue;
                }
            }
            p->head_start = p->total + i;
            if (p->kind == H1_REQUEST) {
                if (!is_tchar(c)) FAIL(H1_E_METHOD);
                p->method.off = 0;
                APPEND_SL(c);
                p->state = S_METHOD;
            } else {
                p->sub = 0;
                p->state = S_RVERSION;
                continue; /* the same byte, as the first of the version */
            }
            break;
        case S_START_LF:
            if (c != '\n') FAIL(H1_E_BARE_CR);
            if (p->head_bytes >= p->max_head) FAIL(H1_E_HEAD_TOO_LARGE);
            p->head_bytes++;
            p->state = S_START;
            break;

        /* request-line = method SP request-target SP HTTP-version */
        case S_METHOD: {
            size_t k = run_length(p, data, i, len, C_TCHAR, p->max_start_line);
            if (k) {
                TAKE_RUN(k);
                continue;
            }
            if (c == ' ') {
                p->method.len = p->hlen;
                APPEND_SL(c);
                p->state = S_TARGET_START;
            } else if (is_tchar(c)) {
                APPEND_SL(c);
            } else {
                FAIL(H1_E_METHOD);
            }
            break;
        }
        case S_TARGET_START:
            if (!is_vchar(c)) FAIL(H1_E_TARGET);
            p->target.off = p->hlen;
            APPEND_SL(c);
            p->state = S_TARGET;
            break;
        case S_TARGET: {
            size_t k = run_length(p, data, i, len, C_VCHAR, p->max_start_line);
            if (k) {
                TAKE_RUN(k);
                continue;
            }
            if (c == ' ') {
                p->target.len = p->hlen - p->target.off;
                APPEND_SL(c);
                p->sub = 0;
                p->state = S_VERSION;
            } else if (is_vchar(c)) {
                APPEND_SL(c);
            } else if (c == '\r') {
                FAIL(H1_E_VERSION); /* no HTTP-version: HTTP/0.9 is not spoken */
            } else {
                FAIL(H1_E_TARGET);
            }
            break;
        }

        /* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3) */
        case S_VERSION:
        case S_RVERSION:
            /* the common case at once: "HTTP/1.1" or "HTTP/1.0" whole in this buffer,
             * within the line and head limits */
            if (p->sub == 0 && len - i >= 8 && memcmp(data + i, "HTTP/1.", 7) == 0 &&
                (data[i + 7] == '0' || data[i + 7] == '1') &&
                run_length(p, data, i, i + 8, C_VCHAR, p->max_start_line) == 8) {
                TAKE_RUN(8);
                p->sub = 8;
                p->version_minor = (uint8_t)(data[i - 1] - '0');
                p->state = p->state == S_VERSION ? S_REQ_CR : S_RVERSION_SP;
                continue;
            }
            if (p->sub < 5) {
                if (c != (unsigned char)"HTTP/"[p->sub]) FAIL(H1_E_VERSION);
            } else if (p->sub == 5 || p->sub == 7) {
                if (!is_digit(c)) FAIL(H1_E_VERSION);
            } else if (c != '.') {
                FAIL(H1_E_VERSION);
            }
            APPEND_SL(c);
            if (++p->sub == 8) {
                const char* v = p->head + p->hlen - 3;
                if (v[0] != '1' || (v[2] != '0' && v[2] != '1')) {
                    erroff = p->head_start + p->hlen - 3; /* the major digit */
                    have_erroff = 1;
                    FAIL(H1_E_VERSION_UNSUPPORTED);
                }
                p->version_minor = (uint8_t)(v[2] - '0');
                p->state = p->state == S_VERSION ? S_REQ_CR : S_RVERSION_SP;
            }
            break;
        case S_REQ_CR:
            if (c != '\r') FAIL(H1_E_VERSION);
            APPEND_SL(c);
            p->state = S_LINE_LF;
            break;

        /* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
        case S_RVERSION_SP:
            if (c != ' ') FAIL(H1_E_VERSION);
            APPEND_SL(c);
            p->sub = 0;
            p->status = 0;
            p->state = S_STATUS;
            break;
        case S_STATUS:
            if (!is_digit(c)) FAIL(H1_E_STATUS);
            APPEND_SL(c);
            p->status = p->status * 10 + (c - '0');
            if (++p->sub == 3) {
                if (p->status < 100) FAIL(H1_E_STATUS);
                p->state = S_STATUS_AFTER;
            }
            break;
        case S_STATUS_AFTER:
            /* The SP before an empty reason-phrase is required by the grammar, but a
             * status-line ending right after the code is unambiguous: accepted. */
            if (c == ' ') {
                APPEND_SL(c);
                p->reason.off = p->hlen;
                p->state = S_REASON;
            } else if (c == '\r') {
                p->reason.off = p->hlen;
                APPEND_SL(c);
                p->state = S_LINE_LF;
            } else {
                FAIL(H1_E_STATUS);
            }
            break;
        case S_REASON:
            /* reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) */
            if (c == '\r') {
                p->reason.len = p->hlen - p->reason.off;
                APPEND_SL(c);
                p->state = S_LINE_LF;
            } else if (c == '\t' || c == ' ' || is_field_vchar(c)) {
                APPEND_SL(c);
            } else if (c == '\n') {
                FAIL(H1_E_BARE_LF);
            } else {
                FAIL(H1_E_REASON);
            }
            break;
        case S_LINE_LF:
            if (c != '\n') FAIL(H1_E_BARE_CR);
            APPEND_SL(c);
            p->line_start = p->hlen;
            begin_field_section(p);
            break;

        /* field-line = field-name ":" OWS field-value OWS (RFC 9112 §5) */
        case S_FIELD_START: {
            size_t k;
            if (c != '\r' && (k = fast_field_line(p, data, i, len)) != 0) {
                i += k;
                continue;
            }
            p->line_start = p->hlen;
            if (c == '\r') {
                APPEND_FL(c);
                p->state = S_HEAD_LF;
            } else if (is_tchar(c)) {
                uint32_t idx = p->nheaders + p->ntrailers;
                if (idx - p->field_start >= p->max_headers || idx >= p->headers_cap)
                    FAIL(H1_E_TOO_MANY_HEADERS);
                p->headers[idx].name.off = p->hlen;
                APPEND_FL(c);
                p->state = S_NAME;
            } else if (is_ows(c)) {
                FAIL(H1_E_OBS_FOLD); /* obs-fold, or whitespace before the first field */
            } else if (c == '\n') {
                FAIL(H1_E_BARE_LF);
            } else {
                FAIL(H1_E_HEADER_NAME);
            }
            break;
        }
        case S_NAME: {
            size_t k = run_length(p, data, i, len, C_TCHAR, p->max_header_line);
            if (k) {
                TAKE_RUN(k);
                continue;
            }
            if (c == ':') {
                h1_header* h = &p->headers[p->nheaders + p->ntrailers];
                h->name.len = p->hlen - h->name.off;
                APPEND_FL(c);
                p->state = S_VALUE_OWS;
            } else if (is_tchar(c)) {
                APPEND_FL(c);
            } else if (is_ows(c)) {
                FAIL(H1_E_WS_BEFORE_COLON);
            } else {
                FAIL(H1_E_HEADER_NAME);
            }
            break;
        }
        case S_VALUE_OWS:
            if (is_ows(c)) {
                APPEND_FL(c);
                break;
            }
            p->headers[p->nheaders + p->ntrailers].value.off = p->hlen;
            p->value_end = p->hlen;
            p->state = S_VALUE;
            continue; /* the same byte, as the first of the value */
        case S_VALUE: {
            size_t k = run_length(p, data, i, len, C_FVCHAR | C_OWS, p->max_header_line);
            if (k) {
                size_t j = k; /* the value ends after the run's last byte that is not OWS */
                while (j > 0 && is_ows((unsigned char)data[i + j - 1])) j--;
                if (j) p->value_end = p->hlen + (uint32_t)j;
                TAKE_RUN(k);
                continue;
            }
            if (is_field_vchar(c)) {
                APPEND_FL(c);
                p->value_end = p->hlen;
            } else if (is_ows(c)) {
                APPEND_FL(c);
            } else if (c == '\r') {
                h1_header* h = &p->headers[p->nheaders + p->ntrailers];
                h->value.len = p->value_end - h->value.off;
                APPEND_FL(c);
                p->state = S_FIELD_LF;
            } else if (c == '\n') {
                FAIL(H1_E_BARE_LF);
            } else {
                FAIL(H1_E_HEADER_VALUE); /* NUL and the other CTLs (RFC 9110 §5.5) */
            }
            break;
        }
        case S_FIELD_LF:
            if (c != '\n') FAIL(H1_E_BARE_CR);
            APPEND_FL(c);
            if (p->in_trailers) {
                p->ntrailers++;
            } else {
                int r = process_field(p, &p->headers[p->nheaders], &erroff);
                if (r) {
                    have_erroff = 1;
                    FAIL(r);
                }
                p->nheaders++;
            }
            p->line_start = p->hlen;
            p->state = S_FIELD_START;
            break;
        case S_HEAD_LF:
            if (c != '\n') FAIL(H1_E_BARE_CR);
            APPEND_FL(c);
            i++;
            if (p->in_trailers) {
                p->state = S_MSG_END;
                *consumed = i;
                p->total += i;
                return emit_message(p);
            }
            {
                int r = finish_head(p);
                if (r) {
                    i--;
                    FAIL(r);
                }
            }
            switch (p->body) {
            case H1_BODY_LENGTH:
                p->state = S_BODY_LENGTH;
                break;
            case H1_BODY_CHUNKED:
                p->state = S_CHUNK_SIZE_START;
                p->chunk_line = 0;
                break;
            case H1_BODY_EOF:
                p->state = S_BODY_EOF;
                break;
            default:
                p->state = S_MSG_END;
                break;
            }
            ev = H1_EV_HEAD;
            goto out;

        /* bodies: the data is not copied */
        case S_BODY_LENGTH:
        case S_CHUNK_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > p->remaining) n = (size_t)p->remaining;
            p->data = data + i;
            p->data_len = n;
            i += n;
            p->remaining -= n;
            if (!p->remaining)
                p->state = p->state == S_BODY_LENGTH ? S_MSG_END : S_CHUNK_DATA_CR;
            ev = H1_EV_BODY;
            goto out;
        }
        case S_BODY_EOF:
            p->data = data + i;
            p->data_len = len - i;
            i = len;
            ev = H1_EV_BODY;
            goto out;

        /* chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
         * chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) */
        case S_CHUNK_SIZE_START: {
            int h = hex_value(c);
            CHUNK_LINE();
            if (h < 0) FAIL(H1_E_CHUNK_SIZE);
            p->remaining = (uint64_t)h;
            p->state = S_CHUNK_SIZE;
            break;
        }
        case S_CHUNK_SIZE: {
            int h = hex_value(c);
            CHUNK_LINE();
            if (h >= 0) {
                if (p->remaining > (uint64_t)(CHUNK_SIZE_MAX >> 4))
                    FAIL(H1_E_CHUNK_SIZE_OVERFLOW);
                p->remaining = (p->remaining << 4) | (uint64_t)h;
            } else if (c == '\r') {
                p->state = S_CHUNK_SIZE_LF;
            } else if (c == ';') {
                p->state = S_CHUNK_EXT_NAME_START;
            } else if (is_ows(c)) {
                p->state = S_CHUNK_BWS_SEMI;
            } else {
                FAIL(H1_E_CHUNK_SIZE);
            }
            break;
        }
        case S_CHUNK_BWS_SEMI:
            /* whitespace after the size is BWS, which only precedes ";" */
            CHUNK_LINE();
            if (c == ';') p->state = S_CHUNK_EXT_NAME_START;
            else if (!is_ows(c)) FAIL(H1_E_CHUNK_SIZE);
            break;
        case S_CHUNK_EXT_NAME_START:
            CHUNK_LINE();
            if (is_tchar(c)) p->state = S_CHUNK_EXT_NAME;
            else if (!is_ows(c)) FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_EXT_NAME:
            CHUNK_LINE();
            if (is_tchar(c)) break;
            if (c == '\r') p->state = S_CHUNK_SIZE_LF;
            else if (c == ';') p->state = S_CHUNK_EXT_NAME_START;
            else if (c == '=') p->state = S_CHUNK_EXT_VAL_START;
            else if (is_ows(c)) p->state = S_CHUNK_EXT_AFTER_NAME;
            else FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_EXT_AFTER_NAME:
            CHUNK_LINE();
            if (c == ';') p->state = S_CHUNK_EXT_NAME_START;
            else if (c == '=') p->state = S_CHUNK_EXT_VAL_START;
            else if (!is_ows(c)) FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_EXT_VAL_START:
            /* chunk-ext-val = token / quoted-string */
            CHUNK_LINE();
            if (c == '"') p->state = S_CHUNK_EXT_QUOTED;
            else if (is_tchar(c)) p->state = S_CHUNK_EXT_VAL_TOKEN;
            else if (!is_ows(c)) FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_EXT_VAL_TOKEN:
            CHUNK_LINE();
            if (is_tchar(c)) break;
            if (c == '\r') p->state = S_CHUNK_SIZE_LF;
            else if (c == ';') p->state = S_CHUNK_EXT_NAME_START;
            else if (is_ows(c)) p->state = S_CHUNK_BWS_SEMI;
            else FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_EXT_QUOTED:
            /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4) */
            CHUNK_LINE();
            if (c == '"') p->state = S_CHUNK_EXT_AFTER_QUOTED;
            else if (c == '\\') p->state = S_CHUNK_EXT_QUOTED_ESC;
            else if (!(c == '\t' || c == ' ' || is_field_vchar(c))) FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_EXT_QUOTED_ESC:
            /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            CHUNK_LINE();
            if (!(c == '\t' || c == ' ' || is_field_vchar(c))) FAIL(H1_E_CHUNK_EXT);
            p->state = S_CHUNK_EXT_QUOTED;
            break;
        case S_CHUNK_EXT_AFTER_QUOTED:
            CHUNK_LINE();
            if (c == '\r') p->state = S_CHUNK_SIZE_LF;
            else if (c == ';') p->state = S_CHUNK_EXT_NAME_START;
            else if (is_ows(c)) p->state = S_CHUNK_BWS_SEMI;
            else FAIL(H1_E_CHUNK_EXT);
            break;
        case S_CHUNK_SIZE_LF:
            if (c != '\n') FAIL(H1_E_BARE_CR);
            p->chunk_line = 0;
            if (p->remaining == 0) {
                /* last-chunk: the trailer section follows (RFC 9112 §7.1.2) */
                p->in_trailers = 1;
                p->head_bytes = 0;
                begin_field_section(p);
            } else {
                p->state = S_CHUNK_DATA;
            }
            break;
        case S_CHUNK_DATA_CR:
            if (c != '\r') FAIL(H1_E_CHUNK_DATA);
            p->state = S_CHUNK_DATA_LF;
            break;
        case S_CHUNK_DATA_LF:
            if (c != '\n') FAIL(H1_E_BARE_CR);
            p->state = S_CHUNK_SIZE_START;
            break;

        case S_MSG_END:
            *consumed = i;
            p->total += i;
            return emit_message(p);
        case S_UPGRADED:
            ev = H1_EV_UPGRADE;
            goto out;
        case S_CLOSED:
            /* RFC 9112 §9.6: nothing is processed after a message that closes */
            FAIL(H1_E_DATA_AFTER_CLOSE);
        default:
            FAIL(H1_E_INCOMPLETE); /* unreachable */
        }
        i++;
    }
    /* all input consumed; a due message is reported at once */
    if (p->state == S_MSG_END) {
        *consumed = i;
        p->total += i;
        return emit_message(p);
    }
out:
    *consumed = i;
    p->total += i;
    return ev;

fail:
    p->error = err;
    p->error_offset = have_erroff ? erroff : p->total + i;
    p->state = S_ERROR;
    *consumed = i;
    p->total += i;
    return H1_EV_ERROR;
#undef APPEND
#undef APPEND_SL
#undef APPEND_FL
#undef FAIL
#undef CHUNK_LINE
}

h1_event h1_parser_finish(h1_parser* p) {
    switch (p->state) {
    case S_BODY_EOF:
        return emit_message(p);
    case S_MSG_END:
        return emit_message(p);
    case S_START:
    case S_CLOSED:
    case S_UPGRADED:
        return H1_EV_NONE;
    case S_ERROR:
        return H1_EV_ERROR;
    default:
        p->error = H1_E_INCOMPLETE;
        p->error_offset = p->total;
        p->state = S_ERROR;
        return H1_EV_ERROR;
    }
}

static const char* const error_names[H1_E__COUNT] = {
    "OK",
    "INCOMPLETE",
    "BARE_CR",
    "BARE_LF",
    "METHOD",
    "TARGET",
    "VERSION",
    "VERSION_UNSUPPORTED",
    "STATUS",
    "REASON",
    "HEADER_NAME",
    "WS_BEFORE_COLON",
    "OBS_FOLD",
    "HEADER_VALUE",
    "CONTENT_LENGTH",
    "CONTENT_LENGTH_OVERFLOW",
    "CONTENT_LENGTH_CONFLICT",
    "CL_AND_TE",
    "TRANSFER_ENCODING",
    "CHUNK_SIZE",
    "CHUNK_SIZE_OVERFLOW",
    "CHUNK_EXT",
    "CHUNK_DATA",
    "DATA_AFTER_CLOSE",
    "START_LINE_TOO_LONG",
    "HEADER_LINE_TOO_LONG",
    "TOO_MANY_HEADERS",
    "HEAD_TOO_LARGE",
    "CHUNK_LINE_TOO_LONG",
};

static const char* const error_reasons[H1_E__COUNT] = {
    "no error",
    "end of input inside a message",
    "CR not followed by LF",
    "LF without a preceding CR",
    "invalid method",
    "invalid request-target",
    "invalid HTTP version",
    "unsupported HTTP version",
    "invalid status code",
    "invalid byte in reason phrase",
    "invalid field name",
    "whitespace before the colon of a field",
    "obsolete line folding",
    "invalid byte in field value",
    "invalid Content-Length",
    "Content-Length too large",
    "conflicting Content-Length values",
    "Content-Length with Transfer-Encoding",
    "invalid or unsupported Transfer-Encoding",
    "invalid chunk size",
    "chunk size too large",
    "invalid chunk extension",
    "chunk data not followed by CRLF",
    "data after a message that closes the connection",
    "start line too long",
    "field line too long",
    "too many fields",
    "head too large",
    "chunk-size line too long",
};

const char* h1_error_name(int error) {
    return error >= 0 && error < H1_E__COUNT ? error_names[error] : "UNKNOWN";
}

const char* h1_error_reason(int error) {
    return error >= 0 && error < H1_E__COUNT ? error_reasons[error] : "unknown error";
}

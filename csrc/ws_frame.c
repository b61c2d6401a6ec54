/* WebSocket framing; see ws_frame.h. */
#include "ws_frame.h"

#include <string.h>

#include "utf8_check.h"

enum { ST_HEADER = 0, ST_PAYLOAD = 1, ST_END = 2, ST_ERROR = 3 };

void ws_parser_init(ws_parser *p, int require_mask, int allowed_rsv, uint64_t max_frame,
                    uint64_t max_message) {
    memset(p, 0, sizeof *p);
    p->require_mask = require_mask ? 1 : 0;
    p->allowed_rsv = (uint8_t)(allowed_rsv & (WS_RSV1 | WS_RSV2 | WS_RSV3));
    p->max_frame = max_frame;
    p->max_message = max_message;
    p->state = ST_HEADER;
    p->hdr_need = 2;
}

static size_t fail(ws_parser *p, ws_event *ev, unsigned code, const char *why,
                   size_t consumed) {
    p->state = ST_ERROR;
    p->close_code = (uint16_t)code;
    p->error = why;
    ev->type = WS_EV_ERROR;
    return consumed;
}

/* The first two bytes are in: the rules that need nothing else, and the header size. */
static const char *check_start(ws_parser *p) {
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
    uint8_t opcode = b0 & 0x0F, rsv = b0 & 0x70, fin = b0 >> 7, len7 = b1 & 0x7F;
    int control = opcode >= 0x8;
    if (opcode > WS_OP_BINARY && opcode != WS_OP_CLOSE && opcode != WS_OP_PING &&
        opcode != WS_OP_PONG)
        return "reserved opcode";
    if (rsv & ~p->allowed_rsv)
        return "reserved bits set without an extension for them";
    if (control) {
        if (!fin)
            return "fragmented control frame";
        if (len7 > WS_MAX_CONTROL)
            return "control frame payload above 125 bytes";
        if (rsv)
            return "reserved bits set on a control frame";
    } else if (opcode == WS_OP_CONT) {
        if (!p->msg_opcode)
            return "continuation frame with no message to continue";
        if (rsv & WS_RSV1)
            return "RSV1 set on a continuation frame";
    } else if (p->msg_opcode) {
        return "new data frame inside a fragmented message";
    }
    if ((b1 >> 7) != p->require_mask)
        return p->require_mask ? "unmasked frame from a client" : "masked frame from a server";
    p->hdr_need = (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (b1 >> 7) * 4);
    return NULL;
}

/* The whole header is in: decode the length and key, apply the size limits. */
static size_t finish_header(ws_parser *p, ws_event *ev, size_t consumed) {
    uint8_t len7 = p->hdr[1] & 0x7F;
    size_t at = 2;
    uint64_t length = len7;
    if (len7 == 126) {
        length = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
        at = 4;
    } else if (len7 == 127) {
        int i;
        if (p->hdr[2] & 0x80)
            return fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, "64-bit length with the top bit set",
                        consumed);
        length = 0;
        for (i = 0; i < 8; i++)
            length = (length << 8) | p->hdr[2 + i];
        at = 10;
    }
    p->fin = p->hdr[0] >> 7;
    p->rsv = p->hdr[0] & 0x70;
    p->opcode = p->hdr[0] & 0x0F;
    p->masked = p->hdr[1] >> 7;
    if (p->masked)
        memcpy(p->key, p->hdr + at, 4);
    p->length = length;
    p->done = 0;
    if (p->max_frame && length > p->max_frame)
        return fail(p, ev, WS_CLOSE_TOO_BIG, "frame above the size limit", consumed);
    if (p->opcode < 0x8) {
        if (p->opcode != WS_OP_CONT) {
            p->msg_opcode = p->opcode;
            p->msg_compressed = (p->rsv & WS_RSV1) ? 1 : 0;
            p->msg_size = 0;
        }
        if (p->max_message && length > p->max_message - p->msg_size)
            return fail(p, ev, WS_CLOSE_TOO_BIG, "message above the size limit", consumed);
        p->msg_size += length;
    }
    p->state = ST_PAYLOAD;
    ev->type = WS_EV_HEADER;
    ev->opcode = p->opcode;
    ev->fin = p->fin;
    ev->length = length;
    ev->message_opcode = p->opcode < 0x8 ? p->msg_opcode : 0;
    ev->compressed = p->opcode < 0x8 ? p->msg_compressed : 0;
    return consumed;
}

size_t ws_parser_execute(ws_parser *p, const uint8_t *in, size_t len, ws_event *ev) {
    size_t used = 0;
    memset(ev, 0, sizeof *ev);
    if (p->state == ST_ERROR) {
        ev->type = WS_EV_ERROR;
        return 0;
    }
    if (p->state == ST_HEADER) {
        while (used < len) {
            size_t take = (size_t)(p->hdr_need - p->hdr_len);
            if (take > len - used)
                take = len - used;
            memcpy(p->hdr + p->hdr_len, in + used, take);
            p->hdr_len = (uint8_t)(p->hdr_len + take);
            used += take;
            if (p->hdr_len < p->hdr_need)
                break;
            if (p->hdr_need == 2) {
                const char *why = check_start(p);
                if (why)
                    return fail(p, ev, WS_CLOSE_PROTOCOL_ERROR, why, used);
                if (p->hdr_need > 2)
                    continue;       /* extended length or key still to come */
            }
            p->hdr_len = 0;
            p->hdr_need = 2;
            return finish_header(p, ev, used);
        }
        ev->type = WS_EV_NONE;
        return used;
    }
    if (p->state == ST_PAYLOAD) {
        uint64_t left = p->length - p->done;
        if (left > 0) {
            size_t take = len < left ? len : (size_t)left;
            if (take == 0) {
                ev->type = WS_EV_NONE;
                return 0;
            }
            ev->type = WS_EV_DATA;
            ev->opcode = p->opcode;
            ev->data = in;
            ev->len = take;
            ev->offset = p->done;
            p->done += take;
            return take;
        }
        p->state = ST_END;
    }
    /* ST_END: report the frame's end, and close the message with its last frame. */
    ev->type = WS_EV_END;
    ev->opcode = p->opcode;
    ev->fin = p->fin;
    if (p->opcode < 0x8) {
        ev->message_opcode = p->msg_opcode;
        ev->compressed = p->msg_compressed;
        if (p->fin) {
            ev->message_end = 1;
            p->msg_opcode = 0;
            p->msg_compressed = 0;
            p->msg_size = 0;
        }
    }
    p->state = ST_HEADER;
    return 0;
}

void ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
             uint64_t offset) {
    uint8_t k[8];
    uint64_t kw;
    size_t i = 0, j;
    /* The key rotated to this offset, twice over: one 64-bit word XORs eight bytes. */
    for (j = 0; j < 8; j++)
        k[j] = key[(offset + j) & 3];
    memcpy(&kw, k, 8);
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, src + i, 32);
        w[0] ^= kw;
        w[1] ^= kw;
        w[2] ^= kw;
        w[3] ^= kw;
        memcpy(dst + i, w, 32);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= kw;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++)
        dst[i] = (uint8_t)(src[i] ^ k[i & 7]);
}

size_t ws_header_build(uint8_t *out, int fin, int rsv, int opcode, uint64_t length,
                       const uint8_t *key) {
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 0x70) | (opcode & 0x0F));
    if (length < 126) {
        out[1] = (uint8_t)length;
    } else if (length <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(length >> 8);
        out[3] = (uint8_t)length;
        n = 4;
    } else {
        int i;
        out[1] = 127;
        for (i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(length >> (56 - 8 * i));
        n = 10;
    }
    if (key) {
        out[1] |= 0x80;
        memcpy(out + n, key, 4);
        n += 4;
    }
    return n;
}

int ws_close_code_valid(unsigned code) {
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1011)
        return 1;
    return code >= 3000 && code <= 4999;
}

unsigned ws_close_payload_check(const uint8_t *payload, size_t n) {
    sy_utf8 s;
    if (n == 0)
        return 0;
    if (n == 1)
        return WS_CLOSE_PROTOCOL_ERROR;
    if (!ws_close_code_valid(((unsigned)payload[0] << 8) | payload[1]))
        return WS_CLOSE_PROTOCOL_ERROR;
    sy_utf8_init(&s);
    if (sy_utf8_feed(&s, payload + 2, n - 2) != 0 || !sy_utf8_complete(&s))
        return WS_CLOSE_INVALID_DATA;
    return 0;
}

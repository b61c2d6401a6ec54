/* WebSocket framing (RFC 6455 §5): an incremental frame parser, a header builder,
 * masking, and the rules a conforming endpoint enforces.
 *
 * Sans-IO and callback-free, like http1_parser.h: the caller feeds bytes and reads one
 * event per call; the parser never allocates and never copies payload.
 *
 *     ws_parser p;
 *     ws_parser_init(&p, 1, 0, max_frame, max_message);   // a server: frames are masked
 *     for (;;) {
 *         ws_event ev;
 *         size_t n = ws_parser_execute(&p, buf + off, len - off, &ev);
 *         off += n;
 *         switch (ev.type) {
 *         case WS_EV_NONE:   ...                 // all input consumed: feed more
 *         case WS_EV_HEADER: ...                 // ev.opcode, ev.fin, ev.length
 *         case WS_EV_DATA:   ws_mask(dst, ev.data, ev.len, p.key, ev.offset) if p.masked
 *         case WS_EV_END:    ...                 // frame done; ev.message_end
 *         case WS_EV_ERROR:  ...                 // p.close_code, p.error
 *         }
 *     }
 *
 * A header may be split anywhere (it is collected in the parser, at most 14 bytes).
 * Rules checked as soon as the bytes that break them arrive: RSV bits not negotiated,
 * unknown opcodes, fragmented or oversized (> 125) control frames, a continuation with
 * no message open or a new data frame inside one, RSV1 on a continuation or a control
 * frame, the masking direction, a 64-bit length with its top bit set; the frame and
 * message size limits give close code 1009, the rest 1002. Message reassembly is the
 * caller's (it owns the buffer); the parser tracks which message is open, so control
 * frames may come between fragments.
 */
#ifndef SOURCEY_WS_FRAME_H
#define SOURCEY_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
};

enum {
    WS_RSV1 = 0x40,
    WS_RSV2 = 0x20,
    WS_RSV3 = 0x10
};

enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005,
    WS_CLOSE_ABNORMAL = 1006,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_MANDATORY_EXT = 1010,
    WS_CLOSE_INTERNAL_ERROR = 1011
};

#define WS_MAX_HEADER 14
#define WS_MAX_CONTROL 125

typedef enum ws_event_type {
    WS_EV_NONE = 0,     /* all input consumed: feed more */
    WS_EV_HEADER = 1,   /* a frame header passed the rules: ev.opcode, ev.fin, ev.length */
    WS_EV_DATA = 2,     /* ev.data/ev.len: payload bytes as received, inside the input */
    WS_EV_END = 3,      /* the frame's payload is complete */
    WS_EV_ERROR = 4     /* p.close_code and p.error; the parser stays in error */
} ws_event_type;

typedef struct ws_event {
    ws_event_type type;
    uint8_t opcode;         /* this frame's opcode */
    uint8_t fin;
    uint8_t message_opcode; /* data frames: WS_OP_TEXT or WS_OP_BINARY of the message */
    uint8_t compressed;     /* data frames: RSV1 was set on the message's first frame */
    uint8_t message_end;    /* END of the last frame of a data message */
    const uint8_t *data;    /* DATA: payload bytes, still masked if p.masked */
    size_t len;
    uint64_t offset;        /* DATA: where data starts in the frame's payload (mask phase) */
    uint64_t length;        /* HEADER: the frame's payload length */
} ws_event;

typedef struct ws_parser {
    /* settings */
    uint8_t require_mask;   /* 1: a server, whose peer must mask; 0: a client */
    uint8_t allowed_rsv;    /* RSV bits an extension negotiated (WS_RSV1 for deflate) */
    uint64_t max_frame;     /* payload bytes per frame (0: no limit) */
    uint64_t max_message;   /* payload bytes per data message, as received (0: no limit) */
    /* the frame being read */
    uint8_t state;
    uint8_t hdr[WS_MAX_HEADER];
    uint8_t hdr_len;
    uint8_t hdr_need;
    uint8_t fin;
    uint8_t rsv;
    uint8_t opcode;
    uint8_t masked;
    uint8_t key[4];
    uint64_t length;
    uint64_t done;          /* payload bytes of this frame seen so far */
    /* the data message open across frames */
    uint8_t msg_opcode;     /* 0: none open */
    uint8_t msg_compressed;
    uint64_t msg_size;
    /* the error */
    uint16_t close_code;
    const char *error;
} ws_parser;

void ws_parser_init(ws_parser *p, int require_mask, int allowed_rsv, uint64_t max_frame,
                    uint64_t max_message);

/* Consume input up to the next event; returns the bytes consumed (all of them with
 * WS_EV_NONE). After WS_EV_ERROR every call returns WS_EV_ERROR and consumes nothing. */
size_t ws_parser_execute(ws_parser *p, const uint8_t *in, size_t len, ws_event *ev);

/* dst[i] = src[i] ^ key[(offset + i) % 4] for i < n; dst may be src. */
void ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
             uint64_t offset);

/* Write a frame header into out (WS_MAX_HEADER bytes); key NULL for an unmasked frame.
 * Returns its size (2 to 14). */
size_t ws_header_build(uint8_t *out, int fin, int rsv, int opcode, uint64_t length,
                       const uint8_t *key);

/* 1 if a close frame may carry this code (RFC 6455 §7.4: 1000-1003, 1007-1011 and the
 * registered/private range 3000-4999). */
int ws_close_code_valid(unsigned code);

/* Check an unmasked close payload: 0 if valid, else the close code to answer with
 * (1002 for a 1-byte payload or an invalid code, 1007 for a reason that is not UTF-8). */
unsigned ws_close_payload_check(const uint8_t *payload, size_t n);

#endif

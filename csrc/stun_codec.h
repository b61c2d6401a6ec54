/* The STUN message codec's byte-level core (RFC 8489, RFC 5389), and TURN's ChannelData
 * framing (RFC 8656 §12).
 *
 * Sans-IO and allocation-free: the caller passes the message bytes and an array the
 * attributes are listed into; every span is an offset into the caller's buffer, and
 * every read is bounds-checked against the length given.
 *
 *     stun_attr attrs[64];
 *     stun_msg m;
 *     int err = stun_parse(buf, len, &m, attrs, 64);
 *     if (err != STUN_OK) ... stun_error_reason(err)
 *
 * What stun_parse enforces (a message that breaks any of it is not taken as STUN):
 *   - header: the two top bits zero, the magic cookie, a length that is a multiple of 4
 *     and equals the bytes after the header;
 *   - attributes: each header and its value (padded to 4) inside the message; padding
 *     bytes may hold anything (RFC 8489 §14);
 *   - the values of the attributes this codec knows are well-formed: address families
 *     and lengths, UTF-8 text within its length limit, ERROR-CODE's class and number,
 *     whole UNKNOWN-ATTRIBUTES and PASSWORD-ALGORITHMS lists, MESSAGE-INTEGRITY (20
 *     bytes), MESSAGE-INTEGRITY-SHA256 (16 to 32 bytes, a multiple of 4), FINGERPRINT
 *     (4 bytes, last, and matching the CRC-32 of what precedes it), fixed-size TURN
 *     attributes;
 *   - at most `cap` attributes (a flood is an error, not a truncation).
 * Attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT, and after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are skipped
 * as RFC 8489 §14.5/§14.6 say: checked for framing, not listed.
 */
#ifndef SOURCEY_STUN_CODEC_H
#define SOURCEY_STUN_CODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STUN_HEADER_SIZE 20
#define STUN_MAGIC_COOKIE 0x2112A442u
#define STUN_FINGERPRINT_XOR 0x5354554Eu
#define STUN_MAX_MESSAGE (STUN_HEADER_SIZE + 0xFFFF)

/* Attribute types (RFC 8489 §18.3, RFC 8656 §18, RFC 6062, RFC 8445, RFC 5780). */
enum {
    STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    STUN_ATTR_CHANGE_REQUEST = 0x0003,
    STUN_ATTR_USERNAME = 0x0006,
    STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    STUN_ATTR_ERROR_CODE = 0x0009,
    STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    STUN_ATTR_CHANNEL_NUMBER = 0x000C,
    STUN_ATTR_LIFETIME = 0x000D,
    STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
    STUN_ATTR_DATA = 0x0013,
    STUN_ATTR_REALM = 0x0014,
    STUN_ATTR_NONCE = 0x0015,
    STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
    STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
    STUN_ATTR_EVEN_PORT = 0x0018,
    STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
    STUN_ATTR_DONT_FRAGMENT = 0x001A,
    STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
    STUN_ATTR_USERHASH = 0x001E,
    STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    STUN_ATTR_RESERVATION_TOKEN = 0x0022,
    STUN_ATTR_PRIORITY = 0x0024,
    STUN_ATTR_USE_CANDIDATE = 0x0025,
    STUN_ATTR_CONNECTION_ID = 0x002A,
    STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
    STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
    STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
    STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
    STUN_ATTR_ICMP = 0x8004,
    STUN_ATTR_SOFTWARE = 0x8022,
    STUN_ATTR_ALTERNATE_SERVER = 0x8023,
    STUN_ATTR_FINGERPRINT = 0x8028,
    STUN_ATTR_ICE_CONTROLLED = 0x8029,
    STUN_ATTR_ICE_CONTROLLING = 0x802A
};

typedef enum stun_error {
    STUN_OK = 0,
    STUN_E_SHORT,              /* fewer than 20 bytes */
    STUN_E_NOT_STUN,           /* a top bit set */
    STUN_E_COOKIE,             /* no magic cookie (an RFC 3489 message, or not STUN) */
    STUN_E_LENGTH_ALIGN,       /* the length field is not a multiple of 4 */
    STUN_E_LENGTH,             /* the length field does not match the bytes */
    STUN_E_ATTR_TRUNCATED,     /* an attribute (value or padding) overruns the message */
    STUN_E_TOO_MANY_ATTRS,     /* more attributes than the caller allows */
    STUN_E_ADDRESS,            /* a malformed (XOR-)address attribute */
    STUN_E_TEXT,               /* text that is not UTF-8, or too long */
    STUN_E_ERROR_CODE,         /* a malformed ERROR-CODE */
    STUN_E_UNKNOWN_ATTRS,      /* UNKNOWN-ATTRIBUTES of odd length */
    STUN_E_PASSWORD_ALGS,      /* a malformed PASSWORD-ALGORITHM(S) */
    STUN_E_INTEGRITY_LENGTH,   /* MESSAGE-INTEGRITY(-SHA256) of a wrong length */
    STUN_E_FINGERPRINT_LENGTH, /* FINGERPRINT not 4 bytes */
    STUN_E_FINGERPRINT_LAST,   /* an attribute after FINGERPRINT */
    STUN_E_FINGERPRINT,        /* FINGERPRINT does not match */
    STUN_E_ATTR_LENGTH,        /* a fixed-size attribute of another size */
    STUN_E_CHANNEL,            /* not a ChannelData message (number or length) */
    STUN_E__COUNT
} stun_error;

typedef struct stun_attr {
    uint16_t type;
    uint16_t len;      /* the value's length, padding excluded */
    uint32_t off;      /* the value's offset in the message */
} stun_attr;

typedef struct stun_msg {
    uint16_t type;         /* the message type (method and class) */
    uint16_t length;       /* the header's length field */
    uint32_t nattrs;       /* attributes listed */
    int32_t integrity;     /* offset of MESSAGE-INTEGRITY's header, or -1 */
    int32_t integrity256;  /* offset of MESSAGE-INTEGRITY-SHA256's header, or -1 */
    int32_t fingerprint;   /* offset of FINGERPRINT's header, or -1 */
} stun_msg;

/* Validate a header: STUN_OK, or the error (a short buffer is STUN_E_SHORT). */
int stun_check_header(const uint8_t* buf, size_t len);

/* Parse and validate a whole message (see above); attrs[0..m->nattrs) lists the
 * attributes in order. Returns STUN_OK or a stun_error. */
int stun_parse(const uint8_t* buf, size_t len, stun_msg* m, stun_attr* attrs, uint32_t cap);

/* Whether the codec checks this attribute type's value (the types listed above). */
int stun_attr_known(uint16_t type);

/* CRC-32 (ISO-HDLC, as zlib's crc32) of buf[0..len). */
uint32_t stun_crc32(const uint8_t* buf, size_t len);

/* The FINGERPRINT value of a message whose first `len` bytes come before it: the
 * header's length field is taken as already covering the FINGERPRINT attribute. */
uint32_t stun_fingerprint(const uint8_t* buf, size_t len);

/* Decode a (XOR-)address value: family 4 or 6, port, addr[0..4 or 16). With `txid`
 * (the 12-byte transaction ID) the value is XOR-ed as RFC 8489 §14.2 says; NULL: a
 * plain MAPPED-ADDRESS. Returns STUN_OK or STUN_E_ADDRESS. */
int stun_address_decode(const uint8_t* value, size_t len, const uint8_t* txid,
                        int* family, uint16_t* port, uint8_t addr[16]);

/* Encode an address value into out (8 bytes for IPv4, 20 for IPv6); returns the
 * length written, or 0 if `cap` is too small or the family is not 4 or 6. */
size_t stun_address_encode(uint8_t* out, size_t cap, int family, uint16_t port,
                           const uint8_t* addr, const uint8_t* txid);

/* The Binding success response (RFC 8489 §7.3.1) to a request whose 12-byte
 * transaction ID is `txid`: XOR-MAPPED-ADDRESS (family 4 or 6, port, addr), then
 * SOFTWARE when software_len > 0, then FINGERPRINT when `fingerprint`. Returns the
 * length written to out, or 0 if it does not fit in `cap` or an argument is invalid
 * (software_len above 763, a family other than 4 or 6). */
size_t stun_binding_success(uint8_t* out, size_t cap, const uint8_t* txid, int family,
                            uint16_t port, const uint8_t* addr, const uint8_t* software,
                            size_t software_len, int fingerprint);

/* Stream framing: the length of the frame that starts at buf (a STUN message, or with
 * `channel_data` a ChannelData message padded to 4 as over TCP), 0 when fewer than 4
 * bytes are available, or -1 when the bytes cannot start a frame. The frame may be
 * longer than len: the caller waits for that many bytes. */
long stun_frame_length(const uint8_t* buf, size_t len, int channel_data);

/* A ChannelData message (RFC 8656 §12.4) in buf[0..len): its channel number
 * (0x4000-0x7FFF: RFC 5766's range, which RFC 8656 narrowed to 0x4000-0x4FFF) and
 * payload length; the payload is buf[4..4 + *payload). The bytes
 * may run past the payload (padding: optional over UDP, §12.5). Returns STUN_OK or
 * STUN_E_CHANNEL. */
int stun_channel_data_parse(const uint8_t* buf, size_t len, uint16_t* channel,
                            uint16_t* payload);

const char* stun_error_name(int error);
const char* stun_error_reason(int error);

#ifdef __cplusplus
}
#endif

#endif

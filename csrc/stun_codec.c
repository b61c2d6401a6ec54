/* The STUN codec's byte-level core: see stun_codec.h. */
#include "stun_codec.h"

#include <string.h>

static uint16_t rd16(const uint8_t* p) { return (uint16_t)((p[0] << 8) | p[1]); }

static uint32_t rd32(const uint8_t* p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* CRC-32 with the reflected polynomial 0xEDB88320, one table lookup per byte. */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xEE0E612Cu, 0x990951BAu, 0x076DC419u, 0x706AF48Fu,
    0xE963A535u, 0x9E6495A3u, 0x0EDB8832u, 0x79DCB8A4u, 0xE0D5E91Eu, 0x97D2D988u,
    0x09B64C2Bu, 0x7EB17CBDu, 0xE7B82D07u, 0x90BF1D91u, 0x1DB71064u, 0x6AB020F2u,
    0xF3B97148u, 0x84BE41DEu, 0x1ADAD47Du, 0x6DDDE4EBu, 0xF4D4B551u, 0x83D385C7u,
    0x136C9856u, 0x646BA8C0u, 0xFD62F97Au, 0x8A65C9ECu, 0x14015C4Fu, 0x63066CD9u,
    0xFA0F3D63u, 0x8D080DF5u, 0x3B6E20C8u, 0x4C69105Eu, 0xD56041E4u, 0xA2677172u,
    0x3C03E4D1u, 0x4B04D447u, 0xD20D85FDu, 0xA50AB56Bu, 0x35B5A8FAu, 0x42B2986Cu,
    0xDBBBC9D6u, 0xACBCF940u, 0x32D86CE3u, 0x45DF5C75u, 0xDCD60DCFu, 0xABD13D59u,
    0x26D930ACu, 0x51DE003Au, 0xC8D75180u, 0xBFD06116u, 0x21B4F4B5u, 0x56B3C423u,
    0xCFBA9599u, 0xB8BDA50Fu, 0x2802B89Eu, 0x5F058808u, 0xC60CD9B2u, 0xB10BE924u,
    0x2F6F7C87u, 0x58684C11u, 0xC1611DABu, 0xB6662D3Du, 0x76DC4190u, 0x01DB7106u,
    0x98D220BCu, 0xEFD5102Au, 0x71B18589u, 0x06B6B51Fu, 0x9FBFE4A5u, 0xE8B8D433u,
    0x7807C9A2u, 0x0F00F934u, 0x9609A88Eu, 0xE10E9818u, 0x7F6A0DBBu, 0x086D3D2Du,
    0x91646C97u, 0xE6635C01u, 0x6B6B51F4u, 0x1C6C6162u, 0x856530D8u, 0xF262004Eu,
    0x6C0695EDu, 0x1B01A57Bu, 0x8208F4C1u, 0xF50FC457u, 0x65B0D9C6u, 0x12B7E950u,
    0x8BBEB8EAu, 0xFCB9887Cu, 0x62DD1DDFu, 0x15DA2D49u, 0x8CD37CF3u, 0xFBD44C65u,
    0x4DB26158u, 0x3AB551CEu, 0xA3BC0074u, 0xD4BB30E2u, 0x4ADFA541u, 0x3DD895D7u,
    0xA4D1C46Du, 0xD3D6F4FBu, 0x4369E96Au, 0x346ED9FCu, 0xAD678846u, 0xDA60B8D0u,
    0x44042D73u, 0x33031DE5u, 0xAA0A4C5Fu, 0xDD0D7CC9u, 0x5005713Cu, 0x270241AAu,
    0xBE0B1010u, 0xC90C2086u, 0x5768B525u, 0x206F85B3u, 0xB966D409u, 0xCE61E49Fu,
    0x5EDEF90Eu, 0x29D9C998u, 0xB0D09822u, 0xC7D7A8B4u, 0x59B33D17u, 0x2EB40D81u,
    0xB7BD5C3Bu, 0xC0BA6CADu, 0xEDB88320u, 0x9ABFB3B6u, 0x03B6E20Cu, 0x74B1D29Au,
    0xEAD54739u, 0x9DD277AFu, 0x04DB2615u, 0x73DC1683u, 0xE3630B12u, 0x94643B84u,
    0x0D6D6A3Eu, 0x7A6A5AA8u, 0xE40ECF0Bu, 0x9309FF9Du, 0x0A00AE27u, 0x7D079EB1u,
    0xF00F9344u, 0x8708A3D2u, 0x1E01F268u, 0x6906C2FEu, 0xF762575Du, 0x806567CBu,
    0x196C3671u, 0x6E6B06E7u, 0xFED41B76u, 0x89D32BE0u, 0x10DA7A5Au, 0x67DD4ACCu,
    0xF9B9DF6Fu, 0x8EBEEFF9u, 0x17B7BE43u, 0x60B08ED5u, 0xD6D6A3E8u, 0xA1D1937Eu,
    0x38D8C2C4u, 0x4FDFF252u, 0xD1BB67F1u, 0xA6BC5767u, 0x3FB506DDu, 0x48B2364Bu,
    0xD80D2BDAu, 0xAF0A1B4Cu, 0x36034AF6u, 0x41047A60u, 0xDF60EFC3u, 0xA867DF55u,
    0x316E8EEFu, 0x4669BE79u, 0xCB61B38Cu, 0xBC66831Au, 0x256FD2A0u, 0x5268E236u,
    0xCC0C7795u, 0xBB0B4703u, 0x220216B9u, 0x5505262Fu, 0xC5BA3BBEu, 0xB2BD0B28u,
    0x2BB45A92u, 0x5CB36A04u, 0xC2D7FFA7u, 0xB5D0CF31u, 0x2CD99E8Bu, 0x5BDEAE1Du,
    0x9B64C2B0u, 0xEC63F226u, 0x756AA39Cu, 0x026D930Au, 0x9C0906A9u, 0xEB0E363Fu,
    0x72076785u, 0x05005713u, 0x95BF4A82u, 0xE2B87A14u, 0x7BB12BAEu, 0x0CB61B38u,
    0x92D28E9Bu, 0xE5D5BE0Du, 0x7CDCEFB7u, 0x0BDBDF21u, 0x86D3D2D4u, 0xF1D4E242u,
    0x68DDB3F8u, 0x1FDA836Eu, 0x81BE16CDu, 0xF6B9265Bu, 0x6FB077E1u, 0x18B74777u,
    0x88085AE6u, 0xFF0F6A70u, 0x66063BCAu, 0x11010B5Cu, 0x8F659EFFu, 0xF862AE69u,
    0x616BFFD3u, 0x166CCF45u, 0xA00AE278u, 0xD70DD2EEu, 0x4E048354u, 0x3903B3C2u,
    0xA7672661u, 0xD06016F7u, 0x4969474Du, 0x3E6E77DBu, 0xAED16A4Au, 0xD9D65ADCu,
    0x40DF0B66u, 0x37D83BF0u, 0xA9BCAE53u, 0xDEBB9EC5u, 0x47B2CF7Fu, 0x30B5FFE9u,
    0xBDBDF21Cu, 0xCABAC28Au, 0x53B39330u, 0x24B4A3A6u, 0xBAD03605u, 0xCDD70693u,
    0x54DE5729u, 0x23D967BFu, 0xB3667A2Eu, 0xC4614AB8u, 0x5D681B02u, 0x2A6F2B94u,
    0xB40BBE37u, 0xC30C8EA1u, 0x5A05DF1Bu, 0x2D02EF8Du,
};

uint32_t stun_crc32(const uint8_t* buf, size_t len) {
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < len; i++)
        c = crc_table[(c ^ buf[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t stun_fingerprint(const uint8_t* buf, size_t len) {
    return stun_crc32(buf, len) ^ STUN_FINGERPRINT_XOR;
}

/* Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8_valid(const uint8_t* s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t n, k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += n + 1;
    }
    return 1;
}

int stun_check_header(const uint8_t* buf, size_t len) {
    uint16_t length;
    if (len < STUN_HEADER_SIZE)
        return STUN_E_SHORT;
    if (buf[0] & 0xC0)
        return STUN_E_NOT_STUN;
    if (rd32(buf + 4) != STUN_MAGIC_COOKIE)
        return STUN_E_COOKIE;
    length = rd16(buf + 2);
    if (length & 3)
        return STUN_E_LENGTH_ALIGN;
    if ((size_t)length + STUN_HEADER_SIZE != len)
        return STUN_E_LENGTH;
    return STUN_OK;
}

int stun_address_decode(const uint8_t* value, size_t len, const uint8_t* txid,
                        int* family, uint16_t* port, uint8_t addr[16]) {
    size_t n, i;
    uint8_t mask[16];
    if (len < 4)
        return STUN_E_ADDRESS;
    if (value[1] == 0x01 && len == 8) {
        *family = 4;
        n = 4;
    } else if (value[1] == 0x02 && len == 20) {
        *family = 6;
        n = 16;
    } else {
        return STUN_E_ADDRESS;
    }
    *port = rd16(value + 2);
    memcpy(addr, value + 4, n);
    if (txid != NULL) {
        /* The port is XOR-ed with the cookie's top half, the address with the cookie
         * followed by the transaction ID. */
        mask[0] = 0x21;
        mask[1] = 0x12;
        mask[2] = 0xA4;
        mask[3] = 0x42;
        memcpy(mask + 4, txid, 12);
        *port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
        for (i = 0; i < n; i++)
            addr[i] ^= mask[i];
    }
    return STUN_OK;
}

size_t stun_address_encode(uint8_t* out, size_t cap, int family, uint16_t port,
                           const uint8_t* addr, const uint8_t* txid) {
    size_t n = family == 4 ? 4 : family == 6 ? 16 : 0;
    size_t i;
    uint8_t mask[16];
    if (n == 0 || cap < 4 + n)
        return 0;
    if (txid != NULL) {
        mask[0] = 0x21;
        mask[1] = 0x12;
        mask[2] = 0xA4;
        mask[3] = 0x42;
        memcpy(mask + 4, txid, 12);
        port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
    }
    out[0] = 0;
    out[1] = family == 4 ? 0x01 : 0x02;
    out[2] = (uint8_t)(port >> 8);
    out[3] = (uint8_t)port;
    for (i = 0; i < n; i++)
        out[4 + i] = txid != NULL ? (uint8_t)(addr[i] ^ mask[i]) : addr[i];
    return 4 + n;
}

/* The exact size of a fixed-size attribute, or -1 if its size varies. */
static int fixed_size(uint16_t type) {
    switch (type) {
    case STUN_ATTR_MESSAGE_INTEGRITY:
        return 20;
    case STUN_ATTR_USERHASH:
        return 32;
    case STUN_ATTR_CHANGE_REQUEST:
    case STUN_ATTR_CHANNEL_NUMBER:
    case STUN_ATTR_LIFETIME:
    case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
    case STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY:
    case STUN_ATTR_REQUESTED_TRANSPORT:
    case STUN_ATTR_PRIORITY:
    case STUN_ATTR_CONNECTION_ID:
        return 4;
    case STUN_ATTR_EVEN_PORT:
        return 1;
    case STUN_ATTR_DONT_FRAGMENT:
    case STUN_ATTR_USE_CANDIDATE:
        return 0;
    case STUN_ATTR_RESERVATION_TOKEN:
    case STUN_ATTR_ICE_CONTROLLED:
    case STUN_ATTR_ICE_CONTROLLING:
    case STUN_ATTR_ICMP:
        return 8;
    default:
        return -1;
    }
}

int stun_attr_known(uint16_t type) {
    switch (type) {
    case STUN_ATTR_MAPPED_ADDRESS:
    case STUN_ATTR_XOR_MAPPED_ADDRESS:
    case STUN_ATTR_XOR_PEER_ADDRESS:
    case STUN_ATTR_XOR_RELAYED_ADDRESS:
    case STUN_ATTR_ALTERNATE_SERVER:
    case STUN_ATTR_USERNAME:
    case STUN_ATTR_REALM:
    case STUN_ATTR_NONCE:
    case STUN_ATTR_SOFTWARE:
    case STUN_ATTR_ALTERNATE_DOMAIN:
    case STUN_ATTR_ERROR_CODE:
    case STUN_ATTR_ADDRESS_ERROR_CODE:
    case STUN_ATTR_UNKNOWN_ATTRIBUTES:
    case STUN_ATTR_PASSWORD_ALGORITHM:
    case STUN_ATTR_PASSWORD_ALGORITHMS:
    case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
    case STUN_ATTR_FINGERPRINT:
    case STUN_ATTR_DATA:
        return 1;
    default:
        return fixed_size(type) >= 0;
    }
}

/* One password algorithm entry at v[0..len): its padded size, or 0 if malformed. */
static size_t password_alg(const uint8_t* v, size_t len) {
    size_t n;
    if (len < 4)
        return 0;
    n = 4 + pad4(rd16(v + 2));
    return n <= len ? n : 0;
}

static int check_value(uint16_t type, const uint8_t* v, size_t len) {
    int fixed = fixed_size(type);
    size_t i, n;
    int family;
    uint16_t port;
    uint8_t addr[16];
    if (fixed >= 0)
        return (size_t)fixed == len ? STUN_OK
               : type == STUN_ATTR_MESSAGE_INTEGRITY ? STUN_E_INTEGRITY_LENGTH
                                                     : STUN_E_ATTR_LENGTH;
    switch (type) {
    case STUN_ATTR_MAPPED_ADDRESS:
    case STUN_ATTR_XOR_MAPPED_ADDRESS:
    case STUN_ATTR_XOR_PEER_ADDRESS:
    case STUN_ATTR_XOR_RELAYED_ADDRESS:
    case STUN_ATTR_ALTERNATE_SERVER:
        return stun_address_decode(v, len, NULL, &family, &port, addr);
    case STUN_ATTR_USERNAME:
        return len <= 513 && utf8_valid(v, len) ? STUN_OK : STUN_E_TEXT;
    case STUN_ATTR_REALM:
    case STUN_ATTR_NONCE:
    case STUN_ATTR_SOFTWARE:
        return len <= 763 && utf8_valid(v, len) ? STUN_OK : STUN_E_TEXT;
    case STUN_ATTR_ALTERNATE_DOMAIN:
        return len <= 255 && utf8_valid(v, len) ? STUN_OK : STUN_E_TEXT;
    case STUN_ATTR_ERROR_CODE:
        if (len < 4 || v[2] < 3 || v[2] > 6 || v[3] > 99)
            return STUN_E_ERROR_CODE;
        return len - 4 <= 763 && utf8_valid(v + 4, len - 4) ? STUN_OK : STUN_E_TEXT;
    case STUN_ATTR_ADDRESS_ERROR_CODE:
        if (len < 4 || (v[0] != 0x01 && v[0] != 0x02) || (v[2] & 7) < 3 ||
            (v[2] & 7) > 6 || v[3] > 99)
            return STUN_E_ERROR_CODE;
        return len - 4 <= 763 && utf8_valid(v + 4, len - 4) ? STUN_OK : STUN_E_TEXT;
    case STUN_ATTR_UNKNOWN_ATTRIBUTES:
        return len % 2 == 0 ? STUN_OK : STUN_E_UNKNOWN_ATTRS;
    case STUN_ATTR_PASSWORD_ALGORITHM:
        /* One entry; its parameters' padding may be left out. */
        return len >= 4 && len >= 4 + (size_t)rd16(v + 2) && len <= 4 + pad4(rd16(v + 2))
                   ? STUN_OK : STUN_E_PASSWORD_ALGS;
    case STUN_ATTR_PASSWORD_ALGORITHMS:
        for (i = 0; i < len; i += n) {
            n = password_alg(v + i, len - i);
            if (n == 0)
                return STUN_E_PASSWORD_ALGS;
        }
        return STUN_OK;
    case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
        return len >= 16 && len <= 32 && len % 4 == 0 ? STUN_OK : STUN_E_INTEGRITY_LENGTH;
    case STUN_ATTR_FINGERPRINT:
        return len == 4 ? STUN_OK : STUN_E_FINGERPRINT_LENGTH;
    default:
        return STUN_OK;
    }
}

int stun_parse(const uint8_t* buf, size_t len, stun_msg* m, stun_attr* attrs, uint32_t cap) {
    size_t off = STUN_HEADER_SIZE;
    int err = stun_check_header(buf, len);
    int listing = 1;     /* 0 once MESSAGE-INTEGRITY(-SHA256) limits what follows */
    m->type = 0;
    m->length = 0;
    m->nattrs = 0;
    m->integrity = m->integrity256 = m->fingerprint = -1;
    if (err != STUN_OK)
        return err;
    m->type = rd16(buf);
    m->length = rd16(buf + 2);
    while (off < len) {
        uint16_t type, alen;
        int listed;
        if (len - off < 4)
            return STUN_E_ATTR_TRUNCATED;
        if (m->fingerprint >= 0)
            return STUN_E_FINGERPRINT_LAST;
        type = rd16(buf + off);
        alen = rd16(buf + off + 2);
        if (pad4(alen) > len - off - 4)
            return STUN_E_ATTR_TRUNCATED;
        /* After MESSAGE-INTEGRITY: MESSAGE-INTEGRITY-SHA256 and FINGERPRINT only; after
         * MESSAGE-INTEGRITY-SHA256: FINGERPRINT only. The rest is ignored. */
        listed = type == STUN_ATTR_FINGERPRINT ||
                 (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 && m->integrity256 < 0) ||
                 (listing && type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256);
        if (listed) {
            err = check_value(type, buf + off + 4, alen);
            if (err != STUN_OK)
                return err;
            if (m->nattrs >= cap)
                return STUN_E_TOO_MANY_ATTRS;
            attrs[m->nattrs].type = type;
            attrs[m->nattrs].len = alen;
            attrs[m->nattrs].off = (uint32_t)(off + 4);
            m->nattrs++;
            if (type == STUN_ATTR_MESSAGE_INTEGRITY) {
                m->integrity = (int32_t)off;
                listing = 0;
            } else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
                m->integrity256 = (int32_t)off;
                listing = 0;
            } else if (type == STUN_ATTR_FINGERPRINT) {
                m->fingerprint = (int32_t)off;
            }
        }
        off += 4 + pad4(alen);
    }
    if (m->fingerprint >= 0 &&
        rd32(buf + m->fingerprint + 4) != stun_fingerprint(buf, (size_t)m->fingerprint))
        return STUN_E_FINGERPRINT;
    return STUN_OK;
}

static void wr16(uint8_t* p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t* p, uint32_t v) {
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

size_t stun_binding_success(uint8_t* out, size_t cap, const uint8_t* txid, int family,
                            uint16_t port, const uint8_t* addr, const uint8_t* software,
                            size_t software_len, int fingerprint) {
    size_t need, off = STUN_HEADER_SIZE, n;
    if ((family != 4 && family != 6) || software_len > 763)
        return 0;
    need = STUN_HEADER_SIZE + 4 + (family == 4 ? 8 : 20) +
           (software_len ? 4 + pad4(software_len) : 0) + (fingerprint ? 8 : 0);
    if (cap < need)
        return 0;
    wr16(out, 0x0101);
    wr16(out + 2, (uint16_t)(need - STUN_HEADER_SIZE));
    wr32(out + 4, STUN_MAGIC_COOKIE);
    memcpy(out + 8, txid, 12);
    n = stun_address_encode(out + off + 4, cap - off - 4, family, port, addr, txid);
    wr16(out + off, STUN_ATTR_XOR_MAPPED_ADDRESS);
    wr16(out + off + 2, (uint16_t)n);
    off += 4 + n;
    if (software_len) {
        wr16(out + off, STUN_ATTR_SOFTWARE);
        wr16(out + off + 2, (uint16_t)software_len);
        memcpy(out + off + 4, software, software_len);
        memset(out + off + 4 + software_len, 0, pad4(software_len) - software_len);
        off += 4 + pad4(software_len);
    }
    if (fingerprint) {
        wr16(out + off, STUN_ATTR_FINGERPRINT);
        wr16(out + off + 2, 4);
        wr32(out + off + 4, stun_fingerprint(out, off));
        off += 8;
    }
    return off;
}

long stun_frame_length(const uint8_t* buf, size_t len, int channel_data) {
    uint16_t n;
    if (len < 4)
        return 0;
    n = rd16(buf + 2);
    if ((buf[0] & 0xC0) == 0) {
        if (n & 3)
            return -1;
        if (len >= 8 && rd32(buf + 4) != STUN_MAGIC_COOKIE)
            return -1;
        return (long)STUN_HEADER_SIZE + n;
    }
    /* ChannelData, padded over TCP: channel numbers 0x4000-0x7FFF, RFC 5766's range.
     * RFC 8656 §12 narrowed it to 0x4000-0x4FFF, but RFC 5766 clients (coturn's
     * turnutils_uclient among them) still pick numbers above. */
    if (channel_data && (buf[0] & 0xC0) == 0x40)
        return 4 + (long)pad4(n);
    return -1;
}

int stun_channel_data_parse(const uint8_t* buf, size_t len, uint16_t* channel,
                            uint16_t* payload) {
    uint16_t number, n;
    if (len < 4)
        return STUN_E_CHANNEL;
    number = rd16(buf);
    n = rd16(buf + 2);
    if (number < 0x4000 || number > 0x7FFF || (size_t)n > len - 4)
        return STUN_E_CHANNEL;
    *channel = number;
    *payload = n;
    return STUN_OK;
}

static const char* const names[STUN_E__COUNT] = {
    "OK", "SHORT", "NOT_STUN", "COOKIE", "LENGTH_ALIGN", "LENGTH", "ATTR_TRUNCATED",
    "TOO_MANY_ATTRS", "ADDRESS", "TEXT", "ERROR_CODE", "UNKNOWN_ATTRS", "PASSWORD_ALGS",
    "INTEGRITY_LENGTH", "FINGERPRINT_LENGTH", "FINGERPRINT_LAST", "FINGERPRINT",
    "ATTR_LENGTH", "CHANNEL",
};

static const char* const reasons[STUN_E__COUNT] = {
    "no error",
    "shorter than a STUN header",
    "the first two bits are not zero",
    "no magic cookie",
    "the length is not a multiple of 4",
    "the length field does not match the message",
    "an attribute overruns the message",
    "too many attributes",
    "malformed address attribute",
    "text attribute not UTF-8 or too long",
    "malformed ERROR-CODE",
    "UNKNOWN-ATTRIBUTES of odd length",
    "malformed PASSWORD-ALGORITHM(S)",
    "MESSAGE-INTEGRITY of a wrong length",
    "FINGERPRINT of a wrong length",
    "an attribute after FINGERPRINT",
    "FINGERPRINT does not match",
    "attribute of a wrong length",
    "not a ChannelData message",
};

const char* stun_error_name(int error) {
    return error >= 0 && error < STUN_E__COUNT ? names[error] : "UNKNOWN";
}

const char* stun_error_reason(int error) {
    return error >= 0 && error < STUN_E__COUNT ? reasons[error] : "unknown error";
}

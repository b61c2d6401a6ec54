# sourcey.stun._codec: the sans-IO face of csrc/stun_codec.c.

from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t


cdef extern from "stun_codec.h" nogil:
    enum:
        STUN_HEADER_SIZE
        STUN_MAX_MESSAGE
        STUN_OK
        STUN_E_FINGERPRINT
        STUN_E_SHORT
        STUN_ATTR_CHANGE_REQUEST

    ctypedef struct stun_attr:
        uint16_t type
        uint16_t len
        uint32_t off

    ctypedef struct stun_msg:
        uint16_t type
        uint16_t length
        uint32_t nattrs
        int32_t integrity
        int32_t integrity256
        int32_t fingerprint

    int stun_check_header(const uint8_t* buf, size_t len)
    int stun_parse(const uint8_t* buf, size_t len, stun_msg* m, stun_attr* attrs,
                   uint32_t cap)
    int stun_attr_known(uint16_t type)
    uint32_t stun_crc32(const uint8_t* buf, size_t len)
    uint32_t stun_fingerprint(const uint8_t* buf, size_t len)
    int stun_address_decode(const uint8_t* value, size_t len, const uint8_t* txid,
                            int* family, uint16_t* port, uint8_t* addr)
    size_t stun_address_encode(uint8_t* out, size_t cap, int family, uint16_t port,
                               const uint8_t* addr, const uint8_t* txid)
    int stun_channel_data_parse(const uint8_t* buf, size_t len, uint16_t* channel,
                                uint16_t* payload)
    size_t stun_binding_success(uint8_t* out, size_t cap, const uint8_t* txid, int family,
                                uint16_t port, const uint8_t* addr, const uint8_t* software,
                                size_t software_len, int fingerprint)
    long stun_frame_length(const uint8_t* buf, size_t len, int channel_data)
    const char* stun_error_name(int error)
    const char* stun_error_reason(int error)


cdef class Framer:
    cdef bytearray _buf
    cdef readonly bint channel_data
    cdef readonly Py_ssize_t max_frame
    cdef object _error

    cdef Py_ssize_t _take(self, const uint8_t* buf, size_t length, list out) except -1

# sourcey.http.websocket._frame: the sans-IO face of csrc/ws_frame.c (framing, masking,
# UTF-8) and csrc/ws_deflate.c (permessage-deflate). A connection cimports Codec and may
# feed it straight from a read buffer with feed_ptr.

from libc.stdint cimport uint8_t, uint16_t, uint64_t


cdef extern from "utf8_check.h" nogil:
    ctypedef struct sy_utf8:
        uint8_t need

    void sy_utf8_init(sy_utf8* s)
    int sy_utf8_feed(sy_utf8* s, const uint8_t* p, size_t n)
    int sy_utf8_complete(const sy_utf8* s)


cdef extern from "ws_frame.h" nogil:
    enum:
        WS_OP_CONT
        WS_OP_TEXT
        WS_OP_BINARY
        WS_OP_CLOSE
        WS_OP_PING
        WS_OP_PONG
        WS_RSV1
        WS_MAX_HEADER
        WS_MAX_CONTROL

    ctypedef enum ws_event_type:
        WS_EV_NONE
        WS_EV_HEADER
        WS_EV_DATA
        WS_EV_END
        WS_EV_ERROR

    ctypedef struct ws_event:
        ws_event_type type
        uint8_t opcode
        uint8_t fin
        uint8_t message_opcode
        uint8_t compressed
        uint8_t message_end
        const uint8_t* data
        size_t len
        uint64_t offset
        uint64_t length

    ctypedef struct ws_parser:
        uint8_t masked
        uint8_t key[4]
        uint64_t max_frame
        uint64_t max_message
        uint16_t close_code
        const char* error

    void ws_parser_init(ws_parser* p, int require_mask, int allowed_rsv, uint64_t max_frame,
                        uint64_t max_message)
    size_t ws_parser_execute(ws_parser* p, const uint8_t* data, size_t len, ws_event* ev)
    void ws_mask(uint8_t* dst, const uint8_t* src, size_t n, const uint8_t* key,
                 uint64_t offset)
    size_t ws_header_build(uint8_t* out, int fin, int rsv, int opcode, uint64_t length,
                           const uint8_t* key)
    int ws_close_code_valid(unsigned code)
    unsigned ws_close_payload_check(const uint8_t* payload, size_t n)


cdef extern from "ws_deflate.h" nogil:
    ctypedef struct ws_zstream:
        uint8_t ended

    enum:
        WS_Z_ERROR
        WS_Z_FULL
        WS_Z_DONE

    int ws_deflate_init(ws_zstream* s, int window_bits, int level, int mem_level)
    int ws_inflate_init(ws_zstream* s)
    void ws_z_end(ws_zstream* s)
    int ws_z_reset(ws_zstream* s)
    void ws_z_input(ws_zstream* s, const uint8_t* data, size_t n)
    int ws_deflate_run(ws_zstream* s, uint8_t* out, size_t cap, size_t* produced)
    int ws_inflate_run(ws_zstream* s, uint8_t* out, size_t cap, size_t* produced)
    const uint8_t ws_deflate_tail[4]


cdef class _Buffer:
    cdef uint8_t* data
    cdef size_t size
    cdef size_t cap

    cdef int reserve(self, size_t extra) except -1
    cdef int clear(self) except -1


cdef class Codec:
    cdef ws_parser _p
    cdef readonly bint client
    cdef readonly bint compression
    cdef readonly uint64_t max_message
    cdef bint _deflate_reset        # our no_context_takeover
    cdef bint _inflate_reset        # the peer's no_context_takeover
    cdef ws_zstream _deflate
    cdef ws_zstream _inflate
    cdef sy_utf8 _utf8
    cdef bint _check_utf8           # the open message is text
    cdef bint _compressed           # the open message is compressed (RSV1)
    cdef _Buffer _msg               # the data message being reassembled
    cdef _Buffer _scratch           # a compressed frame's unmasked bytes
    cdef _Buffer _zout              # an outgoing message, compressed
    cdef uint8_t _ctl[125]          # the control frame being read
    cdef size_t _ctl_len
    cdef bytes _keys                # masking keys, taken 4 bytes at a time
    cdef size_t _key_at
    cdef readonly object error      # the first violation: (close_code, reason)

    cdef int feed_ptr(self, const uint8_t* data, size_t length, list out) except -1
    cdef int _payload(self, ws_event* ev) except -1
    cdef int _inflate_into(self, const uint8_t* data, size_t n) except -1
    cdef int _end(self, ws_event* ev, list out) except -1
    cdef int _fail(self, unsigned code, str reason) except -1
    cdef const uint8_t* _next_key(self)
    cdef bytes _frame(self, int opcode, const uint8_t* payload, size_t n, int rsv)
    cdef bytes _message(self, int opcode, const uint8_t* payload, size_t n)

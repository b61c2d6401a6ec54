# sourcey.http._parser: the sans-IO face of csrc/http1_parser.c. The server and client
# cimport Parser and drive it from the read buffer with feed_ptr (no bytes object per read).

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t


cdef extern from "http1_parser.h" nogil:
    ctypedef enum h1_kind:
        H1_REQUEST
        H1_RESPONSE

    ctypedef enum h1_event:
        H1_EV_NONE
        H1_EV_HEAD
        H1_EV_BODY
        H1_EV_MESSAGE
        H1_EV_UPGRADE
        H1_EV_ERROR

    ctypedef enum h1_error:
        H1_OK
        H1_E_INCOMPLETE
        H1_E_START_LINE_TOO_LONG
        H1_E__COUNT

    ctypedef enum h1_body:
        H1_BODY_NONE
        H1_BODY_LENGTH
        H1_BODY_CHUNKED
        H1_BODY_EOF

    enum:
        H1_F_SKIP_BODY
        H1_F_CONNECT

    ctypedef struct h1_span:
        uint32_t off
        uint32_t len

    ctypedef struct h1_header:
        h1_span name
        h1_span value

    ctypedef struct h1_parser:
        uint8_t kind
        uint8_t flags
        uint32_t max_start_line
        uint32_t max_header_line
        uint32_t max_headers
        uint32_t max_head
        char* head
        h1_header* headers
        h1_span method
        h1_span target
        h1_span reason
        int status
        uint8_t version_minor
        uint8_t body
        uint8_t keep_alive
        uint8_t upgrade
        uint32_t nheaders
        int64_t content_length
        uint32_t ntrailers
        const char* data
        size_t data_len
        int error
        uint64_t error_offset

    void h1_parser_init(h1_parser* p, h1_kind kind, char* head, uint32_t head_cap,
                        h1_header* headers, uint32_t headers_cap)
    int h1_parser_set_limits(h1_parser* p, uint32_t max_start_line, uint32_t max_header_line,
                             uint32_t max_headers, uint32_t max_head)
    h1_event h1_parser_execute(h1_parser* p, const char* data, size_t len, size_t* consumed)
    h1_event h1_parser_finish(h1_parser* p)
    int h1_parser_idle(const h1_parser* p)
    uint32_t h1_parser_head_length(const h1_parser* p)
    int h1_is_token(const char* s, size_t n)
    int h1_is_field_value(const char* s, size_t n)
    const char* h1_error_name(int error)
    const char* h1_error_reason(int error)


cdef class Message:
    cdef readonly str method
    cdef readonly str target
    cdef readonly str version
    cdef readonly object status
    cdef readonly bytes reason
    cdef readonly list headers
    cdef readonly list trailers
    cdef readonly bytes body
    cdef readonly bint keep_alive
    cdef readonly bint upgrade


cdef class Parser:
    cdef h1_parser _p
    cdef char* _head
    cdef h1_header* _headers
    cdef readonly str kind
    cdef Message _cur
    cdef list _body
    cdef list _remainder
    cdef object _error

    cdef int feed_ptr(self, const char* data, size_t length, list out) except -1
    cdef Message _make_head(self)
    cdef Message _complete(self)
    cdef list _fields(self, uint32_t start, uint32_t count)
    cdef object _fail(self, list out)

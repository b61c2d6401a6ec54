# sourcey.http._server: an HTTP/1.1 server over sourcey.uv and the C parser.
#
# A plain connection is a TCP subclass (_Conn) whose read hook hands libuv's read buffer
# straight to the parser (csrc/http1_parser.c, driven here without a Message object);
# each request becomes one Request and one handler call. Responses are built in C into
# one output buffer per connection, written once per read (uv_try_write, the rest
# queued). Timeouts are one deadline per connection, walked by one timer per server.
# TLS connections run the same session over an SSLSocket.
#
# The parts, in server/: headers.pyx (Headers), request.pyx, response.pyx (the head
# builder), sendfile.pyx (file bodies), session.pyx (one connection), server.pyx
# (listening, deadlines).

cimport cython

import logging
import ssl
from functools import partial

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport (PyUnicode_1BYTE_DATA, PyUnicode_1BYTE_KIND,
                              PyUnicode_DecodeLatin1, PyUnicode_GET_LENGTH, PyUnicode_KIND)
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memcpy

from sourcey.http._parser cimport (H1_BODY_CHUNKED, H1_BODY_LENGTH, H1_BODY_NONE,
                                   H1_EV_BODY, H1_EV_HEAD, H1_EV_MESSAGE, H1_EV_NONE,
                                   H1_EV_UPGRADE, Parser, h1_error_name, h1_error_reason,
                                   h1_event, h1_header, h1_is_field_value, h1_is_token,
                                   h1_parser, h1_parser_execute, h1_parser_head_length,
                                   h1_parser_idle)
from sourcey.net._net cimport TCPSocket, _TCPStream
from sourcey.uv cimport libuv
from sourcey.uv._core cimport TCP, Loop

from sourcey.net.errors import PeerClosedError
from sourcey.net.server import SSLServer
from sourcey.uv import Timer

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    struct tm:
        int tm_sec
        int tm_min
        int tm_hour
        int tm_mday
        int tm_mon
        int tm_year
        int tm_wday
    time_t c_time "time"(time_t* t)
    tm* gmtime_r(const time_t* t, tm* result)

ctypedef unsigned char Py_UCS1

_log = logging.getLogger("sourcey.http.server")

include "server/headers.pyx"
include "server/request.pyx"
include "server/response.pyx"
include "server/sendfile.pyx"
include "server/session.pyx"
include "server/server.pyx"

# cython: language_level=3
# sourcey.stun._codec: STUN's byte-level work in C (csrc/stun_codec.c): validating and
# listing a message's attributes, CRC-32 and FINGERPRINT, (XOR-)address values, and the
# stream framer. sourcey.stun.message builds the Message API on these.

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

import socket

from sourcey.stun.errors import DecodeError

HEADER_SIZE = STUN_HEADER_SIZE
MAX_MESSAGE = STUN_MAX_MESSAGE

# The most attributes a message may list: a flood beyond it is a DecodeError.
DEF ATTR_CAP = 256
MAX_ATTRIBUTES = ATTR_CAP

_inet_ntop = socket.inet_ntop
_inet_pton = socket.inet_pton
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6


cdef object _error(int err, const uint8_t* buf, size_t length):
    """The DecodeError for err, with the header's type and ID when they were valid."""
    msg_type = txid = None
    if err != STUN_E_SHORT and stun_check_header(buf, length) == STUN_OK:
        msg_type = (buf[0] << 8) | buf[1]
        txid = PyBytes_FromStringAndSize(<const char*>buf + 8, 12)
    return DecodeError(stun_error_name(err).decode(), stun_error_reason(err).decode(),
                       msg_type, txid)


def parse(bytes data, int max_attributes=64):
    """Validate a whole STUN message (csrc/stun_codec.h says what is checked).

    Returns ``(msg_type, transaction_id, attributes, integrity, integrity256,
    fingerprint)``: ``attributes`` lists ``(type, value)`` pairs in order (the values
    without padding), the last three are the offsets of the MESSAGE-INTEGRITY,
    MESSAGE-INTEGRITY-SHA256 and FINGERPRINT attribute headers, or -1. Raises
    DecodeError."""
    cdef stun_attr attrs[ATTR_CAP]
    cdef stun_msg m
    cdef const uint8_t* buf = <const uint8_t*>PyBytes_AS_STRING(data)
    cdef size_t length = len(data)
    cdef uint32_t cap = <uint32_t>max_attributes if 0 < max_attributes < ATTR_CAP else ATTR_CAP
    cdef uint32_t i
    cdef int err
    if max_attributes <= 0:
        raise ValueError(f"max_attributes must be positive, not {max_attributes}")
    err = stun_parse(buf, length, &m, attrs, cap)
    if err != STUN_OK:
        raise _error(err, buf, length)
    out = []
    for i in range(m.nattrs):
        out.append((attrs[i].type, PyBytes_FromStringAndSize(
            <const char*>buf + attrs[i].off, attrs[i].len)))
    return (m.type, PyBytes_FromStringAndSize(<const char*>buf + 8, 12), out,
            m.integrity, m.integrity256, m.fingerprint)


def binding_success(bytes request, bytes address, int port, bytes software,
                    bint fingerprint, int max_attributes=64):
    """The fast path of a Binding server, in C: if ``request`` is a valid Binding
    request with no comprehension-required attribute the codec does not know (and no
    CHANGE-REQUEST), the success response with XOR-MAPPED-ADDRESS (``address``: 4 or
    16 packed bytes, ``port``), SOFTWARE (``software``, may be empty) and, with
    ``fingerprint``, FINGERPRINT. Anything else returns None: the caller takes the
    general path, which gives the error response or drops."""
    cdef stun_attr attrs[ATTR_CAP]
    cdef stun_msg m
    cdef uint8_t out[STUN_HEADER_SIZE + 24 + 4 + 764 + 8]
    cdef const uint8_t* buf = <const uint8_t*>PyBytes_AS_STRING(request)
    cdef uint32_t cap = <uint32_t>max_attributes if 0 < max_attributes < ATTR_CAP else ATTR_CAP
    cdef uint32_t i
    cdef size_t n
    cdef int family = 4 if len(address) == 4 else 6 if len(address) == 16 else 0
    if family == 0 or not 0 <= port <= 0xFFFF:
        raise ValueError("address is 4 or 16 packed bytes, port 0-65535")
    if stun_parse(buf, len(request), &m, attrs, cap) != STUN_OK or m.type != 0x0001:
        return None
    for i in range(m.nattrs):
        if attrs[i].type < 0x8000 and (attrs[i].type == STUN_ATTR_CHANGE_REQUEST
                                       or not stun_attr_known(attrs[i].type)):
            return None
    n = stun_binding_success(out, sizeof(out), buf + 8, family, <uint16_t>port,
                             <const uint8_t*>PyBytes_AS_STRING(address),
                             <const uint8_t*>PyBytes_AS_STRING(software), len(software),
                             fingerprint)
    if n == 0:
        raise ValueError("SOFTWARE is at most 763 bytes")
    return PyBytes_FromStringAndSize(<char*>out, n)


def is_known(int attr_type):
    """True for the attribute types whose values the codec checks and types."""
    return 0 <= attr_type <= 0xFFFF and stun_attr_known(<uint16_t>attr_type) != 0


def crc32(data):
    """CRC-32 (as zlib.crc32) of a bytes-like object."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return stun_crc32(<const uint8_t*>view.buf, <size_t>view.len)
    finally:
        PyBuffer_Release(&view)


def fingerprint(data):
    """The FINGERPRINT value for the message bytes that precede the attribute (their
    length field already counting it): CRC-32 XOR 0x5354554E."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return stun_fingerprint(<const uint8_t*>view.buf, <size_t>view.len)
    finally:
        PyBuffer_Release(&view)


def decode_address(bytes value, bytes transaction_id=None):
    """An address attribute's value as ``(host, port)``; with ``transaction_id``, an
    XOR-ed one (XOR-MAPPED-ADDRESS and its TURN kin). Raises DecodeError."""
    cdef int family = 0
    cdef uint16_t port = 0
    cdef uint8_t addr[16]
    cdef const uint8_t* txid = NULL
    if transaction_id is not None:
        if len(transaction_id) != 12:
            raise ValueError("a transaction ID is 12 bytes")
        txid = <const uint8_t*>PyBytes_AS_STRING(transaction_id)
    if stun_address_decode(<const uint8_t*>PyBytes_AS_STRING(value), len(value), txid,
                           &family, &port, addr) != STUN_OK:
        raise DecodeError("ADDRESS", "malformed address attribute")
    if family == 4:
        return (_inet_ntop(_AF_INET, PyBytes_FromStringAndSize(<char*>addr, 4)), port)
    return (_inet_ntop(_AF_INET6, PyBytes_FromStringAndSize(<char*>addr, 16)), port)


def encode_address(str host, int port, bytes transaction_id=None):
    """The value of an address attribute for an IPv4 or IPv6 literal and a port;
    XOR-ed with ``transaction_id`` when given."""
    cdef uint8_t out[20]
    cdef const uint8_t* txid = NULL
    cdef bytes packed
    cdef int family
    cdef size_t n
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port must be 0-65535, not {port}")
    if ":" in host:
        packed = _inet_pton(_AF_INET6, host.split("%", 1)[0])
        family = 6
    else:
        packed = _inet_pton(_AF_INET, host)
        family = 4
    if transaction_id is not None:
        if len(transaction_id) != 12:
            raise ValueError("a transaction ID is 12 bytes")
        txid = <const uint8_t*>PyBytes_AS_STRING(transaction_id)
    n = stun_address_encode(out, sizeof(out), family, <uint16_t>port,
                            <const uint8_t*>PyBytes_AS_STRING(packed), txid)
    return PyBytes_FromStringAndSize(<char*>out, n)


def parse_channel_data(data):
    """A ChannelData message (TURN, RFC 8656 §12.4) as ``(channel, payload)``; bytes
    past the payload (padding) are ignored. Raises DecodeError ("CHANNEL")."""
    cdef Py_buffer view
    cdef uint16_t channel = 0
    cdef uint16_t n = 0
    cdef int err
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        err = stun_channel_data_parse(<const uint8_t*>view.buf, <size_t>view.len,
                                      &channel, &n)
        if err != STUN_OK:
            raise DecodeError(stun_error_name(err).decode(), stun_error_reason(err).decode())
        return channel, PyBytes_FromStringAndSize(<const char*>view.buf + 4, n)
    finally:
        PyBuffer_Release(&view)


def frame_length(data, bint channel_data=False):
    """The length of the frame starting at ``data`` (see Framer), 0 if fewer than 4
    bytes are given, -1 if they cannot start one."""
    cdef Py_buffer view
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        return stun_frame_length(<const uint8_t*>view.buf, <size_t>view.len, channel_data)
    finally:
        PyBuffer_Release(&view)


cdef class Framer:
    """Whole messages out of a byte stream (STUN over TCP or TLS, RFC 8489 §6.2.2),
    whatever the read boundaries: ``feed(chunk)`` returns the frames it completed, as
    bytes. A frame is a STUN message (its length is in its header) or, with
    ``channel_data``, a TURN ChannelData message (RFC 8656 §12.5: padded to 4 over a
    stream; the frame returned leaves the padding out).

    The buffer holds at most one partial frame, and a frame is at most ``max_frame``
    bytes: a longer one, or bytes that start no frame, raise DecodeError (its
    ``frames``: the whole frames before them in that feed), and every later feed raises
    it again (the stream cannot be resynchronised)."""

    def __cinit__(self, *, bint channel_data=False, Py_ssize_t max_frame=STUN_MAX_MESSAGE):
        if max_frame < STUN_HEADER_SIZE:
            raise ValueError(f"max_frame must be at least {STUN_HEADER_SIZE}")
        self._buf = bytearray()
        self.channel_data = channel_data
        self.max_frame = max_frame

    @property
    def buffered(self):
        """Bytes of a partial frame held."""
        return len(self._buf)

    def feed(self, data):
        cdef Py_buffer view
        cdef list out = []
        if self._error is not None:
            raise self._error
        if not self._buf:
            # Nothing pending: frame straight out of the chunk, keep only its tail.
            PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
            try:
                used = self._take(<const uint8_t*>view.buf, <size_t>view.len, out)
                if used < view.len:
                    self._buf += (<const char*>view.buf)[used:view.len]
            finally:
                PyBuffer_Release(&view)
            return out
        self._buf += data
        PyObject_GetBuffer(self._buf, &view, PyBUF_SIMPLE)
        try:
            used = self._take(<const uint8_t*>view.buf, <size_t>view.len, out)
        finally:
            PyBuffer_Release(&view)
        del self._buf[:used]
        return out

    cdef Py_ssize_t _take(self, const uint8_t* buf, size_t length, list out) except -1:
        """Append the whole frames at the start of buf[0..length) to out; returns the
        bytes used."""
        cdef size_t off = 0
        cdef long n
        cdef size_t payload
        while True:
            n = stun_frame_length(buf + off, length - off, self.channel_data)
            if n == 0:
                return off
            if n < 0 or n > self.max_frame:
                self._error = DecodeError(
                    "FRAMING", "a frame that is not STUN" if n < 0 else
                    f"a frame of {n} bytes, above the limit of {self.max_frame}")
                self._error.frames = list(out)
                raise self._error
            if <size_t>n > length - off:
                return off
            payload = <size_t>n
            if buf[off] & 0xC0:     # ChannelData: without its padding
                payload = 4 + ((buf[off + 2] << 8) | buf[off + 3])
            out.append(PyBytes_FromStringAndSize(<const char*>buf + off, payload))
            off += <size_t>n

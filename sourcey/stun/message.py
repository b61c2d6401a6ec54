"""STUN messages, sans-IO (RFC 8489, RFC 5389): ``decode(bytes) -> Message`` and
``Message.encode(key=...)``.

    msg = stun.decode(data)                  # DecodeError on anything malformed
    if msg.method == stun.BINDING and msg.cls == stun.REQUEST:
        reply = msg.response()
        reply.add(stun.XOR_MAPPED_ADDRESS, ("192.0.2.1", 32853))
        out = reply.encode(fingerprint=True)

The C codec (sourcey.stun._codec) validates the framing and the values of every
attribute it knows when a message is decoded; reading a value (``get``) then only
converts it to its Python type, and cannot fail.

Integrity: MESSAGE-INTEGRITY is HMAC-SHA1 and MESSAGE-INTEGRITY-SHA256 HMAC-SHA256 over
the message up to the attribute, with the header's length field counting the message
only up to the end of that attribute (RFC 8489 §14.5, §14.6). Both are computed with
Python's ``hmac.digest``, which is OpenSSL's one-shot HMAC in C: the bytes it covers are
sliced from the message, so no C code of ours needs to link libcrypto.
"""

from __future__ import annotations

import hmac
import os
import struct
from collections.abc import Iterable
from typing import Any

from sourcey.net.address import Address

from . import _codec
from .constants import (
    ADDITIONAL_ADDRESS_FAMILY,
    ADDRESS_ERROR_CODE,
    ALTERNATE_DOMAIN,
    ALTERNATE_SERVER,
    ATTRIBUTE_NAMES,
    CHANGE_REQUEST,
    CHANNEL_NUMBER,
    CLASS_NAMES,
    CONNECTION_ID,
    DONT_FRAGMENT,
    ERROR,
    ERROR_CODE,
    ERROR_REASONS,
    EVEN_PORT,
    FINGERPRINT,
    ICE_CONTROLLED,
    ICE_CONTROLLING,
    LIFETIME,
    MAPPED_ADDRESS,
    MESSAGE_INTEGRITY,
    MESSAGE_INTEGRITY_SHA256,
    METHOD_NAMES,
    NONCE,
    PASSWORD_ALGORITHM,
    PASSWORD_ALGORITHMS,
    PRIORITY,
    REALM,
    REQUEST,
    REQUESTED_ADDRESS_FAMILY,
    REQUESTED_TRANSPORT,
    SOFTWARE,
    SUCCESS,
    UNKNOWN_ATTRIBUTES,
    USE_CANDIDATE,
    USERNAME,
    XOR_MAPPED_ADDRESS,
    XOR_PEER_ADDRESS,
    XOR_RELAYED_ADDRESS,
)
from .errors import DecodeError, StunError

_COOKIE = b"\x21\x12\xa4\x42"
_H = struct.Struct(">H")
_HH = struct.Struct(">HH")
_I = struct.Struct(">I")
_Q = struct.Struct(">Q")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")
_TRAILERS = (MESSAGE_INTEGRITY, MESSAGE_INTEGRITY_SHA256, FINGERPRINT)

_XOR_ADDRESSES = frozenset((XOR_MAPPED_ADDRESS, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS))
_PLAIN_ADDRESSES = frozenset((MAPPED_ADDRESS, ALTERNATE_SERVER))
_TEXT = frozenset((USERNAME, REALM, NONCE, SOFTWARE, ALTERNATE_DOMAIN))
_UINT32 = frozenset((LIFETIME, PRIORITY, CONNECTION_ID, CHANGE_REQUEST))
_UINT64 = frozenset((ICE_CONTROLLED, ICE_CONTROLLING))
_FIRST_BYTE = frozenset((REQUESTED_ADDRESS_FAMILY, ADDITIONAL_ADDRESS_FAMILY,
                         REQUESTED_TRANSPORT))
_FLAGS = frozenset((DONT_FRAGMENT, USE_CANDIDATE))


def message_type(method: int, cls: int) -> int:
    """The 14-bit message type: the class bits C1 C0 interleaved with the method's."""
    if not 0 <= method <= 0xFFF:
        raise ValueError(f"a method is 12 bits, not {method:#x}")
    if cls not in CLASS_NAMES:
        raise ValueError(f"not a message class: {cls:#x}")
    return cls | (method & 0x00F) | ((method & 0x070) << 1) | ((method & 0xF80) << 2)


def split_type(msg_type: int) -> tuple[int, int]:
    """``(method, class)`` of a message type."""
    return ((msg_type & 0x000F) | ((msg_type >> 1) & 0x0070) | ((msg_type >> 2) & 0x0F80),
            msg_type & 0x0110)


def transaction_id() -> bytes:
    """A new transaction ID: 96 bits from the OS's CSPRNG (RFC 8489 §6)."""
    return os.urandom(12)


# -- attribute values: bytes <-> Python ------------------------------------------------

def _password_algorithms(value: bytes) -> list[tuple[int, bytes]]:
    out = []
    off = 0
    while off < len(value):
        alg, n = _HH.unpack_from(value, off)
        out.append((alg, value[off + 4:off + 4 + n]))
        off += 4 + n + (-n % 4)
    return out


def _error_code(value: bytes) -> tuple[int, str]:
    return (value[2] & 7) * 100 + value[3], value[4:].decode()


def decode_value(attr_type: int, value: bytes, txid: bytes) -> Any:
    """An attribute value as its Python type (see ``Message.get``); the value must have
    passed the codec's checks (as every value of a decoded Message has)."""
    if attr_type in _XOR_ADDRESSES:
        return Address(*_codec.decode_address(value, txid))
    if attr_type in _PLAIN_ADDRESSES:
        return Address(*_codec.decode_address(value))
    if attr_type in _TEXT:
        return value.decode()
    if attr_type in _UINT32:
        return _I.unpack(value)[0]
    if attr_type in _UINT64:
        return _Q.unpack(value)[0]
    if attr_type in _FIRST_BYTE:
        return value[0]
    if attr_type in _FLAGS:
        return True
    if attr_type == ERROR_CODE:
        return _error_code(value)
    if attr_type == ADDRESS_ERROR_CODE:
        return (4 if value[0] == 1 else 6, *_error_code(value))
    if attr_type == UNKNOWN_ATTRIBUTES:
        return [_H.unpack_from(value, i)[0] for i in range(0, len(value), 2)]
    if attr_type == PASSWORD_ALGORITHMS:
        return _password_algorithms(value)
    if attr_type == PASSWORD_ALGORITHM:
        n = _H.unpack_from(value, 2)[0]
        return (_H.unpack_from(value)[0], value[4:4 + n])
    if attr_type == CHANNEL_NUMBER:
        return _H.unpack_from(value)[0]
    if attr_type == EVEN_PORT:
        return bool(value[0] & 0x80)
    if attr_type == FINGERPRINT:
        return _I.unpack(value)[0]
    return value


def _address(value: Any) -> tuple[str, int]:
    host, port = value if isinstance(value, tuple) else Address.parse(value)
    return host, port


def _encode_error(code: int, reason: str | None) -> bytes:
    if not 300 <= code <= 699:
        raise ValueError(f"an error code is 300-699, not {code}")
    text = ERROR_REASONS.get(code, "") if reason is None else reason
    return bytes((0, 0, code // 100, code % 100)) + text.encode()


def encode_value(attr_type: int, value: Any, txid: bytes) -> bytes:
    """The bytes of an attribute value given as its Python type (bytes pass as they
    are); the inverse of ``decode_value``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if attr_type in _XOR_ADDRESSES:
        return _codec.encode_address(*_address(value), txid)
    if attr_type in _PLAIN_ADDRESSES:
        return _codec.encode_address(*_address(value))
    if attr_type in _TEXT:
        return str(value).encode()
    if attr_type in _UINT32:
        return _I.pack(value)
    if attr_type in _UINT64:
        return _Q.pack(value)
    if attr_type in _FIRST_BYTE:
        return bytes((value, 0, 0, 0))
    if attr_type in _FLAGS:
        return b""
    if attr_type == ERROR_CODE:
        code, reason = (value, None) if isinstance(value, int) else value
        return _encode_error(code, reason)
    if attr_type == ADDRESS_ERROR_CODE:
        family, code, reason = value
        return bytes((1 if family == 4 else 2,)) + _encode_error(code, reason)[1:]
    if attr_type == UNKNOWN_ATTRIBUTES:
        return b"".join(_H.pack(t) for t in value)
    if attr_type == PASSWORD_ALGORITHMS:
        return b"".join(_HH.pack(alg, len(params)) + params + _PAD[len(params) % 4]
                        for alg, params in value)
    if attr_type == PASSWORD_ALGORITHM:
        alg, params = value if isinstance(value, tuple) else (value, b"")
        return _HH.pack(alg, len(params)) + bytes(params) + _PAD[len(params) % 4]
    if attr_type == CHANNEL_NUMBER:
        return _HH.pack(value, 0)
    if attr_type == EVEN_PORT:
        return b"\x80" if value else b"\x00"
    if attr_type == FINGERPRINT:
        return _I.pack(value)
    raise TypeError(f"the value of attribute {attr_type:#06x} must be bytes, "
                    f"not {type(value).__name__}")


# -- messages ----------------------------------------------------------------------------

class Message:
    """A STUN message: ``method``, ``cls`` (REQUEST, INDICATION, SUCCESS or ERROR),
    ``transaction_id`` (12 bytes) and ``attributes``, a list of ``(type, value bytes)``
    in order. A decoded message also keeps its bytes in ``raw``, which its integrity is
    checked against."""

    __slots__ = ("method", "cls", "transaction_id", "attributes", "raw", "_integrity",
                 "_integrity256", "_fingerprint")

    def __init__(self, method: int, cls: int = REQUEST, transaction_id: bytes | None = None,
                 attributes: Iterable[tuple[int, Any]] = ()) -> None:
        message_type(method, cls)   # checks both
        if transaction_id is None:
            transaction_id = os.urandom(12)
        elif len(transaction_id) != 12:
            raise ValueError("a transaction ID is 12 bytes")
        self.method = method
        self.cls = cls
        self.transaction_id = bytes(transaction_id)
        self.attributes: list[tuple[int, bytes]] = []
        self.raw: bytes | None = None
        self._integrity = self._integrity256 = self._fingerprint = -1
        for attr_type, value in attributes:
            self.add(attr_type, value)

    @property
    def type(self) -> int:
        return message_type(self.method, self.cls)

    def add(self, attr_type: int, value: Any) -> Message:
        """Append an attribute, its value as bytes or as its Python type (see ``get``).
        Returns the message, for chaining."""
        if not 0 <= attr_type <= 0xFFFF:
            raise ValueError(f"an attribute type is 16 bits, not {attr_type:#x}")
        data = encode_value(attr_type, value, self.transaction_id)
        if len(data) > 0xFFFF:
            raise ValueError(f"attribute {attr_type:#06x} is {len(data)} bytes, above 65535")
        self.attributes.append((attr_type, data))
        return self

    def get_raw(self, attr_type: int) -> bytes | None:
        """The first value of ``attr_type`` as bytes, or None."""
        for t, value in self.attributes:
            if t == attr_type:
                return value
        return None

    def get(self, attr_type: int, default: Any = None) -> Any:
        """The first value of ``attr_type`` as its Python type, or ``default``.

        Addresses are ``sourcey.net.Address`` (XOR-ed ones decoded); USERNAME, REALM,
        NONCE, SOFTWARE and ALTERNATE-DOMAIN are str; ERROR-CODE is ``(code, reason)``;
        UNKNOWN-ATTRIBUTES a list of types; PASSWORD-ALGORITHMS a list of ``(algorithm,
        parameters)``; LIFETIME, PRIORITY, CHANNEL-NUMBER, the ICE tie-breakers and
        FINGERPRINT ints; REQUESTED-TRANSPORT and the address families their first byte;
        DONT-FRAGMENT and USE-CANDIDATE True; EVEN-PORT its R bit; the rest bytes."""
        value = self.get_raw(attr_type)
        if value is None:
            return default
        return decode_value(attr_type, value, self.transaction_id)

    def get_all(self, attr_type: int) -> list[Any]:
        return [decode_value(t, v, self.transaction_id)
                for t, v in self.attributes if t == attr_type]

    def __contains__(self, attr_type: object) -> bool:
        return any(t == attr_type for t, _ in self.attributes)

    def unknown_required(self, known: Any = None) -> list[int]:
        """The comprehension-required types (below 0x8000) not in ``known`` (default:
        those the codec knows), each once: what a 420 response lists."""
        out: list[int] = []
        for t, _ in self.attributes:
            if t < 0x8000 and t not in out and (
                    not _codec.is_known(t) if known is None else t not in known):
                out.append(t)
        return out

    @property
    def has_integrity(self) -> bool:
        return any(t == MESSAGE_INTEGRITY or t == MESSAGE_INTEGRITY_SHA256
                   for t, _ in self.attributes)

    @property
    def has_fingerprint(self) -> bool:
        """True if the message carried a FINGERPRINT (decode has checked it)."""
        return FINGERPRINT in self

    def check_integrity(self, key: bytes, algorithm: str | None = None) -> bool:
        """Verify MESSAGE-INTEGRITY-SHA256 (``algorithm="sha256"``) or MESSAGE-INTEGRITY
        (``"sha1"``) with ``key``; by default the SHA-256 one if the message has it.
        False when the attribute is missing, or the message was not decoded."""
        raw = self.raw
        if raw is None:
            return False
        if algorithm is None:
            algorithm = "sha256" if self._integrity256 >= 0 else "sha1"
        if algorithm == "sha256":
            off, digest = self._integrity256, "sha256"
        elif algorithm == "sha1":
            off, digest = self._integrity, "sha1"
        else:
            raise ValueError(f"algorithm is 'sha1' or 'sha256', not {algorithm!r}")
        if off < 0:
            return False
        n = _H.unpack_from(raw, off + 2)[0]
        covered = raw[:2] + _H.pack(off + 4 + n - 20) + raw[4:off]
        mac = hmac.digest(key, covered, digest)[:n]
        return hmac.compare_digest(mac, raw[off + 4:off + 4 + n])

    def encode(self, key: bytes | None = None, *, fingerprint: bool = False,
               integrity: str = "sha1", padding: bytes = b"\0") -> bytes:
        """The message's bytes. With ``key``, MESSAGE-INTEGRITY is added (``integrity``
        "sha1"), MESSAGE-INTEGRITY-SHA256 ("sha256"), or both ("both"); with
        ``fingerprint``, FINGERPRINT. Any such attributes in ``attributes`` are
        recomputed, not copied. ``padding`` is the byte the values are padded with
        (RFC 8489 lets it be anything; the RFC 5769 samples use spaces in places)."""
        if integrity not in ("sha1", "sha256", "both"):
            raise ValueError(f"integrity is 'sha1', 'sha256' or 'both', not {integrity!r}")
        if len(padding) != 1:
            raise ValueError("padding is one byte")
        parts = []
        for t, value in self.attributes:
            if t in _TRAILERS:
                continue
            n = len(value)
            parts.append(_HH.pack(t, n))
            parts.append(value)
            if n % 4:
                parts.append(padding * (4 - n % 4))
        body = b"".join(parts)
        trailers = ((24 if integrity != "sha256" else 0) + (36 if integrity != "sha1" else 0)
                    if key is not None else 0) + (8 if fingerprint else 0)
        if len(body) + trailers > 0xFFFF:
            raise StunError(f"the attributes take {len(body) + trailers} bytes, above 65535")
        type_ = _H.pack(message_type(self.method, self.cls))
        tail = _COOKIE + self.transaction_id
        if key is not None:
            if integrity != "sha256":
                mac = hmac.digest(key, type_ + _H.pack(len(body) + 24) + tail + body, "sha1")
                body += _HH.pack(MESSAGE_INTEGRITY, 20) + mac
            if integrity != "sha1":
                mac = hmac.digest(key, type_ + _H.pack(len(body) + 36) + tail + body,
                                  "sha256")
                body += _HH.pack(MESSAGE_INTEGRITY_SHA256, 32) + mac
        if fingerprint:
            head = type_ + _H.pack(len(body) + 8) + tail + body
            return head + _HH.pack(FINGERPRINT, 4) + _I.pack(_codec.fingerprint(head))
        return type_ + _H.pack(len(body)) + tail + body

    # -- replies ---------------------------------------------------------------------

    def response(self, cls: int = SUCCESS) -> Message:
        """An empty response (SUCCESS or ERROR) to this request: same method and ID."""
        return Message(self.method, cls, self.transaction_id)

    def error_response(self, code: int, reason: str | None = None,
                       unknown: Iterable[int] | None = None) -> Message:
        """An error response with ERROR-CODE ``code`` (reason: the RFC's by default),
        and UNKNOWN-ATTRIBUTES ``unknown`` (for 420)."""
        reply = Message(self.method, ERROR, self.transaction_id)
        reply.add(ERROR_CODE, (code, reason))
        if unknown is not None:
            reply.add(UNKNOWN_ATTRIBUTES, list(unknown))
        return reply

    def __repr__(self) -> str:
        method = METHOD_NAMES.get(self.method, f"{self.method:#05x}")
        names = ", ".join(ATTRIBUTE_NAMES.get(t, f"{t:#06x}") for t, _ in self.attributes)
        return (f"<Message {method} {CLASS_NAMES[self.cls]} "
                f"id={self.transaction_id.hex()} [{names}]>")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.method == other.method and self.cls == other.cls
                and self.transaction_id == other.transaction_id
                and self.attributes == other.attributes)

    __hash__ = None  # type: ignore[assignment]


def decode(data: bytes | bytearray | memoryview, *, max_attributes: int = 64) -> Message:
    """Decode and validate one whole STUN message; DecodeError if it is not one.

    Checked: the header (top bits, magic cookie, length), every attribute's framing,
    the value of every attribute the codec knows, at most ``max_attributes`` attributes
    (an attribute flood), and FINGERPRINT when present. MESSAGE-INTEGRITY needs the key:
    ``check_integrity``. Attributes after MESSAGE-INTEGRITY other than
    MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are dropped, as RFC 8489 §14.5 says."""
    raw = data if type(data) is bytes else bytes(data)
    msg_type, txid, attributes, mi, mi256, fp = _codec.parse(raw, max_attributes)
    msg = Message.__new__(Message)
    msg.method, msg.cls = split_type(msg_type)
    msg.transaction_id = txid
    msg.attributes = attributes
    msg.raw = raw
    msg._integrity = mi
    msg._integrity256 = mi256
    msg._fingerprint = fp
    return msg


def is_stun(data: bytes) -> bool:
    """A cheap test for demultiplexing: the first byte and the magic cookie."""
    return len(data) >= 20 and data[0] < 0x40 and data[4:8] == _COOKIE


__all__ = ["DecodeError", "Message", "decode", "decode_value", "encode_value", "is_stun",
           "message_type", "split_type", "transaction_id"]

"""sourcey.stun: the STUN codec (RFC 8489, RFC 5389), sans-IO, and a STUN server.

    from sourcey import stun
    msg = stun.decode(data)                     # stun.DecodeError if malformed
    msg.get(stun.XOR_MAPPED_ADDRESS)            # Address("192.0.2.1", 32853)
    msg.check_integrity(stun.short_term_key("pw"))
    reply = msg.response().add(stun.XOR_MAPPED_ADDRESS, peer)
    reply.encode(fingerprint=True)

``Framer`` splits a TCP/TLS byte stream into messages (and TURN ChannelData);
``Server`` answers Binding requests over UDP, TCP and TLS.
"""

from . import constants as _constants
from ._codec import Framer, crc32, frame_length
from .constants import *  # noqa: F403 (the protocol's numbers)
from .credentials import long_term_key, saslprep, short_term_key, userhash
from .errors import DecodeError, StunError
from .message import (
    Message,
    decode,
    decode_value,
    encode_value,
    is_stun,
    message_type,
    split_type,
    transaction_id,
)
from .server import BindingHandler, Server

__all__ = [
    "BindingHandler", "DecodeError", "Framer", "Message", "Server", "StunError", "crc32",
    "decode", "decode_value", "encode_value", "frame_length", "is_stun",
    "long_term_key", "message_type", "saslprep", "short_term_key", "split_type",
    "transaction_id", "userhash",
]
__all__ += _constants.__all__

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

from ._codec import Framer, crc32, frame_length
from .constants import (
    ADDITIONAL_ADDRESS_FAMILY,
    ADDRESS_ERROR_CODE,
    ALGORITHM_MD5,
    ALGORITHM_SHA256,
    ALLOCATE,
    ALTERNATE_DOMAIN,
    ALTERNATE_SERVER,
    ATTRIBUTE_NAMES,
    BINDING,
    CHANGE_REQUEST,
    CHANNEL_BIND,
    CHANNEL_NUMBER,
    CLASS_NAMES,
    CONNECT,
    CONNECTION_ATTEMPT,
    CONNECTION_BIND,
    CONNECTION_ID,
    CREATE_PERMISSION,
    DATA,
    DATA_ATTR,
    DONT_FRAGMENT,
    ERROR,
    ERROR_CODE,
    ERROR_REASONS,
    EVEN_PORT,
    FINGERPRINT,
    ICE_CONTROLLED,
    ICE_CONTROLLING,
    ICMP,
    INDICATION,
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
    REFRESH,
    REQUEST,
    REQUESTED_ADDRESS_FAMILY,
    REQUESTED_TRANSPORT,
    RESERVATION_TOKEN,
    SEND,
    SOFTWARE,
    SUCCESS,
    UNKNOWN_ATTRIBUTES,
    USE_CANDIDATE,
    USERHASH,
    USERNAME,
    XOR_MAPPED_ADDRESS,
    XOR_PEER_ADDRESS,
    XOR_RELAYED_ADDRESS,
)
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
    "decode", "decode_value", "encode_value", "frame_length", "is_stun", "long_term_key",
    "message_type", "saslprep", "short_term_key", "split_type", "transaction_id",
    "userhash", "REQUEST", "INDICATION", "SUCCESS", "ERROR", "BINDING", "ALLOCATE",
    "REFRESH", "SEND", "DATA", "CREATE_PERMISSION", "CHANNEL_BIND", "CONNECT",
    "CONNECTION_BIND", "CONNECTION_ATTEMPT", "METHOD_NAMES", "CLASS_NAMES",
    "MAPPED_ADDRESS", "CHANGE_REQUEST", "USERNAME", "MESSAGE_INTEGRITY", "ERROR_CODE",
    "UNKNOWN_ATTRIBUTES", "CHANNEL_NUMBER", "LIFETIME", "XOR_PEER_ADDRESS", "DATA_ATTR",
    "REALM", "NONCE", "XOR_RELAYED_ADDRESS", "REQUESTED_ADDRESS_FAMILY", "EVEN_PORT",
    "REQUESTED_TRANSPORT", "DONT_FRAGMENT", "MESSAGE_INTEGRITY_SHA256",
    "PASSWORD_ALGORITHM", "USERHASH", "XOR_MAPPED_ADDRESS", "RESERVATION_TOKEN", "PRIORITY",
    "USE_CANDIDATE", "CONNECTION_ID", "ADDITIONAL_ADDRESS_FAMILY", "ADDRESS_ERROR_CODE",
    "PASSWORD_ALGORITHMS", "ALTERNATE_DOMAIN", "ICMP", "SOFTWARE", "ALTERNATE_SERVER",
    "FINGERPRINT", "ICE_CONTROLLED", "ICE_CONTROLLING", "ATTRIBUTE_NAMES", "ALGORITHM_MD5",
    "ALGORITHM_SHA256", "ERROR_REASONS",
]

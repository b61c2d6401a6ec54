"""sourcey.turn: TURN (RFC 8656, RFC 5766): a server (``TurnServer``) for UDP relays
and, for clients over TCP or TLS, TCP relays (RFC 6062, ``tcp_relay``), and a client
(``TurnClient``), on these sans-IO pieces:

- ``channel``: ChannelData messages (encode, decode, padding for streams);
- ``allocation``: allocations, permissions (300 s) and channel bindings (600 s), with
  lifetimes, quotas and expiry, driven by the caller's clock;
- ``auth``: long-term credential authentication (static users, a callable, or the
  REST-API shared secret), with stateless nonces and 401/438 challenges.

The UDP relay hot path is in C (``_relay``).
"""

from .allocation import (
    CHANNEL_LIFETIME,
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    PERMISSION_LIFETIME,
    Allocation,
    AllocationTable,
    TokenBucket,
    TurnError,
)
from .auth import (
    CallableCredentials,
    LongTermAuth,
    NonceManager,
    RestApiCredentials,
    StaticCredentials,
)
from .channel import (
    CHANNEL_MAX,
    CHANNEL_MIN,
    decode_channel_data,
    encode_channel_data,
    is_channel_data,
)
from .client import TurnClient
from .server import DENIED_PEERS, TurnServer

__all__ = [
    "CHANNEL_LIFETIME", "CHANNEL_MAX", "CHANNEL_MIN", "DEFAULT_LIFETIME", "DENIED_PEERS",
    "MAX_LIFETIME", "PERMISSION_LIFETIME", "Allocation", "AllocationTable",
    "CallableCredentials", "LongTermAuth", "NonceManager", "RestApiCredentials",
    "StaticCredentials", "TokenBucket", "TurnClient", "TurnError", "TurnServer",
    "decode_channel_data", "encode_channel_data", "is_channel_data",
]

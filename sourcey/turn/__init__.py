"""sourcey.turn: TURN (RFC 8656, RFC 5766), the sans-IO pieces so far.

- ``channel``: ChannelData messages (encode, decode, padding for streams);
- ``allocation``: allocations, permissions (300 s) and channel bindings (600 s), with
  lifetimes, quotas and expiry, driven by the caller's clock;
- ``auth``: long-term credential authentication (static users, a callable, or the
  REST-API shared secret), with stateless nonces and 401/438 challenges.

The TURN server and client that use them are to come (issue 7, parts 3 and 4).
"""

from .allocation import (
    CHANNEL_LIFETIME,
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    PERMISSION_LIFETIME,
    Allocation,
    AllocationTable,
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

__all__ = [
    "CHANNEL_LIFETIME", "CHANNEL_MAX", "CHANNEL_MIN", "DEFAULT_LIFETIME", "MAX_LIFETIME",
    "PERMISSION_LIFETIME", "Allocation", "AllocationTable", "CallableCredentials",
    "LongTermAuth", "NonceManager", "RestApiCredentials", "StaticCredentials", "TurnError",
    "decode_channel_data", "encode_channel_data", "is_channel_data",
]

"""The STUN codec's exceptions."""

from __future__ import annotations


class StunError(ValueError):
    """Base of the errors of sourcey.stun."""


class DecodeError(StunError):
    """Bytes that are not a valid STUN message (or frame).

    ``code`` names the rule broken (``"COOKIE"``, ``"LENGTH"``, ``"FINGERPRINT"``...),
    ``reason`` says it in words. When the 20-byte header was valid, ``msg_type`` and
    ``transaction_id`` hold its message type and transaction ID, so that a server can
    answer a malformed request with 400; otherwise they are None. From a Framer,
    ``frames`` holds the whole frames that came before the bad bytes in that feed.
    """

    def __init__(self, code: str, reason: str, msg_type: int | None = None,
                 transaction_id: bytes | None = None) -> None:
        super().__init__(f"{reason} ({code})")
        self.code = code
        self.reason = reason
        self.msg_type = msg_type
        self.transaction_id = transaction_id
        self.frames: list[bytes] = []

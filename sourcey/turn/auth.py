"""Long-term credential authentication for TURN (RFC 8489 §9.2), sans-IO.

    auth = LongTermAuth("example.org", StaticCredentials({"alice": "secret"}))
    key, error = auth.check(request, client_address, now)
    if error is not None:
        send(error.encode())             # 400, 401 or 438, with REALM and NONCE
    else:
        ... reply.encode(key)            # the response carries MESSAGE-INTEGRITY

Credentials come from ``StaticCredentials`` (a user -> password map),
``CallableCredentials`` (a function of username and realm), or ``RestApiCredentials``
(the "TURN REST API" shared secret, as coturn's ``use-auth-secret``: the username is
``expiry-timestamp[:user]`` and the password base64(HMAC-SHA1(secret, username))).

Nonces are stateless: ``expiry-time`` in hex, then an HMAC over it and the client's
address under a per-server secret, so a nonce is only good for the client it was given
to, and a stale one (438) is told apart from a forged one (401).
"""

from __future__ import annotations

import base64
import hmac
import os
import time
from collections.abc import Callable, Mapping

from sourcey.stun import ERROR, ERROR_CODE, NONCE, REALM, USERNAME, Message, long_term_key


class StaticCredentials:
    """Users and passwords from a mapping; keys are computed once per user and realm."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = dict(users)
        self._keys: dict[tuple[str, str], bytes] = {}

    def key(self, username: str, realm: str) -> bytes | None:
        password = self._users.get(username)
        if password is None:
            return None
        cached = self._keys.get((username, realm))
        if cached is None:
            cached = self._keys[(username, realm)] = long_term_key(username, realm, password)
        return cached


class CallableCredentials:
    """``lookup(username, realm)`` returns the password (str), the long-term key
    itself (bytes), or None for an unknown user."""

    def __init__(self, lookup: Callable[[str, str], str | bytes | None]) -> None:
        self._lookup = lookup

    def key(self, username: str, realm: str) -> bytes | None:
        found = self._lookup(username, realm)
        if found is None or isinstance(found, bytes):
            return found
        return long_term_key(username, realm, found)


class RestApiCredentials:
    """Time-limited credentials from a shared secret (coturn's ``use-auth-secret``):
    the username is ``<unix expiry time>`` or ``<unix expiry time>:<user>``, the
    password ``base64(HMAC-SHA1(secret, username))``; past its expiry time a username
    is refused. ``clock`` is the wall clock (time.time), replaceable in tests."""

    def __init__(self, secret: str | bytes, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._clock = clock

    def password(self, username: str) -> str:
        """The password that goes with ``username`` (what a credentials service hands
        out alongside it)."""
        return base64.b64encode(hmac.digest(self._secret, username.encode(), "sha1")).decode()

    def key(self, username: str, realm: str) -> bytes | None:
        stamp = username.split(":", 1)[0]
        if not (stamp.isascii() and stamp.isdigit()) or int(stamp) < self._clock():
            return None
        return long_term_key(username, realm, self.password(username))


class NonceManager:
    """Issues and checks nonces bound to a client address, valid for ``lifetime``
    seconds of the caller's clock (``now``)."""

    def __init__(self, lifetime: float = 600.0, secret: bytes | None = None) -> None:
        self.lifetime = lifetime
        self._secret = os.urandom(32) if secret is None else secret

    def _mac(self, stamp: str, client: object) -> str:
        mac = hmac.digest(self._secret, f"{stamp}|{client}".encode(), "sha256")[:12]
        return base64.urlsafe_b64encode(mac).decode()

    def issue(self, client: object, now: float) -> str:
        stamp = f"{int(now + self.lifetime):x}"
        return stamp + "." + self._mac(stamp, client)

    def check(self, nonce: str, client: object, now: float) -> str:
        """"ok", "stale" (ours, but expired: answer 438) or "invalid" (not ours)."""
        stamp, _, mac = nonce.partition(".")
        if not mac or not hmac.compare_digest(mac.encode(),
                                              self._mac(stamp, client).encode()):
            return "invalid"
        return "ok" if int(stamp, 16) > now else "stale"   # ours: the stamp is hex


class LongTermAuth:
    """Checks requests with long-term credentials (RFC 8489 §9.2.4) for one realm."""

    def __init__(self, realm: str, credentials: StaticCredentials | CallableCredentials
                 | RestApiCredentials, nonces: NonceManager | None = None) -> None:
        self.realm = realm
        self.credentials = credentials
        self.nonces = nonces if nonces is not None else NonceManager()

    def check(self, msg: Message, client: object, now: float
              ) -> tuple[bytes | None, Message | None]:
        """``(key, None)`` for an authenticated request, or ``(None, error)``: the
        error response to send (400, 401 or 438; with REALM and a fresh NONCE where
        the RFC asks for them)."""
        if not msg.has_integrity:
            return None, self._challenge(msg, 401, client, now)
        username, realm, nonce = msg.get(USERNAME), msg.get(REALM), msg.get(NONCE)
        if username is None or realm is None or nonce is None:
            return None, self._error(msg, 400, "USERNAME, REALM and NONCE are required")
        state = self.nonces.check(nonce, client, now)
        if state == "stale":
            return None, self._challenge(msg, 438, client, now)
        if state != "ok" or realm != self.realm:
            return None, self._challenge(msg, 401, client, now)
        key = self.credentials.key(username, realm)
        if key is None or not msg.check_integrity(key):
            return None, self._challenge(msg, 401, client, now)
        return key, None

    def _error(self, msg: Message, code: int, reason: str | None = None) -> Message:
        reply = Message(msg.method, ERROR, msg.transaction_id)
        reply.add(ERROR_CODE, (code, reason))
        return reply

    def _challenge(self, msg: Message, code: int, client: object, now: float) -> Message:
        reply = self._error(msg, code)
        reply.add(REALM, self.realm)
        reply.add(NONCE, self.nonces.issue(client, now))
        return reply


__all__ = ["CallableCredentials", "LongTermAuth", "NonceManager",
           "RestApiCredentials", "StaticCredentials"]

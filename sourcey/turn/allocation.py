"""TURN allocations and what lives inside them, sans-IO (RFC 8656 §6-§12).

The tables keep state and lifetimes only; a server owns the sockets and calls them
with the loop's time (``now``, seconds). Nothing here reads a clock, so every expiry is
testable without waiting.

- ``Allocation``: one client's relayed address, with its permissions (per peer IP,
  300 s) and channel bindings (per peer address, 600 s, channel numbers 0x4000-0x7FFF);
  a channel binding installs or refreshes the permission for its peer's IP too.
- ``AllocationTable``: allocations by client 5-tuple and by relayed address, with the
  lifetime rules (default 600 s, at most ``max_lifetime``, 0 deletes), quotas in total
  and per user, and expiry in time order (a heap, so a sweep costs only what expired).

Errors are ``TurnError`` with the STUN error code the server answers with (400, 437,
486...).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sourcey.net import Address
from sourcey.stun import StunError

from .channel import CHANNEL_MAX, CHANNEL_MIN

PERMISSION_LIFETIME = 300.0
CHANNEL_LIFETIME = 600.0
DEFAULT_LIFETIME = 600.0
MAX_LIFETIME = 3600.0


class TurnError(StunError):
    """A request the server refuses: ``code`` is the STUN error code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


FiveTuple = tuple[str, Address, Address]
"""``(transport, client address, server address)``: transport is "udp", "tcp" or
"tls"; it names an allocation (RFC 8656 §2)."""


class TokenBucket:
    """A rate limit: ``rate`` bytes per second on average, bursts up to ``burst`` bytes
    (default: one second's worth). ``take(n, now)`` is True if ``n`` bytes may pass."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.rate = rate
        self.burst = rate if burst is None else burst
        self.tokens = self.burst
        self.stamp: float | None = None

    def take(self, n: int, now: float) -> bool:
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if n > self.tokens:
            return False
        self.tokens -= n
        return True


@dataclass(eq=False)
class Allocation:
    """One allocation: the client's 5-tuple, the relayed address, who owns it, and
    when it expires. ``permissions`` maps a peer IP to its expiry time; ``channels``
    a channel number to ``(peer address, expiry)``."""

    five_tuple: FiveTuple
    relayed: Address
    username: str
    expires: float
    permissions: dict[str, float] = field(default_factory=dict)
    channels: dict[int, tuple[Address, float]] = field(default_factory=dict)
    _by_peer: dict[Address, int] = field(default_factory=dict, repr=False)
    data: Any = field(default=None, repr=False)      # the server's (the relay socket)
    # A TokenBucket, or any other with take(n, now) (the server's C bucket).
    bandwidth: Any = field(default=None, repr=False)
    # A dual allocation's second relay (ADDITIONAL-ADDRESS-FAMILY): its address and the
    # server's socket for it.
    extra: tuple[Address, Any] | None = field(default=None, repr=False)
    # The Allocate request's transaction ID and the response sent: a retransmission
    # of that request is answered with the same bytes.
    allocate_reply: tuple[bytes, bytes] = field(default=(b"", b""), repr=False)
    # The server's C relay table slot mirroring this allocation, or -1.
    slot: int = field(default=-1, repr=False)

    def expired(self, now: float) -> bool:
        return now >= self.expires

    # -- permissions -------------------------------------------------------------------

    def add_permission(self, peer_ip: str, now: float) -> None:
        """Install or refresh the permission for ``peer_ip`` (the port is not part of
        it), for PERMISSION_LIFETIME seconds."""
        self.permissions[peer_ip] = now + PERMISSION_LIFETIME

    def has_permission(self, peer_ip: str, now: float) -> bool:
        expires = self.permissions.get(peer_ip)
        if expires is None:
            return False
        if now >= expires:
            del self.permissions[peer_ip]
            return False
        return True

    # -- channels ----------------------------------------------------------------------

    def bind_channel(self, channel: int, peer: Address, now: float) -> None:
        """Bind ``channel`` to ``peer`` or refresh the binding (RFC 8656 §12.2): a
        channel bound to another peer, or a peer bound to another channel, is a 400.
        The peer's IP gets a permission too."""
        if not CHANNEL_MIN <= channel <= CHANNEL_MAX:
            raise TurnError(400, f"channel number {channel:#x} outside 0x4000-0x7FFF")
        self._expire_channels(now)
        bound = self.channels.get(channel)
        if bound is not None and bound[0] != peer:
            raise TurnError(400, f"channel {channel:#x} is bound to another peer")
        other = self._by_peer.get(peer)
        if other is not None and other != channel:
            raise TurnError(400, f"{peer} is bound to channel {other:#x}")
        self.channels[channel] = (peer, now + CHANNEL_LIFETIME)
        self._by_peer[peer] = channel
        self.add_permission(peer.host, now)

    def peer_for_channel(self, channel: int, now: float) -> Address | None:
        """The peer a ChannelData message on ``channel`` goes to, or None (unbound or
        expired)."""
        bound = self.channels.get(channel)
        if bound is None:
            return None
        if now >= bound[1]:
            self._unbind(channel)
            return None
        return bound[0]

    def channel_for_peer(self, peer: Address, now: float) -> int | None:
        """The channel that data from ``peer`` is sent to the client on, or None."""
        channel = self._by_peer.get(peer)
        if channel is None or self.peer_for_channel(channel, now) is None:
            return None
        return channel

    def _unbind(self, channel: int) -> None:
        peer, _ = self.channels.pop(channel)
        self._by_peer.pop(peer, None)

    def _expire_channels(self, now: float) -> None:
        for channel in [c for c, (_, exp) in self.channels.items() if now >= exp]:
            self._unbind(channel)

    def expire(self, now: float) -> None:
        """Drop the permissions and channel bindings that have expired."""
        self._expire_channels(now)
        for ip in [ip for ip, exp in self.permissions.items() if now >= exp]:
            del self.permissions[ip]


class AllocationTable:
    """The allocations of one server, by 5-tuple and by relayed address.

    ``max_allocations`` bounds the total and ``max_per_user`` each username's count
    (486 Allocation Quota Reached beyond either); ``max_lifetime`` caps a requested
    LIFETIME (RFC 8656 §7.2). ``on_remove(allocation)`` is called for every allocation
    leaving the table, whatever the path (refresh to 0, expiry found by a lookup or a
    sweep, removal), so its owner can release the relay socket."""

    def __init__(self, *, max_allocations: int = 10000, max_per_user: int = 10,
                 default_lifetime: float = DEFAULT_LIFETIME,
                 max_lifetime: float = MAX_LIFETIME,
                 on_remove: Callable[[Allocation], object] | None = None) -> None:
        if not 0 < default_lifetime <= max_lifetime:
            raise ValueError("need 0 < default_lifetime <= max_lifetime")
        self.max_allocations = max_allocations
        self.max_per_user = max_per_user
        self.default_lifetime = default_lifetime
        self.max_lifetime = max_lifetime
        self.on_remove = on_remove
        self._by_tuple: dict[FiveTuple, Allocation] = {}
        self._by_relayed: dict[Address, Allocation] = {}
        self._per_user: dict[str, int] = {}
        self._heap: list[tuple[float, int, Allocation]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._by_tuple)

    def count(self, username: str) -> int:
        return self._per_user.get(username, 0)

    def lifetime(self, requested: float | None) -> float:
        """The lifetime granted for a requested LIFETIME (None: absent): the default
        when absent, otherwise the request capped at ``max_lifetime`` and raised to
        the default (RFC 8656 §7.2)."""
        if requested is None:
            return self.default_lifetime
        return max(self.default_lifetime, min(float(requested), self.max_lifetime))

    def check_quota(self, username: str) -> None:
        """Raise TurnError(486) if ``username`` may not have one more allocation."""
        if len(self._by_tuple) >= self.max_allocations:
            raise TurnError(486, "the server's allocation quota is reached")
        if self.count(username) >= self.max_per_user:
            raise TurnError(486, f"{username!r} has {self.max_per_user} allocations")

    def create(self, five_tuple: FiveTuple, relayed: Address, username: str,
               lifetime: float, now: float) -> Allocation:
        """Record a new allocation (the server has bound ``relayed``). An allocation
        for the 5-tuple already is a 437; over quota a 486."""
        existing = self.get(five_tuple, now)
        if existing is not None:
            raise TurnError(437, "the 5-tuple already has an allocation")
        self.check_quota(username)
        if relayed in self._by_relayed:
            raise ValueError(f"relayed address {relayed} is in use")
        alloc = Allocation(five_tuple, relayed, username, now + lifetime)
        self._by_tuple[five_tuple] = alloc
        self._by_relayed[relayed] = alloc
        self._per_user[username] = self.count(username) + 1
        self._push(alloc)
        return alloc

    def _push(self, alloc: Allocation) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (alloc.expires, self._seq, alloc))

    def get(self, five_tuple: FiveTuple, now: float) -> Allocation | None:
        """The live allocation of ``five_tuple``, or None (an expired one is removed)."""
        alloc = self._by_tuple.get(five_tuple)
        if alloc is not None and alloc.expired(now):
            self.remove(alloc)
            return None
        return alloc

    def by_relayed(self, relayed: Address, now: float) -> Allocation | None:
        alloc = self._by_relayed.get(relayed)
        if alloc is not None and alloc.expired(now):
            self.remove(alloc)
            return None
        return alloc

    def refresh(self, alloc: Allocation, lifetime: float, now: float) -> None:
        """Refresh with a granted lifetime; 0 deletes the allocation (RFC 8656 §8)."""
        if lifetime <= 0:
            self.remove(alloc)
            return
        alloc.expires = now + lifetime
        self._push(alloc)

    def remove(self, alloc: Allocation) -> bool:
        """Forget ``alloc``; False if it was not in the table."""
        if self._by_tuple.get(alloc.five_tuple) is not alloc:
            return False
        del self._by_tuple[alloc.five_tuple]
        del self._by_relayed[alloc.relayed]
        left = self._per_user[alloc.username] - 1
        if left:
            self._per_user[alloc.username] = left
        else:
            del self._per_user[alloc.username]
        if self.on_remove is not None:
            self.on_remove(alloc)
        return True

    def expire(self, now: float) -> list[Allocation]:
        """Remove the allocations whose lifetime has passed and return them (so the
        server can close their relay sockets). Stale heap entries, left by refreshes
        and removals, are skipped."""
        out = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            expires, _, alloc = heapq.heappop(heap)
            if alloc.expires == expires and self.remove(alloc):
                out.append(alloc)
        return out

    def next_expiry(self) -> float | None:
        """When the next allocation may expire (for a timer), or None."""
        while self._heap:
            expires, _, alloc = self._heap[0]
            if alloc.expires == expires and self._by_tuple.get(alloc.five_tuple) is alloc:
                return expires
            heapq.heappop(self._heap)
        return None

    def __iter__(self) -> Any:
        return iter(list(self._by_tuple.values()))

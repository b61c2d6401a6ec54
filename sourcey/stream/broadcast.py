"""Broadcaster: a stream's output to many clients, each with its own backpressure.

A client that does not keep up (more than ``high_water`` bytes queued for it) loses
frames or is disconnected, by policy; either way the others get every frame, in order,
and nothing waits for the slow one: writes only queue, and a client's queue never grows
past ``high_water`` plus one frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ._stream import FINAL, Packet
from .sinks import ClientSink

_log = logging.getLogger("sourcey.stream")
_POLICIES = ("drop", "disconnect")
_OnRemove = Callable[[ClientSink, str, dict[str, int]], object]


class _Client:
    __slots__ = ("dropped", "run", "sent", "sink")

    def __init__(self, sink: ClientSink) -> None:
        self.sink = sink
        self.sent = 0           # frames written to it
        self.dropped = 0        # frames it missed, being behind
        self.run = 0            # frames missed in a row


class Broadcaster:
    """``Broadcaster(*, high_water=1 MiB, policy="drop", max_drops=None,
    packetizer=None)``: sends each frame to every client sink added (see ClientSink).

    Attach it to a stream synchronised to the loop (``stream.emitter += broadcaster``)
    or call ``broadcast(data)``: on the loop's thread only. Each frame is framed once
    by ``packetizer.frame(packet)`` (a MultipartPacketizer, say) when one is given, then
    written to each client whose queue is at most ``high_water`` bytes. A client above
    it is behind: with ``policy="drop"`` it misses the frame (counted; after
    ``max_drops`` frames missed in a row it is disconnected), with
    ``policy="disconnect"`` its connection is cut at once. A ``FINAL`` packet is sent
    to every client, then each is closed in order after it. Clients that have closed
    are forgotten at the next frame.

    ``on_remove(sink, reason, stats)``, when given, is called as a client leaves the
    set: ``reason`` is ``"gone"`` (it closed), ``"disconnected"`` (policy),
    ``"failed"`` (its ``write`` raised), ``"removed"`` or ``"final"``; ``stats`` is
    its ``client_stats``.
    """

    def __init__(self, *, high_water: int = 1 << 20, policy: str = "drop",
                 max_drops: int | None = None, packetizer: Any = None,
                 on_remove: _OnRemove | None = None) -> None:
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {_POLICIES}, not {policy!r}")
        if high_water < 0 or (max_drops is not None and max_drops < 1):
            raise ValueError("high_water must be >= 0 and max_drops >= 1")
        self.high_water = high_water
        self.policy = policy
        self.max_drops = max_drops
        self.packetizer = packetizer
        self.on_remove = on_remove
        self._clients: dict[int, _Client] = {}
        self._frames = 0
        self._dropped = 0
        self._disconnected = 0
        self._gone = 0
        self._failed = 0

    # -- clients ---------------------------------------------------------------------

    def add(self, sink: ClientSink) -> None:
        """Send the next frames to ``sink`` too."""
        if not isinstance(sink, ClientSink):
            raise TypeError(f"{type(sink).__name__} is not a ClientSink")
        self._clients.setdefault(id(sink), _Client(sink))

    def remove(self, sink: ClientSink) -> bool:
        """Stop sending to ``sink`` (it stays open); False if it was not a client."""
        return self._drop_client(id(sink), "removed")

    @property
    def clients(self) -> list[ClientSink]:
        return [c.sink for c in self._clients.values()]

    def client_stats(self, sink: ClientSink) -> dict[str, int]:
        """``sent`` and ``dropped`` frames of one client."""
        c = self._clients[id(sink)]
        return {"sent": c.sent, "dropped": c.dropped}

    @property
    def stats(self) -> dict[str, int]:
        """``frames`` broadcast, ``clients`` now, frames ``dropped`` for slow clients,
        clients ``disconnected`` by policy, clients ``gone`` by themselves and clients
        whose ``write`` raised (``failed``: logged, and forgotten)."""
        return {"frames": self._frames, "clients": len(self._clients),
                "dropped": self._dropped, "disconnected": self._disconnected,
                "gone": self._gone, "failed": self._failed}

    def close(self) -> None:
        """Close every client (in order after what is queued) and forget them."""
        for key in list(self._clients):
            client = self._clients.get(key)
            if client is not None:
                self._drop_client(key, "final")
                client.sink.close()

    # -- frames ----------------------------------------------------------------------

    def __call__(self, packet: Packet) -> None:
        """The emitter slot: broadcast ``packet``; a FINAL one closes every client."""
        self.broadcast(packet)

    def broadcast(self, frame: Packet | Any) -> None:
        """Send ``frame`` (a Packet, or bytes-like data) to every client that keeps up."""
        final = isinstance(frame, Packet) and bool(frame.flags & FINAL)
        if self.packetizer is not None:
            data = self.packetizer.frame(frame)
        else:
            data = bytes(frame.data if isinstance(frame, Packet) else frame)
        self._frames += 1
        for key, client in list(self._clients.items()):
            sink = client.sink
            if sink.closed:
                self._gone += 1
                self._drop_client(key, "gone")
                continue
            if sink.queued > self.high_water and not final:
                if self.policy == "drop":
                    client.dropped += 1
                    client.run += 1
                    self._dropped += 1
                    if self.max_drops is None or client.run < self.max_drops:
                        continue
                self._disconnected += 1
                self._drop_client(key, "disconnected")
                sink.close(abort=True)
                continue
            client.run = 0
            try:
                sink.write(data)
            except Exception:
                # One failing client must not cost the others this frame.
                _log.exception("Broadcaster: writing to %r failed; dropping it", sink)
                self._failed += 1
                self._drop_client(key, "failed")
                continue
            client.sent += 1
        if final:
            self.close()

    def _drop_client(self, key: int, reason: str) -> bool:
        client = self._clients.pop(key, None)
        if client is None:
            return False
        if self.on_remove is not None:
            self.on_remove(client.sink, reason,
                           {"sent": client.sent, "dropped": client.dropped})
        return True

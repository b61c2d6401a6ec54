"""close_on_signals: the graceful stop every server wants, in one call."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable
from typing import Any

from ._core import Loop, Signal


def close_on_signals(loop: Loop, *closables: Any,
                     signums: Iterable[int] = (signal.SIGINT, signal.SIGTERM),
                     on_signal: Callable[[int], object] | None = None) -> list[Signal]:
    """Watch ``signums`` (SIGINT and SIGTERM) on ``loop``. At the first one, call
    ``on_signal(signum)`` if given, then ``close()`` each of ``closables`` (servers,
    handles, sockets: whatever keeps the loop alive) and the watchers themselves, so
    that ``loop.run()`` returns once those closes complete. Returns the watchers (the
    caller may close them itself to stop watching)."""
    watchers: list[Signal] = []

    def fire(handle: Signal, signum: int) -> None:
        for watcher in watchers:
            if not watcher.closed:
                watcher.close()
        if on_signal is not None:
            on_signal(signum)
        for closable in closables:
            closable.close()

    for signum in signums:
        watcher = Signal(loop)
        watcher.start(fire, signum)
        watchers.append(watcher)
    return watchers

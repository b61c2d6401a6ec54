"""The states of a PacketStream (DESIGN.md §5), as LibSourcey names them."""

import enum


class State(enum.IntEnum):
    """``NONE`` (new or reset), ``LOCKED`` (topology frozen, starting), ``ACTIVE``,
    ``PAUSED`` (new writes are counted and dropped), ``STOPPING``, ``STOPPED``, ``CLOSED``
    (for good) and ``ERROR`` (a processor raised)."""

    NONE = 0
    LOCKED = 1
    ACTIVE = 2
    PAUSED = 3
    STOPPING = 4
    STOPPED = 5
    CLOSED = 6
    ERROR = 7

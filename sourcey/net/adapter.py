"""The adapter chain: protocols sit between a socket and the user (LibSourcey's
SocketAdapter).

A socket and every adapter emit the same four signals: ``Connect(socket)``,
``Recv(socket, data, peer)``, ``Error(socket, exc)`` and ``Close(socket)``. A receiver
added to an emitter is attached to those signals at a priority, so receivers are
dispatched in priority order, a receiver's handler that returns True stops the event
there, and removing a receiver during a dispatch is safe. Sending goes the other way:
an adapter's ``send`` hands the data to its ``sender``, down to the socket.

    class LineProtocol(SocketAdapter):
        def on_socket_recv(self, socket, data, peer):
            ...                       # parse; emit self.Recv with whole lines
            return True               # consumed: lower-priority receivers don't see it

    sock.add_receiver(LineProtocol(), priority=10)
    sock.replace_adapter(old, new)    # swap protocols on a live connection
"""

from __future__ import annotations

from typing import Any

from sourcey.signals import Signal

_EVENTS = (
    ("Connect", "on_socket_connect"),
    ("Recv", "on_socket_recv"),
    ("Error", "on_socket_error"),
    ("Close", "on_socket_close"),
)


def add_receiver(emitter: Any, receiver: Any, priority: int = 0) -> None:
    """Attach ``receiver``'s on_socket_* handlers to ``emitter``'s signals."""
    receivers = emitter.__dict__.setdefault("_receivers", {})
    if receiver in receivers:
        raise ValueError(f"{receiver!r} is already a receiver of {emitter!r}")
    ids = [(getattr(emitter, signal), getattr(emitter, signal).attach(
        getattr(receiver, handler), priority)) for signal, handler in _EVENTS]
    receivers[receiver] = (priority, ids)
    if getattr(receiver, "sender", False) is None:
        receiver.sender = emitter


def remove_receiver(emitter: Any, receiver: Any) -> bool:
    """Detach ``receiver``; returns False if it was not attached."""
    entry = emitter.__dict__.get("_receivers", {}).pop(receiver, None)
    if entry is None:
        return False
    for signal, slot_id in entry[1]:
        signal.detach(slot_id)
    return True


def replace_adapter(emitter: Any, old: Any, new: Any) -> None:
    """Put ``new`` where ``old`` was, at the same priority (a protocol switch)."""
    entry = emitter.__dict__.get("_receivers", {}).get(old)
    if entry is None:
        raise ValueError(f"{old!r} is not a receiver of {emitter!r}")
    remove_receiver(emitter, old)
    if getattr(new, "sender", False) is None:
        new.sender = getattr(old, "sender", None) or emitter
    add_receiver(emitter, new, entry[0])


class SocketAdapter:
    """A link in the chain: receives a socket's events and has receivers of its own.

    The default handlers pass each event on to this adapter's receivers (its own
    signals); a protocol overrides them to transform the data. ``send`` goes down to
    ``sender``.
    """

    def __init__(self, sender: Any = None) -> None:
        self.sender = sender
        loop = getattr(sender, "loop", None)
        self.Connect = Signal(loop, "Connect")
        self.Recv = Signal(loop, "Recv")
        self.Error = Signal(loop, "Error")
        self.Close = Signal(loop, "Close")

    def send(self, data: Any, peer: Any = None) -> Any:
        if self.sender is None:
            raise ConnectionError(f"{type(self).__name__} has no sender to send through")
        return self.sender.send(data, peer)

    def on_socket_connect(self, socket: Any) -> bool | None:
        return self.Connect.emit(socket)

    def on_socket_recv(self, socket: Any, data: Any, peer: Any) -> bool | None:
        return self.Recv.emit(socket, data, peer)

    def on_socket_error(self, socket: Any, error: BaseException) -> bool | None:
        return self.Error.emit(socket, error)

    def on_socket_close(self, socket: Any) -> bool | None:
        return self.Close.emit(socket)

    def add_receiver(self, receiver: Any, priority: int = 0) -> None:
        add_receiver(self, receiver, priority)

    def remove_receiver(self, receiver: Any) -> bool:
        return remove_receiver(self, receiver)

    def replace_adapter(self, old: Any, new: Any) -> None:
        replace_adapter(self, old, new)

"""Line-based broadcast chat on sourcey.net: every line a client sends goes to every
other client.

    python examples/chat_server.py --port 9000
    # then, from two or more terminals: nc 127.0.0.1 9000 (or telnet)

The first line a client sends is its name (1-32 characters, unique; an unusable name
is asked for again). Then each line it sends reaches every other named client as
``name: text``, and everyone sees ``* name joined`` and ``* name left``.

Backpressure: a client that does not read what it is sent is dropped. Every broadcast
is queued on each recipient's socket, and send() returns False once that socket's write
queue passes its high watermark (--sendq, 1 MiB by default): the client is then that far
behind the room, so it is disconnected and the others see ``* name left (too slow)``.
This is what IRC servers do ("SendQ exceeded"). The alternative, pausing the sender
until every recipient has drained, would let one stalled reader freeze the whole room;
skipping messages for the slow client would show it a conversation with holes. Memory
stays bounded either way: at most --sendq (plus one message) per client, and
--max-line for a line still being received.

Ctrl-C (or SIGTERM) tells everyone the server is going away, then closes the listener
and every connection; the loop then ends by itself.
"""

from __future__ import annotations

import argparse
import signal
import sys

from sourcey import net, uv


class Client:
    """One connection: its socket, its name once given, and the partial line read."""

    __slots__ = ("buffer", "name", "sock")

    def __init__(self, sock) -> None:
        self.sock = sock
        self.name: str | None = None
        self.buffer = bytearray()


class ChatServer:
    def __init__(self, loop: uv.Loop, host: str, port: int, sendq: int,
                 max_line: int) -> None:
        self.sendq = sendq
        self.max_line = max_line
        self.clients: dict[object, Client] = {}  # socket -> Client, in join order
        self.server = net.TCPServer(host, port, self.on_accept, loop=loop)

    # -- events ---------------------------------------------------------------------------

    def on_accept(self, sock) -> None:
        client = Client(sock)
        self.clients[sock] = client
        sock.set_watermarks(high=self.sendq, low=self.sendq // 4)
        sock.Recv.attach(self.on_recv)
        sock.Error.attach(self.on_error)
        sock.Close.attach(self.on_close)
        self.send(client, "* welcome; what is your name?")

    def on_recv(self, sock, data: bytes, peer) -> None:
        client = self.clients.get(sock)
        if client is None:  # dropped earlier in this same read
            return
        client.buffer += data
        while client.sock.connected:
            end = client.buffer.find(b"\n")
            if end < 0:
                break
            raw = bytes(client.buffer[:end])
            del client.buffer[:end + 1]
            self.on_line(client, raw.rstrip(b"\r").decode("utf-8", "replace"))
        if len(client.buffer) > self.max_line:
            self.drop(client, "line too long")

    def on_error(self, sock, exc: BaseException) -> None:
        client = self.clients.get(sock)
        if client is not None and not isinstance(exc, net.PeerClosedError):
            print(f"{client.name or sock.peer_address}: {exc}")

    def on_close(self, sock) -> None:
        client = self.clients.pop(sock, None)
        if client is not None and client.name is not None:
            self.left(client, "")

    # -- the chat -------------------------------------------------------------------------

    def on_line(self, client: Client, line: str) -> None:
        if client.name is None:
            name = line.strip()
            if not name or len(name) > 32 or not name.isprintable():
                self.send(client, "* a name is 1-32 printable characters; try again:")
            elif any(c.name == name for c in self.clients.values()):
                self.send(client, f"* {name} is taken; try another:")
            else:
                client.name = name
                others = [c.name for c in self.clients.values()
                          if c is not client and c.name is not None]
                self.send(client, f"* hello {name}; here: {', '.join(others) or 'nobody yet'}")
                self.broadcast(f"* {name} joined", client)
                print(f"{client.sock.peer_address}: joined as {name}")
        elif line:
            self.broadcast(f"{client.name}: {line}", client)

    def broadcast(self, text: str, sender: Client | None) -> None:
        data = (text + "\n").encode()
        for client in list(self.clients.values()):
            if client is not sender and client.name is not None:
                self.send(client, text, data)

    def send(self, client: Client, text: str, data: bytes | None = None) -> None:
        if not client.sock.connected:
            return
        if not client.sock.send(data if data is not None else (text + "\n").encode()):
            self.drop(client, "too slow")

    def drop(self, client: Client, why: str) -> None:
        """Disconnect a client now, and tell the others why."""
        if self.clients.pop(client.sock, None) is None:
            return
        print(f"{client.name or client.sock.peer_address}: dropped ({why})")
        client.sock.close()  # what is still queued for it is discarded
        if client.name is not None:
            self.left(client, f" ({why})")

    def left(self, client: Client, why: str) -> None:
        print(f"{client.sock.peer_address}: {client.name} left{why}")
        self.broadcast(f"* {client.name} left{why}", client)

    def close(self) -> None:
        self.broadcast("* the server is shutting down", None)
        self.server.close(close_connections=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--sendq", type=int, default=1024 * 1024, metavar="BYTES",
                    help="drop a client once this much is queued for it (default 1 MiB)")
    ap.add_argument("--max-line", type=int, default=64 * 1024, metavar="BYTES",
                    help="drop a client that sends a longer line (default 64 KiB)")
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    try:
        chat = ChatServer(loop, args.host, args.port, args.sendq, args.max_line)
    except OSError as exc:
        sys.exit(f"chat_server: cannot listen on {args.host}:{args.port}: {exc}")

    def on_signal(signum: int) -> None:
        print(f"{signal.Signals(signum).name}: closing {len(chat.clients)} connection(s)")
        chat.close()

    uv.close_on_signals(loop, on_signal=on_signal)
    print(f"chat server on {chat.server.address}; Ctrl-C stops it", flush=True)
    loop.run()


if __name__ == "__main__":
    main()

"""TCP echo server on sourcey.uv's raw handles (pyuv's API).

    python examples/echo_server.py --port 9000
    # then: nc 127.0.0.1 9000
"""

import argparse
import signal

from sourcey import uv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    clients: set[uv.TCP] = set()

    def on_read(client: uv.TCP, data: bytes | None, error: int | None) -> None:
        if data is None:  # EOF or an error: either way this connection is done
            client.close(clients.discard)
        else:
            client.write(data)

    def on_connection(server: uv.TCP, error: int | None) -> None:
        if error is not None:
            print("accept failed:", uv.errno.strerror(error))
            return
        client = uv.TCP(loop)
        server.accept(client)
        client.nodelay(True)
        client.start_read(on_read)
        clients.add(client)

    server = uv.TCP(loop)
    server.bind((args.host, args.port))
    server.listen(on_connection)

    def on_signal(handle: uv.Signal, signum: int) -> None:
        for client in list(clients):
            client.close(clients.discard)
        server.close()
        handle.close()

    uv.Signal(loop).start(on_signal, signal.SIGINT)
    print(f"echo server on {server.getsockname()}; Ctrl-C stops it")
    loop.run()


if __name__ == "__main__":
    main()

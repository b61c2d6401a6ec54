"""UDP echo server on sourcey.uv's raw UDP handle (pyuv's API).

    python examples/udp_echo.py --port 9001
    # then: nc -u 127.0.0.1 9001
"""

import argparse
import signal

from sourcey import uv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9001)
    args = ap.parse_args()

    loop = uv.Loop.default_loop()
    udp = uv.UDP(loop)
    udp.bind((args.host, args.port))

    def on_datagram(handle: uv.UDP, peer, flags: int, data: bytes | None,
                    error: int | None) -> None:
        if error is not None:
            print("receive failed:", uv.errno.strerror(error))
        elif data is not None:
            handle.send(peer, data)  # tried at once; queued only if the socket is full

    udp.start_recv(on_datagram)

    def on_signal(handle: uv.Signal, signum: int) -> None:
        udp.close()
        handle.close()

    uv.Signal(loop).start(on_signal, signal.SIGINT)
    print(f"UDP echo on {udp.getsockname()}; Ctrl-C stops it")
    loop.run()


if __name__ == "__main__":
    main()

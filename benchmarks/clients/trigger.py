"""The "load generator" of the http-client workload: it starts the client under test
(clients/http_client.py, listening on PORT) and relays its marks.

    python trigger.py --port PORT --warmup W --duration D [--host H]

Prints "#mark start" and "#mark end" when the client's measured window opens and
closes (the runner samples CPU times there), then "requests N", "seconds S", "rate R"
and "errors E".
"""

from __future__ import annotations

import argparse
import socket
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--warmup", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    args = p.parse_args()
    with socket.create_connection((args.host, args.port), timeout=60 + args.warmup
                                  + args.duration) as conn:
        conn.sendall(b"%g %g\n" % (args.warmup, args.duration))
        lines = conn.makefile("rb")
        for line in lines:
            words = line.split()
            if words[:1] == [b"start"]:
                print("#mark start", flush=True)
            elif words[:1] == [b"end"]:
                print("#mark end", flush=True)
                count, seconds, errors = int(words[1]), float(words[2]), int(words[3])
                print(f"requests {count}\nseconds {seconds}\nrate {count / seconds}\n"
                      f"errors {errors}", flush=True)
                return
    sys.exit("trigger: the client closed the control connection before its result")


if __name__ == "__main__":
    main()

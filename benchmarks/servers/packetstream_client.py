"""The packetstream workload's load side: asks a pipeline (packetstream_pipeline.py) to
run, relays its window marks and prints its JSON result.

    python packetstream_client.py --port 9000 --warmup 1 --duration 5
"""

from __future__ import annotations

import argparse
import json
import socket
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=5.0)
    args = p.parse_args()
    with socket.create_connection((args.host, args.port)) as conn:
        conn.sendall((json.dumps({"warmup": args.warmup, "duration": args.duration})
                      + "\n").encode())
        for line in conn.makefile("r"):
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.startswith("{"):
                return
    sys.exit("the pipeline closed the connection without a result")


if __name__ == "__main__":
    main()

"""A UDP server's command line (``python -m sourcey.stun``, ``python -m sourcey.turn``)
in a test: started outside the source tree on 127.0.0.1:0, probed over UDP, and stopped
with SIGINT at the end of the ``with`` block."""

import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
from types import SimpleNamespace


@contextlib.contextmanager
def serving(module, *args):
    """Yields ``probe`` (a UDP socket on 127.0.0.1) and ``port`` (where the command
    listens); once the block has ended, ``returncode`` and ``stderr`` (what the command
    logged after its listening line) are set too."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe.settimeout(10)
    proc = subprocess.Popen([sys.executable, "-m", module, "--listen", "127.0.0.1:0", *args],
                            stderr=subprocess.PIPE, text=True,
                            cwd=tempfile.gettempdir())  # not the source tree
    try:
        line = proc.stderr.readline()
        assert "listening on 127.0.0.1:" in line, line
        served = SimpleNamespace(probe=probe,
                                 port=int(line.split("127.0.0.1:")[1].split("/")[0]))
        yield served
        proc.send_signal(signal.SIGINT)
        _, served.stderr = proc.communicate(timeout=10)
        served.returncode = proc.returncode
    finally:
        probe.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()

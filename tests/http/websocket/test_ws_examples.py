"""The examples as their users run them: examples/ws_echo.py and examples/ws_chat.py in a
subprocess, with the websockets package as the clients, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

websockets = pytest.importorskip("websockets", reason="the websockets package is absent")
from websockets.sync.client import connect as ws_connect  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples")


class Example:
    """An example server in a subprocess, listening on a free loopback port."""

    def __init__(self, name, *args):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLES, name), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
        assert match, line + self.proc.stderr.read()
        self.url = f"ws://127.0.0.1:{match.group(1)}/"

    def stop(self):
        """SIGTERM: the example closes its connections and exits by itself."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        assert self.proc.returncode == 0, err
        return out

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@pytest.fixture
def example():
    started = []

    def start(name, *args):
        started.append(Example(name, *args))
        return started[-1]

    yield start
    for ex in started:
        ex.kill()


def test_ws_echo(example):
    ex = example("ws_echo.py")
    with ws_connect(ex.url, compression="deflate", max_size=None) as w:
        for message in ("hello", b"\x00\x01", "x" * 100_000):
            w.send(message)
            assert w.recv(timeout=5) == message
        with ws_connect(ex.url):
            out = ex.stop()
            with pytest.raises(websockets.ConnectionClosedOK):
                w.recv(timeout=5)
            assert w.close_code == 1001
    assert "closing 2 connection(s)" in out


def test_ws_echo_refuses_a_message_above_the_limit(example):
    ex = example("ws_echo.py", "--max-message", "1000")
    with ws_connect(ex.url) as w:
        w.send(b"y" * 1001)
        with pytest.raises(websockets.ConnectionClosedError):
            w.recv(timeout=5)
        assert w.close_code == 1009
    ex.stop()


def test_ws_chat_broadcasts(example):
    ex = example("ws_chat.py")
    with ws_connect(ex.url + "?name=ann") as ann:
        assert ann.recv(timeout=5) == "* ann joined (1 here)"
        with ws_connect(ex.url + "?name=bob") as bob:
            assert bob.recv(timeout=5) == "* bob joined (2 here)"
            assert ann.recv(timeout=5) == "* bob joined (2 here)"
            ann.send("hi bob")
            assert ann.recv(timeout=5) == bob.recv(timeout=5) == "ann: hi bob"
            bob.send(b"binary")                      # refused: text only
            with pytest.raises(websockets.ConnectionClosedError):
                bob.recv(timeout=5)
            assert bob.close_code == 1003
        assert ann.recv(timeout=5) == "* bob left"
        ex.stop()
        with pytest.raises(websockets.ConnectionClosedOK):
            ann.recv(timeout=5)
        assert ann.close_code == 1001

"""Fixtures for the WebSocket tests: the checked loop and runner (an exception in a slot
fails the test), and ``in_thread``: run a blocking peer (a socket, the websockets
package, a subprocess) in a thread while the loop runs in the test's thread."""

from __future__ import annotations

import threading

import pytest

from sourcey import uv


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


class Peer:
    """A blocking peer running in a thread; the loop runs until it is done (and until
    ``after`` has run in the loop: it closes what the test opened)."""

    def __init__(self, loop, runner) -> None:
        self.loop = loop
        self.runner = runner

    def run(self, fn, after=None, timeout=20.0):
        box: dict = {}

        def finished(handle):
            handle.close()
            if after is not None:
                after()

        done = uv.Async(self.loop, finished)

        def main():
            try:
                box["result"] = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                box["error"] = exc
            finally:
                done.send()

        thread = threading.Thread(target=main, daemon=True)
        thread.start()
        try:
            self.runner.run(self.loop, timeout)
        finally:
            thread.join(timeout)
        if "error" in box:
            raise box["error"]
        return box.get("result")


@pytest.fixture
def in_thread(loop, runner):
    return Peer(loop, runner)

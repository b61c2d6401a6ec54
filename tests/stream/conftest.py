"""Fixtures for the sourcey.stream tests.

- ``loop``/``runner``: conftest's checked versions, so an assert inside a slot or a
  callback fails the test (a test that raises on purpose reads ``loop.callback_errors``).
- ``wait_for(predicate, timeout)``: for conditions no event announces (a writer blocked
  inside the C queue): polls ``predicate`` until it holds, failing after ``timeout``.
"""

import time

import pytest


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


@pytest.fixture
def wait_for():
    def wait(predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"condition not met after {timeout} s"
            time.sleep(0.001)
    return wait

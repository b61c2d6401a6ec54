"""Fixtures for the sourcey.turn tests: ``loop`` and ``runner`` fail the test on an
exception raised in a callback or a slot (tests/conftest.py's checked_* fixtures)."""

import pytest


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner

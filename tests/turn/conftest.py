"""Fixtures for the sourcey.turn tests: ``loop`` and ``runner`` fail the test on an
exception raised in a callback or a slot (tests/conftest.py's checked_* fixtures);
``make_server`` makes TURN servers for the test realm, ``peer`` a recording UDP peer."""

import pytest
from turnlib import REALM, USERS, Peer

from sourcey import turn


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


@pytest.fixture
def make_server(loop, runner):
    made = []

    def make(**kw):
        kw.setdefault("allowed_peers", ["127.0.0.0/8"])
        kw.setdefault("relay_hosts", ["127.0.0.1"])
        srv = turn.TurnServer(loop, realm=REALM, credentials=turn.StaticCredentials(USERS),
                              **kw)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.close()
    runner.run(loop)


@pytest.fixture
def peer(loop, runner):
    p = Peer(loop, runner)
    yield p
    p.close()

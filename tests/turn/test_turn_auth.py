"""Long-term credential authentication: challenges (401), stale nonces (438), bad
requests (400), the three credential sources."""

import base64
import hashlib
import hmac

import pytest

from sourcey import stun, turn
from sourcey.net import Address

CLIENT = Address("127.0.0.1", 40000)
REALM = "sourcey.test"


def auth(**users):
    return turn.LongTermAuth(REALM, turn.StaticCredentials(users or {"alice": "pw"}),
                             turn.NonceManager(lifetime=600, secret=b"s" * 32))


def signed(nonce, user="alice", password="pw", realm=REALM, key=None, **extra):
    msg = stun.Message(stun.ALLOCATE, stun.REQUEST, attributes=[
        (stun.REQUESTED_TRANSPORT, 17), (stun.USERNAME, user), (stun.REALM, realm),
        (stun.NONCE, nonce)])
    key = key or stun.long_term_key(user, realm, password)
    return stun.decode(msg.encode(key, **extra))


def challenge(a, now=0.0, client=CLIENT):
    request = stun.decode(stun.Message(stun.ALLOCATE).add(stun.REQUESTED_TRANSPORT, 17)
                          .encode())
    key, error = a.check(request, client, now)
    assert key is None and error.get(stun.ERROR_CODE)[0] == 401
    assert error.get(stun.REALM) == REALM
    return error.get(stun.NONCE)


def test_challenge_then_success():
    a = auth()
    nonce = challenge(a)
    assert len(nonce) < 128
    key, error = a.check(signed(nonce), CLIENT, 1.0)
    assert error is None and key == stun.long_term_key("alice", REALM, "pw")
    key, error = a.check(signed(nonce, fingerprint=True, integrity="both"), CLIENT, 2.0)
    assert error is None


@pytest.mark.parametrize("case", ["password", "user", "realm", "nonce", "client"])
def test_refusals_are_401(case):
    a = auth()
    nonce = challenge(a)
    kwargs = {"password": {"password": "wrong"}, "user": {"user": "mallory"},
              "realm": {"realm": "other"}, "nonce": {}, "client": {}}[case]
    if case == "nonce":
        nonce = nonce[:-2] + ("AA" if not nonce.endswith("AA") else "BB")
    client = Address("127.0.0.1", 40001) if case == "client" else CLIENT
    key, error = a.check(signed(nonce, **kwargs), client, 1.0)
    assert key is None and error.get(stun.ERROR_CODE)[0] == 401
    assert stun.NONCE in error and stun.MESSAGE_INTEGRITY not in error


def test_stale_nonce_is_438_with_a_fresh_one():
    a = auth()
    nonce = challenge(a, now=0.0)
    key, error = a.check(signed(nonce), CLIENT, 600.0)
    assert key is None and error.get(stun.ERROR_CODE) == (438, "Stale Nonce")
    fresh = error.get(stun.NONCE)
    assert fresh != nonce
    key, error = a.check(signed(fresh), CLIENT, 601.0)
    assert error is None


def test_missing_attributes_are_400():
    a = auth()
    msg = stun.decode(stun.Message(stun.ALLOCATE, attributes=[(stun.USERNAME, "alice")])
                      .encode(b"k"))
    key, error = a.check(msg, CLIENT, 0.0)
    assert key is None and error.get(stun.ERROR_CODE)[0] == 400


def test_non_ascii_nonce_is_refused():
    a = auth()
    key, error = a.check(signed("ünïcode.nonce"), CLIENT, 0.0)
    assert key is None and error.get(stun.ERROR_CODE)[0] == 401


def test_callable_credentials():
    seen = []

    def lookup(user, realm):
        seen.append((user, realm))
        return {"pw": "pw", "key": stun.long_term_key("key", realm, "kpw")}.get(user)

    a = turn.LongTermAuth(REALM, turn.CallableCredentials(lookup))
    nonce = challenge(a)
    assert a.check(signed(nonce, user="pw"), CLIENT, 1.0)[1] is None
    assert a.check(signed(nonce, user="key", password="kpw"), CLIENT, 1.0)[1] is None
    assert a.check(signed(nonce, user="nobody"), CLIENT, 1.0)[0] is None
    assert ("nobody", REALM) in seen


def test_rest_api_credentials():
    creds = turn.RestApiCredentials("north", clock=lambda: 1_000_000.0)
    username = "1000600:alice"
    password = creds.password(username)
    assert password == base64.b64encode(
        hmac.new(b"north", username.encode(), hashlib.sha1).digest()).decode()
    assert creds.key(username, REALM) == stun.long_term_key(username, REALM, password)
    assert creds.key("999999:alice", REALM) is None          # expired
    assert creds.key("alice", REALM) is None                  # no timestamp
    a = turn.LongTermAuth(REALM, creds)
    nonce = challenge(a)
    assert a.check(signed(nonce, user=username, password=password), CLIENT, 1.0)[1] is None
    assert a.check(signed(nonce, user=username, password="guess"), CLIENT, 1.0)[0] is None

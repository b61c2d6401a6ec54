"""dns: getaddrinfo and getnameinfo, synchronous and asynchronous, on local names only
("localhost" from /etc/hosts, IP literals); failures use the reserved TLD .invalid."""

import gc
import os
import socket
import threading

import pytest

from sourcey import uv
from sourcey.uv.error import DNSError, UVError

E = uv.errno
EAI_CODES = {code for name, code in vars(E).items() if name.startswith("UV_EAI_")}


# --- fixtures: an exception raised in a callback fails the test ---------------------


@pytest.fixture
def loop(checked_loop):
    """An exception raised in a callback fails the test (tests/conftest.py)."""
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def check_result(result):
    assert isinstance(result, list) and result
    for ai in result:
        assert isinstance(ai, uv.dns.AddrinfoResult)
        assert ai._fields == ("family", "socktype", "proto", "canonname", "sockaddr")
        assert ai.family in (socket.AF_INET, socket.AF_INET6)
        assert isinstance(ai.socktype, int) and isinstance(ai.proto, int)
        assert isinstance(ai.canonname, str)
        assert isinstance(ai.sockaddr, tuple)
        assert len(ai.sockaddr) == (2 if ai.family == socket.AF_INET else 4)


# --- getaddrinfo --------------------------------------------------------------------


@pytest.mark.parametrize("port", [80, "80", b"80"])
def test_getaddrinfo_sync_localhost(loop, port):
    result = uv.dns.getaddrinfo(loop, "localhost", port)
    check_result(result)
    assert ("127.0.0.1", 80) in [ai.sockaddr for ai in result]
    assert all(ai.sockaddr[1] == 80 for ai in result)


def test_getaddrinfo_sync_numeric_and_filters(loop):
    result = uv.dns.getaddrinfo(loop, "127.0.0.1", 8080, socket.AF_INET, socket.SOCK_STREAM,
                                flags=socket.AI_NUMERICHOST)
    check_result(result)
    assert result == [uv.dns.AddrinfoResult(socket.AF_INET, socket.SOCK_STREAM,
                                            socket.IPPROTO_TCP, "", ("127.0.0.1", 8080))]
    v6 = uv.dns.getaddrinfo(loop, "::1", 53, socket.AF_INET6, socket.SOCK_DGRAM)
    assert [ai.sockaddr for ai in v6] == [("::1", 53, 0, 0)]
    assert v6[0].proto == socket.IPPROTO_UDP
    by_keyword = uv.dns.getaddrinfo(loop, host="localhost", port=None, family=socket.AF_INET,
                                    socktype=socket.SOCK_STREAM, protocol=socket.IPPROTO_TCP)
    assert [ai.sockaddr for ai in by_keyword] == [("127.0.0.1", 0)]
    with pytest.raises(DNSError) as info:          # an IPv6 literal in the IPv4 family
        uv.dns.getaddrinfo(loop, "::1", 80, socket.AF_INET, flags=socket.AI_NUMERICHOST)
    assert info.value.args[0] in EAI_CODES


def test_getaddrinfo_matches_the_socket_module(loop):
    ours = uv.dns.getaddrinfo(loop, "localhost", 443, socket.AF_INET, socket.SOCK_STREAM)
    theirs = socket.getaddrinfo("localhost", 443, socket.AF_INET, socket.SOCK_STREAM)
    assert sorted((a.family, a.socktype, a.proto, a.sockaddr) for a in ours) == \
        sorted((int(f), int(t), p, s) for f, t, p, _, s in theirs)


def test_getaddrinfo_passive_and_service_name(loop):
    passive = uv.dns.getaddrinfo(loop, None, 9000, socket.AF_INET, socket.SOCK_STREAM,
                                 flags=socket.AI_PASSIVE)
    assert [ai.sockaddr for ai in passive] == [("0.0.0.0", 9000)]
    try:
        http = socket.getservbyname("http", "tcp")
    except OSError:
        pytest.skip("no services database")
    named = uv.dns.getaddrinfo(loop, "127.0.0.1", "http", socket.AF_INET, socket.SOCK_STREAM)
    assert [ai.sockaddr for ai in named] == [("127.0.0.1", http)]


def test_getaddrinfo_async(loop, runner):
    results = []
    req = uv.dns.getaddrinfo(loop, "localhost", 80, socket.AF_INET,
                             callback=lambda result, error: results.append((result, error)))
    assert isinstance(req, uv.dns.DNSRequest)
    assert req.active
    runner.until(loop, lambda: results)
    result, error = results[0]
    assert error is None
    check_result(result)
    assert {ai.sockaddr for ai in result} == {("127.0.0.1", 80)}
    assert not req.active
    assert req.cancel() is False          # already done
    runner.run(loop)
    assert len(results) == 1


def test_getaddrinfo_async_positional_callback_and_dropped_request(loop, runner):
    results = []
    uv.dns.getaddrinfo(loop, "127.0.0.1", "25", socket.AF_INET, socket.SOCK_STREAM, 0, 0,
                       lambda result, error: results.append((result, error)))
    gc.collect()                           # the request keeps itself until its callback
    runner.until(loop, lambda: results)
    assert results == [([uv.dns.AddrinfoResult(socket.AF_INET, socket.SOCK_STREAM,
                                               socket.IPPROTO_TCP, "",
                                               ("127.0.0.1", 25))], None)]


def test_many_async_lookups(loop, runner):
    results = []
    for i in range(50):
        uv.dns.getaddrinfo(loop, "127.0.0.1", 1000 + i, socket.AF_INET, socket.SOCK_DGRAM,
                           callback=lambda r, e, i=i: results.append((i, r, e)))
    runner.until(loop, lambda: len(results) == 50, timeout=10)
    assert sorted(i for i, _, _ in results) == list(range(50))
    for i, r, e in results:
        assert e is None and [ai.sockaddr for ai in r] == [("127.0.0.1", 1000 + i)]


def test_unresolvable_name_async(loop, runner):
    results = []
    uv.dns.getaddrinfo(loop, "nonexistent.invalid", 80,
                       callback=lambda result, error: results.append((result, error)))
    runner.until(loop, lambda: results, timeout=15)
    result, error = results[0]
    assert result is None
    assert error in EAI_CODES, E.errorcode.get(error, error)


def test_unresolvable_name_sync(loop):
    with pytest.raises(DNSError) as info:
        uv.dns.getaddrinfo(loop, "nonexistent.invalid", 80)
    assert info.value.args[0] in EAI_CODES
    assert isinstance(info.value, UVError) and isinstance(info.value, OSError)
    assert info.value.args[1] == E.strerror(info.value.args[0])


def test_numeric_host_flag_refuses_names_without_lookup(loop, runner):
    with pytest.raises(DNSError) as info:
        uv.dns.getaddrinfo(loop, "nonexistent.invalid", 80, flags=socket.AI_NUMERICHOST)
    assert info.value.args[0] == E.UV_EAI_NONAME
    results = []
    uv.dns.getaddrinfo(loop, "nonexistent.invalid", 80, flags=socket.AI_NUMERICHOST,
                       callback=lambda r, e: results.append((r, e)))
    runner.until(loop, lambda: results)
    assert results == [(None, E.UV_EAI_NONAME)]


def test_unknown_service(loop):
    with pytest.raises(DNSError) as info:
        uv.dns.getaddrinfo(loop, "127.0.0.1", "no-such-service-name", socket.AF_INET,
                           socket.SOCK_STREAM)
    assert info.value.args[0] in EAI_CODES


def test_exception_in_the_callback_goes_to_excepthook(loop, runner):
    later = []

    def bad(result, error):
        raise RuntimeError("dns callback failed")

    uv.dns.getaddrinfo(loop, "127.0.0.1", 1, callback=bad)
    uv.dns.getaddrinfo(loop, "127.0.0.1", 2, callback=lambda r, e: later.append(e))
    with pytest.raises(RuntimeError, match="dns callback failed"):
        runner.until(loop, lambda: loop.callback_errors)
    runner.until(loop, lambda: later)       # the loop goes on
    assert later == [None]


# --- cancel -------------------------------------------------------------------------


class BusyPool:
    """Occupies every thread of libuv's pool so that new requests stay queued."""

    def __init__(self, loop):
        self.size = min(max(int(os.environ.get("UV_THREADPOOL_SIZE", "4")), 1), 1024)
        self.release = threading.Event()
        self.started = 0
        self.cond = threading.Condition()
        self.done = []
        for _ in range(self.size):
            loop.queue_work(self._block, self.done.append)
        with self.cond:
            ok = self.cond.wait_for(lambda: self.started == self.size, timeout=10)
        if not ok:
            self.release.set()
            raise AssertionError(f"only {self.started} of {self.size} pool threads started")

    def _block(self):
        with self.cond:
            self.started += 1
            self.cond.notify_all()
        self.release.wait(10)


def test_cancel_a_queued_getaddrinfo(loop, runner):
    pool = BusyPool(loop)
    results = []
    try:
        req = uv.dns.getaddrinfo(loop, "localhost", 80,
                                 callback=lambda r, e: results.append((r, e)))
        assert req.active
        assert req.cancel() is True
    finally:
        pool.release.set()
    runner.until(loop, lambda: results and len(pool.done) == pool.size)
    assert results == [(None, E.UV_EAI_CANCELED)]
    assert pool.done == [None] * pool.size
    assert not req.active and req.cancel() is False


def test_cancel_a_queued_getnameinfo(loop, runner):
    pool = BusyPool(loop)
    results = []
    try:
        req = uv.dns.getnameinfo(loop, ("127.0.0.1", 80),
                                 callback=lambda r, e: results.append((r, e)))
        assert req.cancel() is True
    finally:
        pool.release.set()
    runner.until(loop, lambda: results and len(pool.done) == pool.size)
    assert results == [(None, E.UV_EAI_CANCELED)]


# --- getnameinfo --------------------------------------------------------------------


def test_getnameinfo_sync(loop):
    numeric = uv.dns.getnameinfo(loop, ("127.0.0.1", 80),
                                 socket.NI_NUMERICHOST | socket.NI_NUMERICSERV)
    assert numeric == uv.dns.NameinfoResult("127.0.0.1", "80")
    assert numeric._fields == ("host", "service")
    named = uv.dns.getnameinfo(loop, ("127.0.0.1", 80))
    assert named == socket.getnameinfo(("127.0.0.1", 80), 0)
    v6 = uv.dns.getnameinfo(loop, ("::1", 443, 0, 0), socket.NI_NUMERICHOST)
    assert v6.host == "::1"
    assert v6.service in ("https", "443")


def test_getnameinfo_async(loop, runner):
    results = []
    req = uv.dns.getnameinfo(loop, ("127.0.0.1", 80), socket.NI_NUMERICSERV,
                             lambda result, error: results.append((result, error)))
    assert isinstance(req, uv.dns.DNSRequest)
    runner.until(loop, lambda: results)
    result, error = results[0]
    assert error is None
    assert isinstance(result, uv.dns.NameinfoResult)
    assert result.service == "80"
    assert result.host == socket.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICSERV)[0]


# --- bad arguments ------------------------------------------------------------------


@pytest.mark.parametrize("host, port, exc", [
    ("localhost", -1, ValueError),
    ("localhost", 65536, ValueError),
    ("localhost", 1 << 40, ValueError),
    (None, None, ValueError),
    ("local\0host", 80, (TypeError, ValueError)),
    (b"local\0host", 80, (TypeError, ValueError)),
    ("localhost", "8\0", (TypeError, ValueError)),
    ("localhost", 80.0, TypeError),
    ("localhost", True, TypeError),
    ("localhost", [80], TypeError),
    (127, 80, TypeError),
    (("localhost",), 80, TypeError),
    ("a" * 64 + ".invalid", 80, (ValueError, DNSError)),   # label too long for IDNA
], ids=repr)
def test_getaddrinfo_bad_arguments(loop, runner, host, port, exc):
    calls = []
    with pytest.raises(exc):
        uv.dns.getaddrinfo(loop, host, port)
    with pytest.raises(exc):
        uv.dns.getaddrinfo(loop, host, port, callback=lambda r, e: calls.append(e))
    runner.run(loop)
    assert calls == []


def test_getaddrinfo_bad_loop_and_callback(loop):
    with pytest.raises(TypeError):
        uv.dns.getaddrinfo(None, "localhost", 80)
    with pytest.raises(TypeError):
        uv.dns.getaddrinfo("loop", "localhost", 80)
    with pytest.raises(TypeError):
        uv.dns.getaddrinfo(loop, "localhost", 80, callback=42)
    with pytest.raises(TypeError):
        uv.dns.getaddrinfo(loop, "localhost", 80, family="inet")
    with pytest.raises(DNSError):
        uv.dns.getaddrinfo(loop, "localhost", 80, family=12345)


@pytest.mark.parametrize("address, exc", [
    ("127.0.0.1", TypeError),
    (("127.0.0.1",), TypeError),
    (("127.0.0.1", "80"), TypeError),
    (("localhost", 80), ValueError),
    (("127.0.0.1", 70000), ValueError),
    (("127.0.0.1\0", 80), ValueError),
], ids=repr)
def test_getnameinfo_bad_arguments(loop, runner, address, exc):
    with pytest.raises(exc):
        uv.dns.getnameinfo(loop, address)
    with pytest.raises(exc):
        uv.dns.getnameinfo(loop, address, 0, lambda r, e: None)
    with pytest.raises(TypeError):
        uv.dns.getnameinfo(loop, ("127.0.0.1", 80), 0, "not callable")
    runner.run(loop)

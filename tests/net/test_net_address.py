"""Address: IPv4/IPv6 host and port, parsing "host:port", "[v6]:port" and tuples,
validation (TypeError for wrong types, ValueError for bad values), and asynchronous
resolution with ``resolve``."""

import socket

import pytest

from sourcey.net import Address, resolve


@pytest.mark.parametrize("value, port, expected", [
    ("127.0.0.1:80", None, ("127.0.0.1", 80)),
    ("localhost:0", None, ("localhost", 0)),
    ("example.org:65535", None, ("example.org", 65535)),
    ("[::1]:8080", None, ("::1", 8080)),
    ("[fe80::1%lo]:1", None, ("fe80::1%lo", 1)),
    (("192.0.2.1", 443), None, ("192.0.2.1", 443)),
    (("::1", 9, 0, 0), None, ("::1", 9)),             # a 4-tuple from getsockname
    ("127.0.0.1", 7, ("127.0.0.1", 7)),
    ("::1", 7, ("::1", 7)),
    ("[::1]", 7, ("::1", 7)),
])
def test_parse(value, port, expected):
    a = Address.parse(value, port)
    assert isinstance(a, Address)
    assert tuple(a) == expected
    assert (a.host, a.port) == expected


def test_parse_returns_an_address_unchanged():
    a = Address("127.0.0.1", 1)
    assert Address.parse(a) is a


def test_address_is_a_tuple_usable_by_python_sockets():
    a = Address.parse("127.0.0.1:5")
    assert a == ("127.0.0.1", 5)
    host, port = a
    assert (host, port) == ("127.0.0.1", 5)
    assert hash(a) == hash(("127.0.0.1", 5))


@pytest.mark.parametrize("host, is_ip, family, text", [
    ("127.0.0.1", True, socket.AF_INET, "127.0.0.1:80"),
    ("::1", True, socket.AF_INET6, "[::1]:80"),
    ("fe80::1%lo", True, socket.AF_INET6, "[fe80::1%lo]:80"),
    ("localhost", False, socket.AF_INET, "localhost:80"),
])
def test_properties_and_str(host, is_ip, family, text):
    a = Address(host, 80)
    assert a.is_ip is is_ip
    assert a.family == family
    assert str(a) == text
    assert Address.parse(str(a)) == a        # str round-trips


@pytest.mark.parametrize("value, port", [
    (b"127.0.0.1:80", None),
    (80, None),
    (None, None),
    (("127.0.0.1",), None),
    (("127.0.0.1", "80"), None),
    (("127.0.0.1", 80.0), None),
    (("127.0.0.1", True), None),
    ((1, 80), None),
    ("127.0.0.1", "80"),
    (["127.0.0.1", 80], None),
])
def test_wrong_types_are_type_errors(value, port):
    with pytest.raises(TypeError):
        Address.parse(value, port)


@pytest.mark.parametrize("value, port", [
    ("127.0.0.1", None),          # no port
    ("127.0.0.1:", None),
    (":80", None),                # no host
    ("127.0.0.1:http", None),
    ("127.0.0.1:-1", None),
    ("127.0.0.1:+80", None),
    ("127.0.0.1:65536", None),
    ("127.0.0.1:99999999999999999999", None),
    ("127.0.0.1: 80", None),
    ("127.0.0.1:٨٠", None),       # Arabic-Indic digits are not a port
    ("127.0.0.1:²", None),
    ("::1:80", None),             # IPv6 needs brackets
    ("[::1]80", None),
    ("[::1:80", None),
    ("[]:80", None),
    ("[::1", 7),                  # unbalanced brackets
    ("::1]", 7),
    ("[[::1]]", 7),
    ("bad host:80", None),
    ("bad\0host:80", None),
    ("a" * 254 + ":80", None),
    ("127.0.0.1", -1),
    ("127.0.0.1", 65536),
    ("", 80),
])
def test_bad_values_are_value_errors(value, port):
    with pytest.raises(ValueError):
        Address.parse(value, port)


# --- resolution ---------------------------------------------------------------------


def resolved(loop, runner, address, **kw):
    results = []
    resolve(loop, Address.parse(address), lambda addrs, err: results.append((addrs, err)),
            **kw)
    runner.until(loop, lambda: results)
    runner.run(loop)
    assert len(results) == 1
    return results[0]


def test_resolve_localhost(loop, runner):
    addrs, err = resolved(loop, runner, "localhost:8080")
    assert err is None
    assert addrs and all(isinstance(a, Address) and a.is_ip for a in addrs)
    assert all(a.port == 8080 for a in addrs)
    assert {a.host for a in addrs} & {"127.0.0.1", "::1"}
    assert len(addrs) == len(set(addrs))          # no duplicates


def test_resolve_an_ip_literal_answers_at_once_without_a_request(loop):
    results = []
    req = resolve(loop, Address("::1", 5), lambda addrs, err: results.append((addrs, err)))
    assert req is None
    assert results == [([Address("::1", 5)], None)]


def test_resolve_a_name_is_asynchronous(loop, runner):
    results = []
    req = resolve(loop, Address("localhost", 1), lambda a, e: results.append(e))
    assert req is not None and results == []
    runner.run(loop)
    assert results == [None]


def test_resolve_an_unresolvable_name_is_a_gaierror(loop, runner):
    addrs, err = resolved(loop, runner, "x.invalid:80")
    assert addrs is None
    assert isinstance(err, socket.gaierror)
    assert err.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None),
                         socket.EAI_AGAIN)

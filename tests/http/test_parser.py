"""Unit tests of the HTTP/1.1 parser (csrc/http1_parser.c through sourcey.http)."""

import random
from itertools import pairwise

import pytest

from sourcey.http import Message, ParseError, Parser, parse


def splits(raw, seed=0, count=6):
    """raw whole, byte by byte, and at random points."""
    yield [raw]
    yield [raw[i:i + 1] for i in range(len(raw))]
    rnd = random.Random(seed)
    for _ in range(count):
        cuts = sorted(rnd.sample(range(1, len(raw)), min(len(raw) - 1, 5)))
        bounds = [0, *cuts, len(raw)]
        yield [raw[a:b] for a, b in pairwise(bounds)]


def summary(messages):
    return [(m.method, m.target, m.version, m.status, m.reason, m.headers, m.trailers,
             m.body, m.keep_alive, m.upgrade) for m in messages]


def parse_all_ways(kind, raw, **options):
    """parse() over every split; all must agree. Returns the messages."""
    first = None
    for pieces in splits(raw):
        got = summary(parse(kind, pieces, **options))
        if first is None:
            first = got
        assert got == first, pieces
    return parse(kind, [raw], **options)


def reject(kind, raw, code, offset=None, **options):
    """Every split is rejected with the same code and offset; returns the error."""
    first = None
    for pieces in splits(raw):
        with pytest.raises(ParseError) as info:
            parse(kind, pieces, **options)
        err = info.value
        assert err.code == code, (pieces, err)
        got = (err.code, err.offset, summary(err.messages))
        if first is None:
            first = got
        assert got == first, pieces
    if offset is not None:
        assert err.offset == offset
    return err


def req(head, body=b""):
    return b"GET / HTTP/1.1\r\n" + head + b"\r\n" + body


# ---- requests and responses that parse ----

def test_simple_request():
    (m,) = parse_all_ways("request", b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\n")
    assert isinstance(m, Message)
    assert (m.method, m.target, m.version) == ("GET", "/a?b=c", "1.1")
    assert m.status is None and m.reason is None
    assert m.headers == [(b"Host", b"x"), (b"Accept", b"*/*")]
    assert m.body == b"" and m.keep_alive and not m.upgrade
    assert "GET /a?b=c" in repr(m)


def test_simple_response():
    (m,) = parse_all_ways("response", b"HTTP/1.0 404 Not  Found\r\nContent-Length: 2\r\n\r\nno")
    assert (m.status, m.reason, m.version, m.body) == (404, b"Not  Found", "1.0", b"no")
    assert m.method is None and m.target is None
    assert not m.keep_alive  # HTTP/1.0 without keep-alive


def test_header_values_as_sent():
    raw = req(b"X-A: \t caf\xc3\xa9 \t\r\nx-b:\r\nX-C: a  b\r\n")
    (m,) = parse_all_ways("request", raw)
    assert m.headers == [(b"X-A", b"caf\xc3\xa9"), (b"x-b", b""), (b"X-C", b"a  b")]


def test_keep_alive_rules():
    def ka(kind, raw):
        return parse(kind, [raw])[0].keep_alive

    assert ka("request", b"GET / HTTP/1.1\r\n\r\n")
    assert not ka("request", b"GET / HTTP/1.1\r\nConnection: x, Close\r\n\r\n")
    assert not ka("request", b"GET / HTTP/1.0\r\n\r\n")
    assert ka("request", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert not ka("response", b"HTTP/1.1 200 OK\r\n\r\n")  # delimited by EOF
    assert ka("response", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def test_pipelining_requests():
    raw = (b"POST /1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
           b"\r\n"  # an empty line between requests is ignored (RFC 9112 §2.2)
           b"PUT /2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
           b"GET /3 HTTP/1.1\r\n\r\n")
    ms = parse_all_ways("request", raw)
    assert [(m.method, m.target, m.body) for m in ms] == [
        ("POST", "/1", b"hello"), ("PUT", "/2", b"abc"), ("GET", "/3", b"")]


def test_pipelining_responses_with_interim():
    raw = (b"HTTP/1.1 100 Continue\r\n\r\n"
           b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
           b"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
           b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    ms = parse_all_ways("response", raw)
    assert [(m.status, m.body) for m in ms] == [
        (100, b""), (103, b""), (204, b""), (304, b""), (200, b"ok")]


def test_chunked_with_extensions_and_trailers():
    raw = (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
           b"5 ; a=b;c ; d=\"x\\\"y;z\"\r\nhello\r\n"
           b"A\r\n0123456789\r\n"
           b"000\r\nX-Sum: 1\r\nX-Other:  two \r\n\r\n")
    (m,) = parse_all_ways("request", raw)
    assert m.body == b"hello0123456789"
    assert m.trailers == [(b"X-Sum", b"1"), (b"X-Other", b"two")]
    assert m.headers == [(b"Transfer-Encoding", b"gzip, chunked")]


def test_response_until_eof():
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc"
    (m,) = parse_all_ways("response", raw)
    assert m.body == b"3\r\nabc" and not m.keep_alive
    # without the end, nothing is complete yet
    assert parse("response", [raw], eof=False) == []
    p = Parser("response")
    assert p.feed(raw) == []
    assert p.pending.body == b"3\r\nabc"
    (m,) = p.feed_eof()
    assert m.body == b"3\r\nabc"
    assert p.feed_eof() == []


def test_http10_response_with_transfer_encoding_reads_to_eof():
    raw = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    (m,) = parse("response", [raw])
    assert m.body == b"0\r\n\r\n"


def test_skip_body_for_head_responses():
    raw = (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
           b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    ms = parse_all_ways("response", raw, skip_body=True)
    assert [m.body for m in ms] == [b"", b""]
    p = Parser("response", skip_body=True)
    assert p.skip_body
    p.skip_body = False
    assert not p.skip_body
    assert p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")[0].body == b"x"


def test_large_bodies():
    body = bytes(range(256)) * 4096  # 1 MiB
    raw = b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    p = Parser("request")
    out = []
    for i in range(0, len(raw), 65536):
        out += p.feed(raw[i:i + 65536])
    assert len(out) == 1 and out[0].body == body
    chunked = b"".join(b"%x\r\n" % len(body[i:i + 40000]) + body[i:i + 40000] + b"\r\n"
                       for i in range(0, len(body), 40000))
    raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
    p = Parser("request")
    out = []
    for i in range(0, len(raw), 7777):
        out += p.feed(memoryview(raw)[i:i + 7777])
    assert len(out) == 1 and out[0].body == body


def test_content_length_forms():
    (m,) = parse_all_ways("request", req(b"Content-Length: 003\r\n", b"abc"))
    assert m.body == b"abc"
    raw = req(b"Content-Length: 2\r\ncontent-length: 2\r\n", b"ok")
    assert parse_all_ways("request", raw)[0].body == b"ok"  # identical duplicates
    big = b"9223372036854775807"  # INT64_MAX is accepted (then the input is short)
    assert parse("request", [req(b"Content-Length: " + big + b"\r\n")], eof=False) == []


# ---- upgrade and CONNECT ----

def test_connect_stops_after_head():
    raw = b"CONNECT example.com:443 HTTP/1.1\r\nContent-Length: 3\r\n\r\n\x16\x03\x01"
    (m,) = parse_all_ways("request", raw)
    assert m.upgrade and m.method == "CONNECT" and m.body == b""
    p = Parser("request")
    assert p.feed(raw[:-1])[0].upgrade
    assert p.upgraded
    assert p.feed(raw[-1:]) == []
    assert p.remainder == b"\x16\x03\x01"


def test_upgrade_request_reads_its_body_first():
    raw = (b"POST / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n"
           b"Content-Length: 4\r\n\r\nbodyPRISM")
    p = Parser("request")
    (m,) = p.feed(raw)
    assert m.upgrade and m.body == b"body" and p.remainder == b"PRISM"
    # Connection: upgrade without an Upgrade field is no upgrade
    (m,) = parse("request", [b"GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n"])
    assert not m.upgrade


def test_101_and_connect_responses():
    raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00"
    p = Parser("response")
    (m,) = p.feed(raw)
    assert m.status == 101 and m.upgrade and p.remainder == b"\x81\x00"
    (m,) = parse("response", [b"HTTP/1.1 200 OK\r\n\r\n"], connect=True)
    assert m.upgrade and m.body == b""
    (m,) = parse("response", [b"HTTP/1.1 200 OK\r\nUpgrade: h2c\r\n\r\nx"])
    assert not m.upgrade and m.body == b"x"


# ---- strictness: each rule has its own error ----

@pytest.mark.parametrize("raw,code,offset", [
    (b"GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", "BARE_CR", 21),
    (b"GET / HTTP/1.1\r\r\n", "BARE_CR", 15),
    (b"\rGET / HTTP/1.1\r\n\r\n", "BARE_CR", 1),
    (b"GET / HTTP/1.1\nA: b\r\n\r\n", "VERSION", 14),
    (b"GET / HTTP/1.1\r\nA: b\n\r\n", "BARE_LF", 20),
    (b"GET / HTTP/1.1\r\nA: b\r\n\n", "BARE_LF", 22),
    (b"\nGET / HTTP/1.1\r\n\r\n", "BARE_LF", 0),
    (b"G(T / HTTP/1.1\r\n\r\n", "METHOD", 1),
    (b" GET / HTTP/1.1\r\n\r\n", "METHOD", 0),
    (b"GET  / HTTP/1.1\r\n\r\n", "TARGET", 4),
    (b"GET /\x00 HTTP/1.1\r\n\r\n", "TARGET", 5),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", "TARGET", 5),
    (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "TARGET", 5),
    (b"GET /\r\n\r\n", "VERSION", 5),
    (b"GET / HTTP/1.1 \r\n\r\n", "VERSION", 14),
    (b"GET / http/1.1\r\n\r\n", "VERSION", 6),
    (b"GET / HTTP/1.x\r\n\r\n", "VERSION", 13),
    (b"GET / HTTP/11.1\r\n\r\n", "VERSION", 12),
    (b"GET / HTTP/2.0\r\n\r\n", "VERSION_UNSUPPORTED", 11),
    (b"GET / HTTP/1.2\r\n\r\n", "VERSION_UNSUPPORTED", 11),
    (b"GET / HTTP/0.9\r\n\r\n", "VERSION_UNSUPPORTED", 11),
    (b"GET / HTTP/1.1\r\nA b: c\r\n\r\n", "WS_BEFORE_COLON", 17),
    (b"GET / HTTP/1.1\r\nA : c\r\n\r\n", "WS_BEFORE_COLON", 17),
    (b"GET / HTTP/1.1\r\nA\t: c\r\n\r\n", "WS_BEFORE_COLON", 17),
    (b"GET / HTTP/1.1\r\n: c\r\n\r\n", "HEADER_NAME", 16),
    (b"GET / HTTP/1.1\r\nA@: c\r\n\r\n", "HEADER_NAME", 17),
    (b"GET / HTTP/1.1\r\nA\x00: c\r\n\r\n", "HEADER_NAME", 17),
    (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "HEADER_NAME", 23),
    (b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "OBS_FOLD", 22),
    (b"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", "OBS_FOLD", 22),
    (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", "OBS_FOLD", 16),
    (b"GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n", "HEADER_VALUE", 20),
    (b"GET / HTTP/1.1\r\nA: \x01\r\n\r\n", "HEADER_VALUE", 19),
    (b"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", "HEADER_VALUE", 20),
    (b"GET / HTTP/1.1\r\nA: \x0bb\r\n\r\n", "HEADER_VALUE", 19),
])
def test_syntax_errors(raw, code, offset):
    err = reject("request", raw, code, offset)
    assert isinstance(err, ValueError)
    assert err.status == 400 or code == "VERSION_UNSUPPORTED"


@pytest.mark.parametrize("raw,code", [
    (b"HTTP/1.1 20 OK\r\n\r\n", "STATUS"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "STATUS"),
    (b"HTTP/1.1 099 OK\r\n\r\n", "STATUS"),
    (b"HTTP/1.1  200 OK\r\n\r\n", "STATUS"),
    (b"HTTP/1.1 2x0 OK\r\n\r\n", "STATUS"),
    (b"HTTP/1.1 200 O\x00K\r\n\r\n", "REASON"),
    (b"HTTP/1.1 200 OK\n\r\n", "BARE_LF"),
    (b"HTTP/1.1\t200 OK\r\n\r\n", "VERSION"),
    (b"HTTP/3.0 200 OK\r\n\r\n", "VERSION_UNSUPPORTED"),
    (b"ICE/1.0 200 OK\r\n\r\n", "VERSION"),
])
def test_status_line_errors(raw, code):
    err = reject("response", raw, code)
    assert err.status == 400  # a client never answers with 505


def test_status_line_without_reason():
    (m,) = parse("response", [b"HTTP/1.1 301\r\nContent-Length: 0\r\n\r\n"])
    assert (m.status, m.reason) == (301, b"")
    (m,) = parse("response", [b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"])
    assert m.reason == b""
    (m,) = parse("response", [b"HTTP/1.1 500 Ori\xc3\xabnt\tx\r\nContent-Length: 0\r\n\r\n"])
    assert m.reason == b"Ori\xc3\xabnt\tx"


@pytest.mark.parametrize("fields,code", [
    (b"Content-Length: \r\n", "CONTENT_LENGTH"),
    (b"Content-Length: -1\r\n", "CONTENT_LENGTH"),
    (b"Content-Length: +1\r\n", "CONTENT_LENGTH"),
    (b"Content-Length: 1 2\r\n", "CONTENT_LENGTH"),
    (b"Content-Length: 0x10\r\n", "CONTENT_LENGTH"),
    (b"Content-Length: 1, 1\r\n", "CONTENT_LENGTH"),
    (b"Content-Length: 9223372036854775808\r\n", "CONTENT_LENGTH_OVERFLOW"),
    (b"Content-Length: 99999999999999999999999\r\n", "CONTENT_LENGTH_OVERFLOW"),
    (b"Content-Length: 1\r\nContent-Length: 2\r\n", "CONTENT_LENGTH_CONFLICT"),
    (b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", "CL_AND_TE"),
    (b"Transfer-Encoding: chunked\r\nContent-Length: 1\r\n", "CL_AND_TE"),
    (b"Transfer-Encoding: identity\r\nContent-Length: 1\r\n", "CL_AND_TE"),
    (b"Transfer-Encoding: gzip\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: chunked, gzip\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: chunked, chunked\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: chunkedchunked\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: chunked;q=1\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: \"chunked\"\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding: chunked x\r\n", "TRANSFER_ENCODING"),
    (b"Transfer-Encoding:\r\n", "TRANSFER_ENCODING"),
])
def test_framing_errors(fields, code):
    reject("request", b"POST / HTTP/1.1\r\n" + fields + b"\r\n", code)


def test_transfer_encoding_in_http10_request():
    reject("request", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "TRANSFER_ENCODING")


@pytest.mark.parametrize("chunks,code", [
    (b"x\r\n", "CHUNK_SIZE"),
    (b"\r\n", "CHUNK_SIZE"),
    (b"-1\r\n", "CHUNK_SIZE"),
    (b"5 \r\nhello\r\n0\r\n\r\n", "CHUNK_SIZE"),
    (b"5 x\r\nhello\r\n0\r\n\r\n", "CHUNK_SIZE"),
    (b"10\x00\r\n", "CHUNK_SIZE"),
    (b"1000000000000000\r\n", "CHUNK_SIZE_OVERFLOW"),
    (b"fffffffffffffffff\r\n", "CHUNK_SIZE_OVERFLOW"),
    (b"5;\r\nhello\r\n", "CHUNK_EXT"),
    (b"5;a=\r\nhello\r\n", "CHUNK_EXT"),
    (b"5;a b\r\nhello\r\n", "CHUNK_EXT"),
    (b"5;a=\"b\r\nhello\r\n", "CHUNK_EXT"),
    (b"5;a=\"b\x01\"\r\nhello\r\n", "CHUNK_EXT"),
    (b"5;a=b\x00\r\nhello\r\n", "CHUNK_EXT"),
    (b"5;a=\"b\"c\r\nhello\r\n", "CHUNK_EXT"),
    (b"5\r\nhelloX\r\n", "CHUNK_DATA"),
    (b"5\r\nhello\rX", "BARE_CR"),
    (b"5\rX", "BARE_CR"),
    (b"5\r\nhello\r\n0\r\nA: b\x00\r\n\r\n", "HEADER_VALUE"),
    (b"5\r\nhello\r\n0\r\n A: b\r\n\r\n", "OBS_FOLD"),
    (b"5\r\nhello\r\n0\r\n\rX", "BARE_CR"),
])
def test_chunked_errors(chunks, code):
    reject("request",
           b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks, code)


def test_chunk_size_at_limit_is_accepted():
    p = Parser("request")
    p.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7ffffffffffffff\r\nab")
    assert p.pending.body == b"ab"


def test_data_after_close():
    raw = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n"
    err = reject("request", raw, "DATA_AFTER_CLOSE", 37)
    assert [m.target for m in err.messages] == ["/"]
    reject("request", b"GET / HTTP/1.0\r\n\r\n\r\n", "DATA_AFTER_CLOSE", 18)
    reject("response", b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxy",
           "DATA_AFTER_CLOSE")


def test_incomplete_at_eof():
    for raw in (b"GET / HTTP/1.1\r\nHost: a\r\n",
                b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
                b"GET / HTTP/1.1\r\n\r\n\r"):
        err = reject("request", raw, "INCOMPLETE", len(raw))
        assert err.messages == [] or raw.endswith(b"\r")
        assert parse("request", [raw], eof=False) is not None
    assert parse("request", [b""]) == []
    assert parse("request", [b"GET / HTTP/1.1\r\n\r\n\r\n"])[0].target == "/"


# ---- limits: each has its own code and status ----

def test_start_line_limit():
    ok = b"GET /" + b"a" * 20 + b" HTTP/1.1\r\n\r\n"
    assert parse("request", [ok], max_start_line=len(b"GET /") + 20 + 11)
    err = reject("request", ok, "START_LINE_TOO_LONG", max_start_line=len(b"GET /") + 20 + 10)
    assert err.status == 414
    err = reject("response", b"HTTP/1.1 200 " + b"O" * 50 + b"\r\n\r\n", "START_LINE_TOO_LONG",
                 max_start_line=40)
    assert err.status == 400


def test_header_line_limit():
    line = b"X: " + b"v" * 20 + b"\r\n"
    assert parse("request", [req(line)], max_header_line=len(line))
    err = reject("request", req(line), "HEADER_LINE_TOO_LONG", max_header_line=len(line) - 1)
    assert err.status == 431


def test_header_count_limit():
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(5))
    assert len(parse("request", [req(fields)], max_headers=5)[0].headers) == 5
    err = reject("request", req(fields), "TOO_MANY_HEADERS", max_headers=4)
    assert err.status == 431
    reject("request", req(b"A: b\r\n"), "TOO_MANY_HEADERS", max_headers=0)


def test_head_size_limit():
    raw = req(b"A: b\r\n")
    assert parse("request", [raw], max_head=len(raw))
    err = reject("request", raw, "HEAD_TOO_LARGE", max_head=len(raw) - 1)
    assert err.status == 431
    # empty lines before the request-line count too
    reject("request", b"\r\n" * 100 + raw, "HEAD_TOO_LARGE", max_head=len(raw) + 10)


def test_trailer_limits():
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    trailers = b"".join(b"T-%d: v\r\n" % i for i in range(4)) + b"\r\n"
    (m,) = parse("request", [head + trailers], max_headers=4)
    assert len(m.trailers) == 4
    reject("request", head + trailers, "TOO_MANY_HEADERS", max_headers=3)
    reject("request", head + b"T: " + b"v" * 100 + b"\r\n\r\n", "HEADER_LINE_TOO_LONG",
           max_header_line=50)


def test_chunk_line_limit():
    raw = (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"1;" + b"e" * 100 + b"\r\nx\r\n0\r\n\r\n")
    assert parse("request", [raw])[0].body == b"x"
    reject("request", raw, "CHUNK_LINE_TOO_LONG", max_header_line=50)


def test_bad_options():
    with pytest.raises(ValueError):
        Parser("both")
    with pytest.raises(ValueError):
        Parser("request", max_head=0)


# ---- the incremental face ----

def test_parser_errors_are_sticky():
    p = Parser("request")
    assert p.feed(b"GET / HTTP/1.1\r\n\r\n")[0].method == "GET"
    assert p.idle
    with pytest.raises(ParseError) as first:
        p.feed(b"GET / HTTP/1.1\r\nA : b\r\n\r\n")
    assert first.value.code == "WS_BEFORE_COLON" and first.value.offset == 18 + 17
    with pytest.raises(ParseError) as again:
        p.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert again.value is first.value
    with pytest.raises(ParseError):
        p.feed_eof()


def test_parser_messages_before_error_in_one_feed():
    p = Parser("request")
    with pytest.raises(ParseError) as info:
        p.feed(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nBAD\x00")
    assert [m.target for m in info.value.messages] == ["/1", "/2"]


def test_head_split_anywhere_gives_same_spans():
    raw = (b"PATCH /very/long/target?x=1 HTTP/1.1\r\nHost: example.org\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n"
           b"X-Empty:\r\nX-Spaces:    \r\n\r\nhello world")
    (m,) = parse_all_ways("request", raw)
    assert m.headers[-2:] == [(b"X-Empty", b""), (b"X-Spaces", b"")]
    assert m.body == b"hello world"


def outcome(kind, pieces, **options):
    """What parse() makes of the pieces: the messages, or the error's code and offset."""
    try:
        return summary(parse(kind, pieces, **options))
    except ParseError as err:
        return (err.code, err.offset, summary(err.messages))


MUTANT_BYTES = b"\r\n \t:\x00\x7f\x80a/1.H"


@pytest.mark.parametrize("limits", [{}, {"max_start_line": 24, "max_header_line": 18,
                                         "max_headers": 2, "max_head": 90}])
def test_whole_lines_parse_as_bytes_do(limits):
    """A whole line in one buffer takes a fast path; byte by byte never can. Mutants of a
    few heads (a byte replaced, dropped or doubled) must come out the same both ways,
    messages or error code and offset, under default and tight limits."""
    seeds = [
        b"GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-A:  v w  \r\nX-Empty:\r\n\r\n",
        b"\r\nPOST / HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc"
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PUT /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nab\r\n0\r\nT: v\r\n\r\n",
    ]
    rnd = random.Random(7)
    for seed in seeds:
        for _ in range(300):
            raw = bytearray(seed)
            for _ in range(rnd.randint(1, 3)):
                at = rnd.randrange(len(raw))
                how = rnd.randrange(3)
                if how == 0:
                    raw[at] = rnd.choice(MUTANT_BYTES)
                elif how == 1:
                    del raw[at]
                else:
                    raw.insert(at, raw[at])
            raw = bytes(raw)
            whole = outcome("request", [raw], **limits)
            bytewise = outcome("request", [raw[i:i + 1] for i in range(len(raw))], **limits)
            assert whole == bytewise, raw


@pytest.mark.parametrize("limit", ["max_start_line", "max_header_line", "max_head"])
def test_whole_lines_meet_limits_where_bytes_do(limit):
    """Each limit swept across the lengths of the lines: the fast path stops exactly
    where the byte-by-byte way does."""
    raw = b"GET /abc HTTP/1.1\r\nHost: h\r\nX-Long-Name: a longer value\r\n\r\n"
    for value in range(1, len(raw) + 2):
        whole = outcome("request", [raw], **{limit: value})
        bytewise = outcome("request", [raw[i:i + 1] for i in range(len(raw))], **{limit: value})
        assert whole == bytewise, value

"""sourcey.http.Client against broken and hostile servers: every bad response becomes a
typed error (never a silently wrong body) and its connection is thrown away."""

from __future__ import annotations

import pytest
from clientlib import RawServer, fetch, finish, reply_once

from sourcey.http import (
    Client,
    ConnectionClosedError,
    ParseError,
    ResponseTooLargeError,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


def fails(loop, runner, response, close=False, **options):
    """The error a client gets for ``response``; checks the connection was dropped."""
    raw = RawServer(loop, reply_once(response, close))
    client = Client(loop, **options)
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/")
    assert resp is None and err is not None
    assert client.connections == 0
    finish(loop, runner, client, raw)
    return err


@pytest.mark.parametrize("response,code", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", "CL_AND_TE"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
     "CONTENT_LENGTH_CONFLICT"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 3,4\r\n\r\nabcd", "CONTENT_LENGTH"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "CONTENT_LENGTH"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
     "CONTENT_LENGTH_OVERFLOW"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "CHUNK_SIZE"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"fffffffffffffffffff\r\n", "CHUNK_SIZE_OVERFLOW"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "CHUNK_DATA"),
    (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", "OBS_FOLD"),
    (b"HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n", "WS_BEFORE_COLON"),
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "BARE_LF"),
    (b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "BARE_CR"),
    (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n", "HEADER_VALUE"),
    (b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "VERSION_UNSUPPORTED"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "STATUS"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "VERSION"),
])
def test_malformed_and_smuggling_shaped_responses(loop, runner, response, code):
    err = fails(loop, runner, response)
    assert isinstance(err, ParseError) and err.code == code


def test_truncated_body(loop, runner):
    err = fails(loop, runner, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close=True)
    assert isinstance(err, ParseError) and err.code == "INCOMPLETE"


def test_truncated_chunked_body(loop, runner):
    err = fails(loop, runner, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nabc", close=True)
    assert isinstance(err, ParseError) and err.code == "INCOMPLETE"


def test_truncated_head(loop, runner):
    err = fails(loop, runner, b"HTTP/1.1 200 OK\r\nContent-Le", close=True)
    assert isinstance(err, ParseError) and err.code == "INCOMPLETE"


def test_closed_before_any_response(loop, runner):
    err = fails(loop, runner, b"", close=True)
    assert isinstance(err, ConnectionClosedError) and isinstance(err, ConnectionError)


def test_body_delimited_by_the_close_is_accepted(loop, runner):
    raw = RawServer(loop, reply_once(b"HTTP/1.1 200 OK\r\n\r\nall of it", close=True))
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/")
    assert err is None and resp.body == b"all of it"
    finish(loop, runner, client, raw)


@pytest.mark.parametrize("options,response,code", [
    ({"max_header_line": 1024}, b"HTTP/1.1 200 OK\r\nX: " + b"a" * 2000 + b"\r\n\r\n",
     "HEADER_LINE_TOO_LONG"),
    ({"max_head": 1024}, b"HTTP/1.1 200 OK\r\n" + b"X: aaaaaaaa\r\n" * 100 + b"\r\n",
     "HEAD_TOO_LARGE"),
    ({"max_headers": 10}, b"HTTP/1.1 200 OK\r\n" + b"X: a\r\n" * 11 + b"\r\n",
     "TOO_MANY_HEADERS"),
    ({"max_start_line": 100}, b"HTTP/1.1 200 " + b"O" * 200 + b"\r\n\r\n",
     "START_LINE_TOO_LONG"),
])
def test_oversized_heads(loop, runner, options, response, code):
    err = fails(loop, runner, response, **options)
    assert isinstance(err, ParseError) and err.code == code


def test_declared_body_over_max_body_fails_before_it_arrives(loop, runner):
    err = fails(loop, runner, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n",
                max_body=1000)
    assert isinstance(err, ResponseTooLargeError)


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"100\r\n" + b"x" * 256 + b"\r\n" + b"100\r\n" + b"y" * 256 + b"\r\n",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"z" * 2000,
    b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n" + b"z" * 1001,
])
def test_growing_body_over_max_body(loop, runner, response):
    err = fails(loop, runner, response, max_body=300)
    assert isinstance(err, ResponseTooLargeError)


def test_interim_responses_are_skipped(loop, runner):
    raw = RawServer(loop, reply_once(b"HTTP/1.1 100 Continue\r\n\r\n"
                                     b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK))
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/")
    assert err is None and resp.status == 200 and resp.body == b"ok"
    assert client.idle_connections == 1
    finish(loop, runner, client, raw)


@pytest.mark.parametrize("stream", [False, True])
def test_trailers(loop, runner, stream):
    raw = RawServer(loop, reply_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                     b"Trailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\n"
                                     b"X-Sum: 42\r\n\r\n"))
    client = Client(loop)
    chunks = []
    options = {"on_data": lambda r, c: chunks.append(c)} if stream else {}
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/", **options)
    assert err is None and resp.trailers == [(b"X-Sum", b"42")]
    assert (b"".join(chunks) if stream else resp.body) == b"abc"
    finish(loop, runner, client, raw)


def test_unsolicited_second_response_drops_the_connection(loop, runner):
    # One request, two responses in one write: the first is the answer, the second
    # must not be taken as the answer to the next request.
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsmuggl"
    raw = RawServer(loop, reply_once(OK + second))
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/")
    assert err is None and resp.body == b"ok"
    assert client.connections == 0
    resp, err = fetch(loop, runner, client, "GET", raw.url + "/")
    assert err is None and resp.body == b"ok" and len(raw.conns) == 2
    finish(loop, runner, client, raw)


def test_bytes_on_an_idle_connection_drop_it(loop, runner):
    raw = RawServer(loop, reply_once(OK))
    client = Client(loop)
    assert fetch(loop, runner, client, "GET", raw.url + "/")[1] is None
    raw.conns[0].write(OK)                  # unasked for
    runner.until(loop, lambda: client.connections == 0)
    finish(loop, runner, client, raw)


def test_connection_close_response_is_not_reused(loop, runner):
    raw = RawServer(loop, reply_once(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                                     b"Content-Length: 2\r\n\r\nok"))
    client = Client(loop)
    assert fetch(loop, runner, client, "GET", raw.url + "/")[0].body == b"ok"
    assert client.connections == 0
    assert fetch(loop, runner, client, "GET", raw.url + "/")[0].body == b"ok"
    assert len(raw.conns) == 2
    finish(loop, runner, client, raw)


def test_http10_response_is_not_reused(loop, runner):
    raw = RawServer(loop, reply_once(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    client = Client(loop)
    assert fetch(loop, runner, client, "GET", raw.url + "/")[0].body == b"ok"
    assert client.connections == 0
    finish(loop, runner, client, raw)

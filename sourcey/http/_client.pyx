# sourcey.http._client: an HTTP/1.1 client over sourcey.uv.TCP and the C parser.
#
# Each connection is a TCP subclass whose read hook hands libuv's read buffer straight to
# Parser.feed_ptr (no bytes object per read on plain HTTP); TLS runs on ssl.MemoryBIO
# inside the same hook. A connection carries one request at a time (no pipelining: a
# response that fails would take the requests queued behind it down with it). Idle
# connections wait in a pool per (scheme, host, port), unreferenced so that they do not
# keep the loop alive.
#
# Timeouts: each connection keeps one deadline (loop time, ms) for the phase it is in
# (connecting, waiting for response bytes, idle in the pool); one repeating Timer per
# Client walks the connections and enforces them (Client._tick), as the server does.

import ipaddress
import re
import socket
import ssl
from collections import deque
from urllib.parse import urljoin, urlsplit

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE

from sourcey.http._parser cimport H1_BODY_EOF, H1_BODY_LENGTH, H1_F_SKIP_BODY, Parser
from sourcey.uv cimport libuv
from sourcey.uv._core cimport TCP, Loop

from sourcey import uv
from sourcey.http._parser import ParseError
from sourcey.net.errors import error_from_code


class ClientError(Exception):
    """Base of the errors the client reports (besides ParseError, OSError, ssl.SSLError)."""


class ConnectTimeoutError(ClientError, TimeoutError):
    """Name resolution, the TCP connect and the TLS handshake took longer than
    ``connect_timeout``."""


class ReadTimeoutError(ClientError, TimeoutError):
    """No byte of the response arrived for ``read_timeout`` seconds."""


class ConnectionClosedError(ClientError, ConnectionError):
    """The server closed the connection before the response was complete."""


class ResponseTooLargeError(ClientError):
    """The response body is longer than ``max_body``."""


class TooManyRedirectsError(ClientError):
    """More than ``max_redirects`` redirects were followed; ``response`` is the last."""

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class ClientClosedError(ClientError):
    """The client was closed while the request was in flight."""


_DEFAULT_PORTS = {"http": 80, "https": 443}
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_WANTS_BODY = frozenset({"POST", "PUT", "PATCH"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")
_HIGH_WATER = 256 * 1024   # a chunked upload waits for the socket beyond this much queued
_MAX_CACHED_URLS = 256

_WantRead = ssl.SSLWantReadError
_ZeroReturn = ssl.SSLZeroReturnError
_SSLError = ssl.SSLError

# A connection's state, which decides its deadline.
cdef enum:
    _S_CONNECTING = 0   # resolving, connecting, handshaking: connect_timeout
    _S_BUSY = 1         # a request is out: read_timeout, renewed by every read
    _S_IDLE = 2         # in the pool: idle_timeout
    _S_CLOSED = 3


def _no_read_callback(handle, data, error):   # reads go through _Conn._on_read
    pass


cdef class ClientResponse:
    """A response: ``status`` (int), ``reason`` (str), ``version`` (``"1.0"``/``"1.1"``),
    ``headers`` (case-insensitive :class:`Headers`, values decoded as Latin-1),
    ``raw_headers`` (the ``(name, value)`` bytes pairs as received), ``body`` (bytes;
    empty when it was streamed to ``on_data``), ``url`` (the URL it answers, after any
    redirects) and ``history`` (the redirect responses that led here, oldest first)."""

    cdef readonly int status
    cdef readonly str reason
    cdef readonly str version
    cdef readonly list raw_headers
    cdef readonly bytes body
    cdef readonly str url
    cdef readonly list history
    cdef object _headers

    @property
    def headers(self):
        if self._headers is None:
            from sourcey.http import Headers
            self._headers = Headers([(n.decode("latin-1"), v.decode("latin-1"))
                                     for n, v in self.raw_headers])
        return self._headers

    def __repr__(self):
        return f"<ClientResponse {self.status} {self.reason!r} {len(self.body)}B {self.url}>"


cdef ClientResponse _response(msg, str url, list history):
    cdef ClientResponse r = ClientResponse.__new__(ClientResponse)
    r.status = msg.status
    r.reason = msg.reason.decode("latin-1")
    r.version = msg.version
    r.raw_headers = msg.headers
    r.body = msg.body
    r.url = url
    r.history = history
    return r


cdef class _Target:
    """A parsed URL: where to connect and what to ask for."""
    cdef str url
    cdef bint tls
    cdef str host            # for connect, SNI and certificate checks (IPv6 unbracketed)
    cdef int port
    cdef tuple key           # the pool key
    cdef str target          # request-target (origin-form)
    cdef str authority       # the Host header
    cdef bint literal        # host is an IP address: no name resolution
    cdef dict heads          # method -> the whole head of a bodiless request, no headers


cdef _Target _parse_url(str url):
    cdef _Target t = _Target.__new__(_Target)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} in {url!r} "
                         f"(http and https only)")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"credentials in the URL are not supported: {url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in URL {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in URL {url!r}: {exc}") from None
    default = _DEFAULT_PORTS[scheme]
    t.url = url
    t.tls = scheme == "https"
    t.host = host
    t.port = default if port is None else port
    try:
        ipaddress.ip_address(host)
        t.literal = True
    except ValueError:
        t.literal = False
    shown = f"[{host}]" if ":" in host else host
    t.authority = shown if t.port == default else f"{shown}:{t.port}"
    if _BAD_TARGET.search(t.authority):
        raise ValueError(f"invalid character in the host of {url!r}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if _BAD_TARGET.search(target):
        raise ValueError(f"invalid character in the path or query of {url!r} "
                         f"(percent-encode it)")
    t.target = target
    t.key = (scheme, host, t.port)
    t.heads = {}
    return t


cdef list _header_list(headers):
    """The caller's headers as validated (name, value) str pairs."""
    cdef list out = []
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        name = str(name)
        value = str(value)
        if not _TOKEN.match(name):
            raise ValueError(f"invalid header name {name!r}")
        if _BAD_VALUE.search(value):
            raise ValueError(f"invalid character in the value of header {name!r}")
        if name.lower() in _FRAMING:
            raise ValueError(f"{name} is set by the client from the body")
        out.append((name, value))
    return out


cdef class _Request:
    """One request on its way: the parts to send and what to call at the end."""
    cdef str method
    cdef _Target t
    cdef list headers        # validated pairs, or None
    cdef object body         # bytes, or an iterator of bytes-like pieces (chunked), or None
    cdef bint chunked
    cdef bytes head
    cdef object callback
    cdef object on_data
    cdef bint close          # the caller sent "Connection: close": the connection goes
    cdef bint retried
    cdef list history
    cdef ClientResponse streamed   # with on_data: the response whose body is streaming

    cdef int build(self) except -1:
        """Make the head (and keep a bytes body ready to follow it)."""
        cdef _Target t = self.t
        cdef list parts
        body = self.body
        if self.headers is None and body is None:
            head = t.heads.get(self.method)
            if head is None:
                extra = "Content-Length: 0\r\n" if self.method in _WANTS_BODY else ""
                head = (f"{self.method} {t.target} HTTP/1.1\r\nHost: {t.authority}\r\n"
                        f"{extra}\r\n").encode("latin-1")
                t.heads[self.method] = head
            self.head = head
            return 0
        parts = [f"{self.method} {t.target} HTTP/1.1\r\n"]
        has_host = False
        if self.headers is not None:
            for name, value in self.headers:
                low = name.lower()
                if low == "host":
                    has_host = True
                elif low == "connection" and "close" in value.lower():
                    self.close = True
                parts.append(f"{name}: {value}\r\n")
        if not has_host:
            parts.insert(1, f"Host: {t.authority}\r\n")
        if self.chunked:
            parts.append("Transfer-Encoding: chunked\r\n")
        elif body is not None:
            parts.append(f"Content-Length: {len(body)}\r\n")
        elif self.method in _WANTS_BODY:
            parts.append("Content-Length: 0\r\n")
        parts.append("\r\n")
        try:
            self.head = "".join(parts).encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError("header names and values must be Latin-1 (encode them)") from None
        return 0


cdef class _Pool:
    """The connections to one (scheme, host, port)."""
    cdef tuple key
    cdef list idle           # _Conn, most recently used last
    cdef int count           # connections open or opening
    cdef object waiting      # deque of _Request


cdef class Client


cdef class _Conn(TCP):
    """One client connection: reads go to the parser in C (``_on_read``)."""

    cdef Client client
    cdef _Pool pool
    cdef Parser parser
    cdef _Request req        # the request in flight, or None
    cdef int state
    cdef double deadline     # loop time (ms) when the state times out; 0: never
    cdef int served          # responses received whole on this connection
    cdef bint got_bytes      # a byte of the current response arrived
    cdef bint unrefd         # idle in the pool: does not keep the loop alive
    cdef bint sending        # a chunked body is still being sent
    cdef object body_iter
    cdef list candidates     # addresses still to try
    cdef object sslobj       # TLS: ssl.SSLObject over the two BIOs, or None
    cdef object bio_in
    cdef object bio_out
    cdef bint handshaked
    cdef bint tls_eof        # the server's close_notify arrived
    cdef object body_list    # the parser's body pieces, counted so far (max_body):
    cdef Py_ssize_t body_count
    cdef Py_ssize_t body_len

    # -- connecting -------------------------------------------------------------------

    cdef int _open(self, Client client, _Pool pool, _Request req, list candidates) except -1:
        cdef _Target t = req.t
        self.client = client
        self.pool = pool
        self.req = req
        self.state = _S_CONNECTING
        self.parser = Parser("response", **client._limits)
        if client._connect_ms > 0:
            self.deadline = self.loop.now() + client._connect_ms
        client._track(self)
        if candidates is not None:
            self.candidates = candidates
            self._connect_next()
        elif t.literal:
            self.candidates = [(t.host, t.port)]
            self._connect_next()
        else:
            uv.dns.getaddrinfo(self.loop, t.host, t.port, socktype=socket.SOCK_STREAM,
                               callback=self._resolved)
        return 0

    def _resolved(self, result, error):
        if self.state != _S_CONNECTING or self.closed:
            return
        if error is not None or not result:
            self._fail(error_from_code(error) if error is not None else
                       OSError(f"no address for {self.req.t.host!r}"), False)
            return
        self.candidates = [r.sockaddr[:2] for r in result]
        self._connect_next()

    def _connect_next(self):
        address = self.candidates.pop(0)
        try:
            self.connect(address, _on_connected)
        except uv.error.UVError as exc:
            self._connect_failed(error_from_code(exc.args[0]))

    cdef int _connect_failed(self, exc) except -1:
        cdef _Conn other
        if self.candidates and self.req is not None:
            # The next address the name resolved to, on a fresh handle.
            other = _Conn(self.loop)
            other._open(self.client, self.pool, self.req, self.candidates)
            other.deadline = self.deadline
            self.pool.count += 1
            self.req = None
            self._close()
        else:
            self._fail(exc, True)
        return 0

    cdef int _connected(self, error) except -1:
        if self.state != _S_CONNECTING or self.closed:
            return 0
        if error is not None:
            self._connect_failed(error_from_code(error))
            return 0
        try:
            self.nodelay(True)
            self.start_read(_no_read_callback)
        except uv.error.UVError as exc:
            self._connect_failed(error_from_code(exc.args[0]))
            return 0
        if self.req.t.tls:
            self.bio_in = ssl.MemoryBIO()
            self.bio_out = ssl.MemoryBIO()
            self.sslobj = self.client._ssl_context().wrap_bio(
                self.bio_in, self.bio_out, server_side=False,
                server_hostname=self.req.t.host)
            self._handshake()
        else:
            self._ready()
        return 0

    cdef int _handshake(self) except -1:
        try:
            self.sslobj.do_handshake()
        except _WantRead:
            self._tls_flush()
            return 0
        except _SSLError as exc:
            self._tls_flush()
            self._fail(exc, False)
            return 0
        self.handshaked = True
        self._tls_flush()
        self._ready()
        if self.bio_in.pending and not self.closed:
            self._tls_read()
        return 0

    cdef int _ready(self) except -1:
        req = self.req
        self.req = None
        if req is None:
            self._idle()
        else:
            self._send(req)
        return 0

    # -- sending ------------------------------------------------------------------------

    cdef int _send(self, _Request req) except -1:
        """Put ``req`` on this (connected, idle) connection."""
        self.req = req
        self.state = _S_BUSY
        self.got_bytes = False
        if self.unrefd:
            self.unrefd = False
            self.ref = True
        if req.method == "HEAD":
            self.parser._p.flags |= H1_F_SKIP_BODY
        else:
            self.parser._p.flags &= ~H1_F_SKIP_BODY
        self.deadline = self.loop.now() + self.client._read_ms if self.client._read_ms > 0 \
            else 0.0
        self.body_list = None
        body = req.body
        try:
            if req.chunked:
                self._out(req.head)
                self.sending = True
                self.body_iter = iter(body)
                self._pump()
            elif body is None:
                self._out(req.head)
            elif len(body) < 16384:
                self._out(req.head + body)
            else:
                self._out([req.head, body], self._sent)
        except uv.error.UVError as exc:
            self._lost(error_from_code(exc.args[0]))
        return 0

    cdef int _out(self, data, callback=None) except -1:
        """Send ``data`` (bytes, or a list of bytes-like pieces), encrypted under TLS;
        ``callback(handle, error)`` once it is written."""
        cdef bytes rest
        if self.sslobj is None:
            if callback is not None:
                self._write(data, callback, None)
            elif type(data) is bytes:
                rest = data
                data = self._write_now(rest)
                if data is not None:
                    self._write(data, None, None, True)
            else:
                self._write(data, None, None)
            return 0
        if type(data) is bytes:
            self.sslobj.write(data)
        else:
            for piece in data:
                if len(piece):
                    self.sslobj.write(piece)
        self._tls_flush(callback)
        return 0

    cdef int _tls_flush(self, callback=None) except -1:
        data = self.bio_out.read()
        if data and not self.closed:
            self._write(data, callback, None)
        return 0

    def _sent(self, handle, error):
        """A large body went out: the wait for the response starts now."""
        if error is None and self.state == _S_BUSY and self.client._read_ms > 0:
            self.deadline = self.loop.now() + self.client._read_ms

    def _pump(self, handle=None, error=None):
        """Send the chunked body's pieces while the write queue is short; past
        _HIGH_WATER, continue from the write callback."""
        cdef size_t n
        if not self.sending or self.closed:
            return
        if error is not None:
            self._lost(error_from_code(error))
            return
        if self.client._read_ms > 0:        # the upload moves: no read timeout yet
            self.deadline = self.loop.now() + self.client._read_ms
        try:
            while True:
                piece = next(self.body_iter, None)
                if piece is None:
                    self.sending = False
                    self.body_iter = None
                    self._out(b"0\r\n\r\n")
                    return
                n = memoryview(piece).nbytes
                if n == 0:
                    continue
                self._out([b"%x\r\n" % n, piece, b"\r\n"])
                if self._queued() >= _HIGH_WATER:
                    # An empty write completes after the rest: resume from there.
                    self._write(b"", self._pump, None)
                    return
        except uv.error.UVError as exc:
            self.sending = False
            self._lost(error_from_code(exc.args[0]))
        except Exception as exc:
            # The body iterator failed: the request cannot be completed on the wire.
            self.sending = False
            self._fail(exc, False)

    # -- receiving ----------------------------------------------------------------------

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        try:
            if nread < 0:
                self._ended(nread)
            elif self.sslobj is None:
                self._feed(data, <size_t>nread)
            else:
                self.bio_in.write(PyBytes_FromStringAndSize(data, nread))
                if self.handshaked:
                    self._tls_read()
                else:
                    self._handshake()
        except Exception as exc:
            self._fail(exc, False)
        except BaseException as exc:
            self.loop._handle_exception(exc)

    cdef int _tls_read(self) except -1:
        cdef bytes piece
        read = self.sslobj.read
        while not self.closed:
            try:
                piece = read(65536)
            except _WantRead:
                break
            except _ZeroReturn:
                self.tls_eof = True
                break
            except _SSLError as exc:
                self._fail(exc, False)
                return 0
            if not piece:
                self.tls_eof = True
                break
            self._feed(PyBytes_AS_STRING(piece), <size_t>PyBytes_GET_SIZE(piece))
        if self.bio_out.pending and not self.closed:
            self._tls_flush()       # a key update or session ticket to answer
        return 0

    cdef int _feed(self, const char* data, size_t n) except -1:
        cdef list out = []
        cdef _Request req = self.req
        if req is None:
            # Bytes while idle: the server answered nothing we asked for.
            self._close()
            return 0
        self.got_bytes = True
        try:
            self.parser.feed_ptr(data, n, out)
        except ParseError as err:
            if err.messages:
                self._messages(err.messages, True)
            if self.req is not None:
                self._fail(err, False)
            else:
                self._close()
            return 0
        if out:
            self._messages(out, False)
        elif self.client._read_ms > 0:
            self.deadline = self.loop.now() + self.client._read_ms
        if self.req is not None and self.parser._cur is not None:
            self._partial()
        return 0

    cdef int _partial(self) except -1:
        """The head is in, the body is arriving: stream it, or check it against max_body."""
        cdef _Request req = self.req
        cdef list pieces
        cur = self.parser._cur
        if req.on_data is not None and not (self.client.follow_redirects
                                            and cur.status in _REDIRECTS):
            if req.streamed is None:
                req.streamed = _response(cur, req.t.url, req.history)
            pieces = self.parser._body
            if pieces:
                self.parser._body = []
                for piece in pieces:
                    self.client._call_data(req, req.streamed, piece)
                    if self.req is not req:
                        return 0
            return 0
        if self._too_large():
            self._fail(ResponseTooLargeError(
                f"the response body is larger than max_body ({self.client.max_body} bytes)"),
                False)
        return 0

    cdef bint _too_large(self):
        cdef Py_ssize_t i, n
        cdef long long limit = self.client._max_body
        if limit < 0:
            return False
        if self.parser._p.body == H1_BODY_LENGTH and self.parser._p.content_length > limit:
            return True
        body = self.parser._body
        if body is not self.body_list:
            self.body_list = body
            self.body_count = 0
            self.body_len = 0
        n = len(body)
        for i in range(self.body_count, n):
            self.body_len += len(body[i])
        self.body_count = n
        return self.body_len > limit

    cdef int _messages(self, list out, bint failed) except -1:
        cdef _Request req = self.req
        cdef bint reuse
        final = None
        for m in out:
            if final is not None or req is None:
                # A second response to one request: the stream cannot be trusted.
                failed = True
                break
            if m.status < 200 and m.status != 101:
                continue                    # interim (100 Continue, 103 Early Hints)
            final = m
        if final is None:
            if failed and self.req is not None:
                return 0                    # the caller reports the error
            if failed:
                self._close()
            return 0
        if req.on_data is None and self.client._max_body >= 0 \
                and len(final.body) > self.client._max_body:
            self._fail(ResponseTooLargeError(
                f"the response body is larger than max_body ({self.client.max_body} bytes)"),
                False)
            return 0
        self.req = None
        self.served += 1
        reuse = (final.keep_alive and not final.upgrade and not req.close and not failed
                 and not self.sending and self.parser.idle and not self.tls_eof)
        self.sending = False
        self.body_iter = None
        if reuse:
            self.client._release(self)
        else:
            self._close()
        self.client._completed(req, final)
        return 0

    cdef int _ended(self, ssize_t nread) except -1:
        """EOF or a read error."""
        cdef _Request req = self.req
        if req is None or self.state != _S_BUSY:
            if req is None:
                self._close()
            else:
                self._fail(error_from_code(nread) if nread != libuv.UV_EOF else
                           ConnectionClosedError("the server closed the connection "
                                                 "during the TLS handshake"), False)
            return 0
        if nread != libuv.UV_EOF:
            self._lost(error_from_code(nread))
            return 0
        if self.parser._cur is not None and self.parser._p.body == H1_BODY_EOF \
                and self.sslobj is not None and not self.tls_eof:
            self._fail(ConnectionClosedError(
                "the server closed the TLS connection without close_notify: the body "
                "(delimited by the close) may be truncated"), False)
            return 0
        try:
            out = self.parser.feed_eof()
        except ParseError as err:
            self._fail(err, False)
            return 0
        if out:
            self._messages(out, False)
        if self.req is not None:
            self._lost(ConnectionClosedError(
                "the server closed the connection before the response"))
        return 0

    # -- ending -------------------------------------------------------------------------

    cdef int _lost(self, exc) except -1:
        """The connection broke. A request sent again on a fresh connection if it went
        out on a reused one, nothing of the response came back, and it may be repeated
        (RFC 9112 §9.3.1); otherwise it fails with ``exc``."""
        cdef _Request req = self.req
        if req is not None and self.served > 0 and not self.got_bytes and not req.retried \
                and req.method in _IDEMPOTENT and not req.chunked:
            self.req = None
            req.retried = True
            self._close()
            self.client._submit(req, True)
            return 0
        self._fail(exc, True)
        return 0

    cdef int _fail(self, exc, bint later) except -1:
        """Close the connection; its request (if any) fails with ``exc``."""
        cdef _Request req = self.req
        self.req = None
        self.sending = False
        self.body_iter = None
        self._close()
        if req is not None:
            if later:
                self.client._defer(req, exc)
            else:
                self.client._finish(req, None, exc)
        return 0

    cdef int _expire(self) except -1:
        """The deadline passed (called by Client._tick)."""
        self.deadline = 0.0
        if self.state == _S_CONNECTING:
            self._fail(ConnectTimeoutError(
                f"connecting to {self.pool.key[1]}:{self.pool.key[2]} took longer than "
                f"{self.client.connect_timeout} s"), False)
        elif self.state == _S_BUSY:
            self._fail(ReadTimeoutError(
                f"no response data from {self.pool.key[1]}:{self.pool.key[2]} for "
                f"{self.client.read_timeout} s"), False)
        else:
            self._close()
        return 0

    cdef int _idle(self) except -1:
        self.state = _S_IDLE
        self.deadline = self.loop.now() + self.client._idle_ms \
            if self.client._idle_ms > 0 else 0.0
        if not self.unrefd:
            self.unrefd = True
            self.ref = False
        return 0

    cdef int _close(self) except -1:
        if self.state == _S_CLOSED:
            return 0
        self.state = _S_CLOSED
        self.deadline = 0.0
        self.client._forget(self)
        if not self.closed:
            self.close()
        return 0


def _on_connected(_Conn conn, error):
    conn._connected(error)


cdef class Client:
    """An HTTP/1.1 client: ``Client(loop=None, **options)``, then ``request(...)``.

    ``request(method, url, headers=None, body=None, *, callback, on_data=None)`` sends
    a request and calls ``callback(response, error)`` once: a :class:`ClientResponse`
    and None, or None and an exception. Connections are kept alive and reused, up to
    ``max_per_host`` per (scheme, host, port); requests beyond wait their turn.

    ``body``: None, a bytes-like object (sent with Content-Length), or an iterable of
    bytes-like pieces (sent chunked, pieces taken as the socket accepts them).
    ``headers``: a mapping or ``(name, value)`` pairs; Host is added unless given, and
    Content-Length/Transfer-Encoding are the client's own. ``on_data(response, chunk)``
    streams the body instead of keeping it: it gets the response (head only) and each
    piece as it arrives; ``callback`` then gets the response with an empty body.

    Options:

    - ``max_per_host`` (10): connections per (scheme, host, port).
    - ``connect_timeout`` (10 s): name resolution, connect and TLS handshake
      (ConnectTimeoutError).
    - ``read_timeout`` (30 s): the longest wait for the next byte of a response once the
      request is sent, and for a chunked upload to make progress (ReadTimeoutError).
    - ``idle_timeout`` (15 s): a pooled connection unused this long is closed.
    - ``ssl_context``: for https; default ``ssl.create_default_context()``, which
      verifies the certificate and the host name (sent as SNI).
    - ``follow_redirects`` (False), ``max_redirects`` (10): follow 301, 302, 303, 307
      and 308 (RFC 9110 §15.4): 303 turns any method but HEAD into a bodiless GET, as do
      301 and 302 for POST; 307 and 308 repeat the method and body (a streamed body
      cannot be repeated: that response is returned as it is). Authorization and Cookie
      are dropped when the origin changes.
    - ``max_body`` (64 MiB; None: no limit): a longer buffered body fails with
      ResponseTooLargeError. ``max_head``, ``max_headers``, ``max_start_line``,
      ``max_header_line``: the parser's limits on the response head (ParseError).

    Errors: OSError subclasses from the network (ConnectionRefusedError,
    socket.gaierror...), ssl.SSLError (ssl.SSLCertVerificationError) for TLS,
    ConnectTimeoutError and ReadTimeoutError (both TimeoutError), ParseError for a
    malformed or smuggling-shaped response and for a body cut short (code
    ``"INCOMPLETE"``), ConnectionClosedError when the server closes before answering,
    ResponseTooLargeError, TooManyRedirectsError, ClientClosedError. A connection that
    saw an error is closed, never reused. An idempotent request that went out on a
    reused connection the server had closed is sent again once, on a new connection.

    Timeouts are enforced by one repeating timer per client while it has connections: a
    deadline fires up to one tick late, a tick being a quarter of the smallest timeout,
    at least 0.05 s and at most 1 s. Idle pooled connections and that timer do not keep
    the loop alive. ``close()`` closes every connection; requests still in flight fail
    with ClientClosedError (their callbacks run from ``close()``).
    """

    cdef readonly Loop loop
    cdef readonly int max_per_host
    cdef readonly object connect_timeout
    cdef readonly object read_timeout
    cdef readonly object idle_timeout
    cdef readonly object max_body
    cdef readonly bint follow_redirects
    cdef readonly int max_redirects
    cdef readonly object ssl_context
    cdef double _connect_ms
    cdef double _read_ms
    cdef double _idle_ms
    cdef long long _max_body
    cdef dict _limits
    cdef dict _pools
    cdef dict _urls
    cdef set _conns          # every connection not yet closed
    cdef object _ticker
    cdef double _tick_interval
    cdef object _later       # a zero Timer delivering deferred failures
    cdef list _deferred
    cdef bint _closing

    def __init__(self, Loop loop=None, *, int max_per_host=10, connect_timeout=10.0,
                 read_timeout=30.0, idle_timeout=15.0, ssl_context=None,
                 bint follow_redirects=False, int max_redirects=10, max_body=64 << 20,
                 int max_head=32768, int max_headers=100, int max_start_line=8190,
                 int max_header_line=8190):
        if max_per_host < 1:
            raise ValueError("max_per_host must be at least 1")
        if max_redirects < 0:
            raise ValueError("max_redirects must be >= 0")
        if max_body is not None and not 0 <= max_body < 1 << 62:
            raise ValueError("max_body must be >= 0 (and below 2**62) or None")
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise TypeError("ssl_context must be an ssl.SSLContext")
        timeouts = []
        for name, value in (("connect_timeout", connect_timeout),
                            ("read_timeout", read_timeout), ("idle_timeout", idle_timeout)):
            if value is not None:
                if not value > 0:
                    raise ValueError(f"{name} must be positive or None")
                timeouts.append(float(value))
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.max_per_host = max_per_host
        self.connect_timeout = None if connect_timeout is None else float(connect_timeout)
        self.read_timeout = None if read_timeout is None else float(read_timeout)
        self.idle_timeout = None if idle_timeout is None else float(idle_timeout)
        self._connect_ms = -1.0 if connect_timeout is None else connect_timeout * 1e3
        self._read_ms = -1.0 if read_timeout is None else read_timeout * 1e3
        self._idle_ms = -1.0 if idle_timeout is None else idle_timeout * 1e3
        self.max_body = None if max_body is None else int(max_body)
        self._max_body = -1 if max_body is None else int(max_body)
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.ssl_context = ssl_context
        self._limits = {"max_start_line": max_start_line, "max_header_line": max_header_line,
                        "max_headers": max_headers, "max_head": max_head}
        Parser("response", **self._limits)          # checks the limits now
        self._tick_interval = min(1.0, max(0.05, min(timeouts, default=4.0) / 4))
        self._pools = {}
        self._urls = {}
        self._conns = set()
        self._deferred = []

    def request(self, str method, str url, headers=None, body=None, *, callback,
                on_data=None):
        """Send a request; ``callback(response, error)`` runs once when it is done.

        Raises at once (ValueError, TypeError) for a bad method, URL, header or body,
        and RuntimeError once the client is closed; everything later goes to the
        callback."""
        cdef _Request req = _Request.__new__(_Request)
        cdef _Target t
        if self._closing:
            raise RuntimeError("the client is closed")
        if not callable(callback):
            raise TypeError("callback must be callable")
        if on_data is not None and not callable(on_data):
            raise TypeError("on_data must be callable or None")
        t = self._urls.get(url)
        if t is None:
            t = _parse_url(url)
            if len(self._urls) >= _MAX_CACHED_URLS:
                self._urls.clear()
            self._urls[url] = t
        if method not in _IDEMPOTENT and method not in _WANTS_BODY:
            if not _TOKEN.match(method):
                raise ValueError(f"invalid method {method!r}")
            if method.upper() == "CONNECT":
                raise ValueError("CONNECT is not supported (no proxies)")
        req.method = method
        req.t = t
        req.callback = callback
        req.on_data = on_data
        req.history = []
        if headers is not None:
            req.headers = _header_list(headers)
        if body is not None:
            if isinstance(body, (bytes, bytearray, memoryview)):
                req.body = bytes(body)
            elif isinstance(body, str):
                raise TypeError("body must be bytes-like or an iterable of bytes, not str")
            else:
                try:
                    req.body = iter(body)
                except TypeError:
                    raise TypeError(f"body must be bytes-like or an iterable of bytes, not "
                                    f"{type(body).__name__}") from None
                req.chunked = True
        req.build()
        self._submit(req, False)

    cdef int _submit(self, _Request req, bint fresh) except -1:
        """Give ``req`` an idle connection, a new one, or a place in the queue."""
        cdef _Pool pool = self._pools.get(req.t.key)
        cdef _Conn conn
        if pool is None:
            pool = _Pool.__new__(_Pool)
            pool.key = req.t.key
            pool.idle = []
            pool.waiting = deque()
            self._pools[pool.key] = pool
        while pool.idle and not fresh:
            conn = pool.idle.pop()
            if not conn.closed and conn.state == _S_IDLE:
                conn._send(req)
                return 0
        if pool.count < self.max_per_host:
            self._connect(pool, req)
        elif fresh and pool.idle:
            # No room for a new connection: the retry takes the freshest idle one.
            conn = pool.idle.pop()
            conn._send(req)
        else:
            pool.waiting.append(req)
        return 0

    cdef int _connect(self, _Pool pool, _Request req) except -1:
        cdef _Conn conn = _Conn(self.loop)
        pool.count += 1
        conn._open(self, pool, req, None)
        return 0

    cdef int _release(self, _Conn conn) except -1:
        """A connection finished its request and may carry another."""
        cdef _Pool pool = conn.pool
        if pool.waiting:
            conn._send(pool.waiting.popleft())
        else:
            conn._idle()
            pool.idle.append(conn)
        return 0

    cdef int _track(self, _Conn conn) except -1:
        self._conns.add(conn)
        if self._ticker is None:
            self._ticker = uv.Timer(self.loop)
            self._ticker.ref = False
        if len(self._conns) == 1:
            self._ticker.start(self._tick, self._tick_interval, self._tick_interval)
        return 0

    cdef int _forget(self, _Conn conn) except -1:
        """``conn`` is closing: it no longer counts against its pool."""
        cdef _Pool pool = conn.pool
        if conn not in self._conns:
            return 0
        self._conns.discard(conn)
        pool.count -= 1
        if conn in pool.idle:
            pool.idle.remove(conn)
        if not self._closing:
            while pool.waiting and pool.count < self.max_per_host:
                self._connect(pool, pool.waiting.popleft())
        if not self._conns and self._ticker is not None:
            self._ticker.stop()
        return 0

    def _tick(self, timer):
        cdef _Conn conn
        cdef double now = self.loop.now()
        for conn in list(self._conns):
            if conn.deadline and now >= conn.deadline:
                conn._expire()

    def _ssl_context(self):
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    # -- completing ---------------------------------------------------------------------

    cdef int _completed(self, _Request req, msg) except -1:
        """The final response to ``req`` arrived: follow it, or hand it over."""
        cdef ClientResponse resp
        if self.follow_redirects and msg.status in _REDIRECTS and not self._closing:
            location = None
            for name, value in msg.headers:
                if name.lower() == b"location":
                    location = value
                    break
            if location is not None:
                resp = _response(msg, req.t.url, req.history)
                if self._redirect(req, resp, location.decode("latin-1")):
                    return 0
        if req.streamed is not None:
            resp = req.streamed
            if msg.body:
                self._call_data(req, resp, msg.body)
            resp.body = b""
        else:
            resp = _response(msg, req.t.url, req.history)
            if req.on_data is not None:
                resp.body = b""
                if msg.body:
                    self._call_data(req, resp, msg.body)
        self._finish(req, resp, None)
        return 0

    cdef bint _redirect(self, _Request req, ClientResponse resp, str location) except -1:
        """Send the request the redirect asks for; False to return ``resp`` as final."""
        cdef _Request nxt
        cdef int status = resp.status
        cdef list history = req.history + [resp]
        if len(req.history) >= self.max_redirects:
            self._finish(req, None, TooManyRedirectsError(
                f"more than {self.max_redirects} redirects", resp))
            return True
        method = req.method
        body = req.body
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method = "GET"
            body = None
        elif req.chunked:
            return False
        try:
            url = urljoin(req.t.url, location)
            t = self._urls.get(url) or _parse_url(url)
        except ValueError:
            return False
        nxt = _Request.__new__(_Request)
        nxt.method = method
        nxt.t = t
        nxt.callback = req.callback
        nxt.on_data = req.on_data
        nxt.history = history
        nxt.body = body
        if req.headers is not None:
            same_origin = (<_Target>t).key == req.t.key
            nxt.headers = [(n, v) for n, v in req.headers
                           if (same_origin
                               or n.lower() not in ("authorization", "cookie", "host"))
                           and (body is not None or n.lower() != "content-type")]
        nxt.build()
        self._submit(nxt, False)
        return True

    cdef int _call_data(self, _Request req, ClientResponse resp, bytes chunk) except -1:
        try:
            req.on_data(resp, chunk)
        except BaseException as exc:
            self.loop._handle_exception(exc)
        return 0

    cdef int _finish(self, _Request req, resp, exc) except -1:
        callback = req.callback
        if callback is None:
            return 0
        req.callback = None
        req.on_data = None
        try:
            callback(resp, exc)
        except BaseException as err:
            self.loop._handle_exception(err)
        return 0

    cdef int _defer(self, _Request req, exc) except -1:
        """Fail ``req`` from the loop rather than from inside request()."""
        self._deferred.append((req, exc))
        if self._later is None:
            self._later = uv.Timer(self.loop)
        self._later.start(self._run_deferred, 0.0)
        return 0

    def _run_deferred(self, timer):
        deferred = self._deferred
        self._deferred = []
        for req, exc in deferred:
            self._finish(req, None, exc)
        if self._closing and self._later is not None:
            self._later.close()
            self._later = None

    # -- closing ------------------------------------------------------------------------

    def close(self):
        """Close every connection; requests in flight fail with ClientClosedError.
        Idempotent. ``request`` raises RuntimeError afterwards."""
        cdef _Conn conn
        cdef _Pool pool
        if self._closing:
            return
        self._closing = True
        failed = []
        for pool in self._pools.values():
            failed.extend(pool.waiting)
            pool.waiting.clear()
        for conn in list(self._conns):
            if conn.req is not None:
                failed.append(conn.req)
                conn.req = None
            conn._close()
        self._pools.clear()
        if not self._conns and self._ticker is not None:
            self._ticker.close()
            self._ticker = None
        failed.extend(req for req, _ in self._deferred)
        self._deferred = []
        if self._later is not None:
            self._later.close()
            self._later = None
        for req in failed:
            self._finish(req, None, ClientClosedError("the client was closed"))

    @property
    def closed(self):
        return self._closing

    @property
    def connections(self):
        """Connections open or opening."""
        return len(self._conns)

    @property
    def idle_connections(self):
        """Connections waiting in the pools for a request."""
        cdef _Pool pool
        cdef Py_ssize_t n = 0
        for pool in self._pools.values():
            n += len(pool.idle)
        return n

    def __repr__(self):
        return f"<Client connections={len(self._conns)} closing={self._closing}>"

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
_END = object()            # the end of a chunked body's iterator

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


cdef class _Pool:
    """The connections to one (scheme, host, port)."""
    cdef tuple key
    cdef list idle           # _Conn, most recently used last
    cdef int count           # connections open or opening
    cdef object waiting      # deque of _Request


cdef class Client


include "client/errors.pyx"
include "client/response.pyx"
include "client/request.pyx"
include "client/conn.pyx"


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
            resp.trailers = msg.trailers
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

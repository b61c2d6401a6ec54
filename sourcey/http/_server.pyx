# sourcey.http._server: an HTTP/1.1 server over sourcey.uv.TCP and the C parser.
#
# Each connection is a TCP subclass whose read hook hands libuv's read buffer straight to
# Parser.feed_ptr (no bytes object per read). Completed requests go to the handler at
# once; their responses are written in request order: the response at the head of the
# connection's queue writes to the socket, the ones behind it buffer until it ends.
#
# Timeouts: each connection keeps one deadline (loop time, ms) for the phase it is in
# (waiting for a request, inside a request head, lingering after its last response); one
# repeating Timer per Server walks the connections and enforces them (Server._tick).

import logging
import time
from email.utils import formatdate
from http import HTTPStatus

from sourcey.http._parser cimport H1_BODY_LENGTH, Parser
from sourcey.uv cimport libuv
from sourcey.uv._core cimport TCP

from sourcey import uv
from sourcey.http._parser import ParseError

_log = logging.getLogger("sourcey.http.server")

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_LINGER = 2.0          # seconds to drain the peer's input after our last response
_MAX_PENDING = 32      # pipelined requests awaiting their response before reading pauses

# A connection's phase, which decides its deadline.
cdef enum:
    _P_NONE = 0        # not yet set
    _P_IDLE = 1        # between requests: idle_timeout (header_timeout before the first)
    _P_HEAD = 2        # part of a request head received: header_timeout
    _P_BODY = 3        # a request body is arriving: no deadline
    _P_BUSY = 4        # responses pending, or no more requests taken: no deadline
    _P_LINGER = 5      # draining the peer's input after the last response: _LINGER

cdef long _date_second = -1
cdef str _date_value = ""


cdef str _http_date():
    """The Date header's value, formatted at most once a second."""
    global _date_second, _date_value
    cdef double now = time.time()
    if <long>now != _date_second:
        _date_second = <long>now
        _date_value = formatdate(<long>now, usegmt=True)
    return _date_value


def _no_read_callback(handle, data, error):   # reads go through _Conn._on_read
    pass


class Headers:
    """HTTP header fields: ``(name, value)`` str pairs in order, names looked up without
    regard to case. ``h[name]`` is the first value (KeyError if none), ``h.get_all(name)``
    every value, ``h[name] = value`` replaces all, ``h.add(name, value)`` appends."""

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = []
        if hasattr(items, "items"):
            items = items.items()
        for name, value in items:
            self.add(name, value)

    def add(self, name, value):
        self._items.append((str(name), str(value)))

    def get(self, name, default=None):
        key = name.lower()
        for n, v in self._items:
            if n.lower() == key:
                return v
        return default

    def get_all(self, name):
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def items(self):
        return list(self._items)

    def __getitem__(self, name):
        key = name.lower()
        for n, v in self._items:
            if n.lower() == key:
                return v
        raise KeyError(name)

    def __setitem__(self, name, value):
        key = name.lower()
        self._items = [(n, v) for n, v in self._items if n.lower() != key]
        self.add(name, value)

    def __delitem__(self, name):
        key = name.lower()
        kept = [(n, v) for n, v in self._items if n.lower() != key]
        if len(kept) == len(self._items):
            raise KeyError(name)
        self._items = kept

    def __contains__(self, name):
        key = name.lower()
        return any(n.lower() == key for n, _ in self._items)

    def __iter__(self):
        return iter([n for n, _ in self._items])

    def __len__(self):
        return len(self._items)

    def __eq__(self, other):
        if isinstance(other, Headers):
            return self._items == other._items
        return NotImplemented

    def __repr__(self):
        return f"Headers({self._items!r})"


class Request:
    """A request as received: ``method``, ``target``, ``path`` and ``query`` (the target
    split at the first ``?``, not decoded), ``version`` (``"1.0"``/``"1.1"``),
    ``headers`` (:class:`Headers`, values decoded as Latin-1), ``body`` (bytes, whole),
    ``peer`` (the client's ``(ip, port)``) and ``keep_alive``."""

    __slots__ = ("method", "target", "path", "query", "version", "headers", "body", "peer",
                 "keep_alive")

    def __init__(self, method, target, version, headers, body=b"", peer=None,
                 keep_alive=True):
        self.method = method
        self.target = target
        self.path, _, self.query = target.partition("?")
        self.version = version
        self.headers = headers
        self.body = body
        self.peer = peer
        self.keep_alive = keep_alive

    def __repr__(self):
        return f"<Request {self.method} {self.target} HTTP/{self.version}>"


cdef inline bytes _latin1(str s, str what):
    if "\r" in s or "\n" in s:
        raise ValueError(f"CR or LF in a header {what}: {s!r}")
    return s.encode("latin-1")


class Response:
    """The answer to one request. Set ``status`` (200), ``reason`` (None: the standard
    phrase) and ``headers`` before the first ``write``/``end``. ``write(data)`` sends the
    head, then the data, chunked unless a Content-Length was set (an HTTP/1.0 client gets
    the body delimited by the close instead); ``end(body=b"")`` finishes the response
    (with a Content-Length when nothing was written before). HEAD gets no body."""

    __slots__ = ("status", "reason", "headers", "_conn", "_request", "_started", "_done",
                 "_chunked", "_keep", "_nobody", "_aborted", "_out")

    def __init__(self, conn, request):
        self.status = 200
        self.reason = None
        self.headers = Headers()
        self._conn = conn
        self._request = request
        self._started = False
        self._done = False
        self._chunked = False
        self._keep = request is not None and request.keep_alive
        self._nobody = request is not None and request.method == "HEAD"
        self._aborted = False
        self._out = []

    @property
    def request(self):
        return self._request

    @property
    def headers_sent(self):
        """True once the head is written (or queued behind earlier responses)."""
        return self._started

    @property
    def finished(self):
        return self._done

    def write(self, data):
        """Send ``data`` (bytes-like) as part of the body."""
        if self._done:
            raise RuntimeError("the response has ended")
        data = bytes(data)
        if not self._started:
            self._start(None)
        self._body(data)

    def end(self, body=b""):
        """Finish the response, with ``body`` as its last (or only) part."""
        if self._done:
            raise RuntimeError("the response has ended")
        body = bytes(body)
        if not self._started:
            self._start(len(body))
        self._body(body)
        if self._chunked and not self._nobody:
            self._emit(b"0\r\n\r\n")
        self._done = True
        (<_Conn>self._conn)._finished(self)

    def _body(self, data):
        if not data or self._nobody:
            return
        if self._chunked:
            self._emit(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self._emit(data)

    def _start(self, length):
        cdef _Conn conn = <_Conn>self._conn
        cdef int status = int(self.status)
        if not 100 <= status <= 999:
            raise ValueError(f"invalid status {status}")
        reason = self.reason
        if reason is None:
            reason = _REASONS.get(status, "Unknown")
        request = self._request
        h = self.headers
        version = request.version if request is not None else "1.1"
        if "close" in h.get("Connection", "").lower() or conn.server is None \
                or conn.server._closing:
            self._keep = False
        if status < 200 or status == 204 or status == 304:
            self._nobody = True
        elif "Content-Length" in h:
            pass
        elif "Transfer-Encoding" in h:
            self._chunked = "chunked" in h["Transfer-Encoding"].lower()
            if not self._chunked:
                self._keep = False
        elif length is not None:
            h["Content-Length"] = str(length)
        elif version == "1.1":
            h["Transfer-Encoding"] = "chunked"
            self._chunked = True
        else:
            self._keep = False      # HTTP/1.0: the close delimits the body
        if not self._keep:
            if "close" not in h.get("Connection", "").lower():
                h["Connection"] = "close"
        elif version == "1.0":
            h["Connection"] = "keep-alive"
        if "Date" not in h:
            h.add("Date", _http_date())
        parts = [b"HTTP/1.1 %d %b\r\n" % (status, _latin1(str(reason), "reason"))]
        for name, value in h._items:
            parts.append(b"%b: %b\r\n" % (_latin1(name, "name"), _latin1(value, "value")))
        parts.append(b"\r\n")
        self._started = True
        self._emit(b"".join(parts))

    def _emit(self, bytes data):
        cdef _Conn conn = <_Conn>self._conn
        if conn.pending and conn.pending[0] is self:
            conn._send(data)
        else:
            self._out.append(data)

    def _abort(self):
        self._aborted = True
        self._done = True
        (<_Conn>self._conn)._finished(self)

    def __repr__(self):
        state = "ended" if self._done else "sent" if self._started else "new"
        return f"<Response {self.status} {state}>"


cdef class _Conn(TCP):
    """One server connection: reads go to the parser in C (``_on_read``)."""

    cdef object server
    cdef Parser parser
    cdef list pending          # Responses in request order; pending[0] owns the socket
    cdef bint no_more          # take no further requests
    cdef bint eof
    cdef bint shut             # shutdown() called
    cdef bint paused           # reading stopped: too many responses pending
    cdef bint served           # a request was received whole
    cdef object peer
    cdef object continued      # the request head last checked for Expect: 100-continue
    cdef int phase             # _P_*
    cdef double deadline       # loop time (ms) when the phase times out; 0: never
    cdef long long max_body    # -1: no limit
    cdef double header_ms      # the server's timeouts in ms; -1: none
    cdef double idle_ms
    cdef object body_list      # the parser's body pieces, counted so far:
    cdef Py_ssize_t body_count  # ... this many of them,
    cdef Py_ssize_t body_len   # ... holding this many bytes
    cdef list cork             # while a read is processed: output gathered for one writev

    cdef int _start(self, server) except -1:
        self.server = server
        self.parser = Parser("request", **server._limits)
        self.max_body = -1 if server.max_body is None else server.max_body
        self.header_ms = -1.0 if server.header_timeout is None else server.header_timeout * 1e3
        self.idle_ms = -1.0 if server.idle_timeout is None else server.idle_timeout * 1e3
        self.pending = []
        try:
            self.peer = self.getpeername()
        except Exception:
            self.peer = None
        self.nodelay(True)
        self.start_read(_no_read_callback)
        self._rearm()
        return 0

    cdef int _rearm(self) except -1:
        """Set the deadline when the phase changes (not on every read: a slowloris's
        dribble does not push its header deadline back)."""
        cdef int phase
        cdef double timeout = -1.0
        if self.closed or self.shut or self.phase == _P_LINGER:
            return 0
        if self.pending or self.no_more:
            phase = _P_BUSY
        elif self.parser._cur is not None:
            phase = _P_BODY
        elif self.parser.idle:
            phase = _P_IDLE
        else:
            phase = _P_HEAD
        if phase == self.phase:
            return 0
        self.phase = phase
        if phase == _P_IDLE:
            timeout = self.idle_ms if self.served else self.header_ms
        elif phase == _P_HEAD:
            timeout = self.header_ms
        self.deadline = 0.0 if timeout < 0 else self.loop.now() + timeout
        return 0

    cdef int _expire(self) except -1:
        """The deadline passed (called by Server._tick)."""
        cdef int phase = self.phase
        self.deadline = 0.0
        if phase == _P_HEAD and not self.pending and not self.no_more:
            self.no_more = True
            self.phase = _P_BUSY
            self._error(408, "the request head was not received in time")
        elif phase == _P_IDLE or phase == _P_LINGER:
            self._close()
        return 0

    cdef bint _body_too_large(self):
        """The request whose body is arriving declares or has grown past max_body."""
        cdef Py_ssize_t i, n
        if self.max_body < 0:
            return False
        if self.parser._p.body == H1_BODY_LENGTH \
                and self.parser._p.content_length > self.max_body:
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
        return self.body_len > self.max_body

    cdef void _on_read(self, const char* data, ssize_t nread) noexcept:
        cdef list out = []
        self.cork = []
        try:
            if nread < 0:
                self.eof = True
                if nread != libuv.UV_EOF:
                    self._close()
                elif not self.pending:
                    self._shut()
                return
            if self.no_more:
                return
            try:
                self.parser.feed_ptr(data, <size_t>nread, out)
            except ParseError as err:
                self._dispatch_all(err.messages)
                if not self.no_more:
                    self.no_more = True
                    self._error(err.status, err.reason)
                return
            self._dispatch_all(out)
            if self.parser._cur is not None and not self.no_more and not self.closed:
                if self._body_too_large():
                    self.no_more = True
                    self.parser._body = []      # the part received: not kept till the close
                    self.body_list = None
                    self._error(413, "the request body is larger than the server takes")
                elif self.parser._cur is not self.continued:
                    self._continue()
            self._rearm()
        except BaseException:
            _log.exception("sourcey.http.Server: connection from %s failed", self.peer)
            self._close()
        finally:
            try:
                self._flush()
            finally:
                self.cork = None

    cdef int _continue(self) except -1:
        """A request head is in, its body not yet: answer ``Expect: 100-continue`` with
        an interim 100 once no earlier response is still to be sent."""
        cur = self.parser._cur
        if self.pending or self.no_more:
            return 0
        self.continued = cur
        if cur.version == "1.1":
            for name, value in cur.headers:
                if name.lower() == b"expect" and value.lower() == b"100-continue":
                    self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
                    break
        return 0

    cdef int _dispatch_all(self, list messages) except -1:
        for m in messages:
            if self.no_more or self.closed:
                break
            self._dispatch(m)
        if len(self.pending) >= _MAX_PENDING and not self.paused and not self.closed:
            self.paused = True
            self.stop_read()
        return 0

    cdef int _dispatch(self, msg) except -1:
        server = self.server
        if self.max_body >= 0 and len(msg.body) > self.max_body:
            self.no_more = True
            self._error(413, "the request body is larger than the server takes")
            return 0
        self.served = True
        self.phase = _P_NONE       # a request went through: the next phase starts afresh
        request = Request(msg.method, msg.target, msg.version,
                          Headers([(n.decode("latin-1"), v.decode("latin-1"))
                                   for n, v in msg.headers]),
                          msg.body, self.peer,
                          msg.keep_alive and not msg.upgrade and not server._closing)
        response = Response(self, request)
        self.pending.append(response)
        if not request.keep_alive:
            self.no_more = True
        try:
            server.handler(request, response)
        except Exception:
            _log.exception("sourcey.http.Server: handler failed on %s %s from %s",
                           request.method, request.target, self.peer)
            if response._done:
                return 0
            if response._started:
                response._abort()
            else:
                response.status = 500
                response.reason = None
                response.headers = Headers({"Content-Type": "text/plain; charset=utf-8"})
                response.end(b"Internal Server Error\n")
        return 0

    cdef int _error(self, int status, str reason) except -1:
        response = Response(self, None)
        response.status = status
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        self.pending.append(response)
        response.end(f"{_REASONS.get(status, 'Bad Request')}: {reason}\n".encode())
        return 0

    cdef int _send(self, bytes data) except -1:
        if self.closed or not data:
            return 0
        if self.cork is not None:
            self.cork.append(data)
            return 0
        try:
            self._write(data, None, None)
        except Exception:
            self._close()
        return 0

    cdef int _flush(self) except -1:
        """Write what the responses of this read produced: one writev for all of them
        (pipelined requests answered together)."""
        out = self.cork
        if not out:
            return 0
        self.cork = []
        if self.closed:
            return 0
        try:
            self._write(out, None, None)
        except Exception:
            self._close()
        return 0

    cdef int _finished(self, response) except -1:
        if self.pending and self.pending[0] is response:
            self._advance()
        return 0

    cdef int _advance(self) except -1:
        while self.pending and self.pending[0]._done:
            r = self.pending.pop(0)
            if r._aborted:
                self._close()
                return 0
            if not r._keep:
                self._linger()
                return 0
            if self.pending:
                nxt = self.pending[0]
                out = nxt._out
                nxt._out = []
                if out:
                    self._send(b"".join(out))
        if not self.pending and (self.eof or self.server._closing):
            self._shut()
        elif self.paused and len(self.pending) <= _MAX_PENDING // 2 and not self.closed:
            self.paused = False
            self.start_read(_no_read_callback)
        self._rearm()
        return 0

    cdef int _linger(self) except -1:
        """The last response is queued: shut our side, read and drop what the client
        still sends (closing with unread input would reset the connection and could
        lose the response), close at its EOF or after _LINGER seconds."""
        self.no_more = True
        for r in self.pending:
            r._out = []
        self.pending = []
        if self.eof:
            self._shut()
            return 0
        if self.closed or self.shut:
            return 0
        self.shut = True
        self._flush()                   # what this read answered goes before the FIN
        try:
            self.shutdown()
        except Exception:
            self._close()
            return 0
        if self.paused:
            self.paused = False
            self.start_read(_no_read_callback)
        self.phase = _P_LINGER
        self.deadline = self.loop.now() + _LINGER * 1000.0
        return 0

    def _shut(self):
        """Close once the queued writes are out."""
        self.no_more = True
        if self.closed:
            return
        if self.shut:
            if self.eof:
                self._close()
            return
        self.shut = True
        self._flush()                   # what this read answered goes before the FIN
        try:
            self.shutdown(_closing_shutdown)
        except Exception:
            self._close()

    def _close(self):
        self.deadline = 0.0
        self.no_more = True
        self.pending = []
        if not self.closed:
            self._flush()               # what was answered still goes out (then the cut)
            self.close(_conn_closed)


def _closing_shutdown(handle, error):
    handle._close()


def _conn_closed(_Conn conn):
    server = conn.server
    if server is not None:
        server._conns.discard(conn)
        if not server._conns:
            server._no_connections()
    conn.server = None


class Server:
    """An HTTP/1.1 server: ``Server(handler, loop=None)``, then ``listen(host, port)``.

    ``handler(request, response)`` runs for each request as soon as it is received
    whole; it answers through ``response`` then or later (``write``, ``end``).
    Connections are kept alive (HTTP/1.1, or 1.0 asking for it) and pipelined requests
    are answered in order. A malformed request gets its status (400, 414, 431, 505) and
    the connection is closed; a handler that raises gets a 500 if nothing was sent yet
    (else the connection is cut), and is logged to ``logging.getLogger("sourcey.http.
    server")``. ``close()`` stops accepting, lets in-flight responses finish and closes
    idle connections.

    Limits (keyword options; a timeout of None disables it):

    - ``max_body`` (1 MiB; None: no limit): a request whose Content-Length exceeds it is
      answered 413 before its body is read, a chunked body 413 once it grows past it;
      the connection is then closed.
    - ``header_timeout`` (10 s): a request head not complete this long after its first
      byte gets 408 and the close; bytes arriving do not extend it, so a client dribbling
      its head (slowloris) gets 408 too. A new connection that sends nothing for this
      long is closed without a response.
    - ``idle_timeout`` (60 s): a keep-alive connection idle this long between requests
      is closed without a response.
    - ``max_start_line``, ``max_header_line``, ``max_headers``, ``max_head``: the
      parser's limits (see :class:`Parser`); beyond them, 414 or 431 and the close.

    Timeouts are enforced by one repeating timer per server that walks its connections
    while there are any: a deadline fires up to one tick late, a tick being a quarter of
    the smallest timeout, at least 0.05 s and at most 1 s. The timer does not keep the
    loop alive by itself. A request body being received and a response being produced
    have no deadline.
    """

    def __init__(self, handler, *, loop=None, max_body=1 << 20, header_timeout=10.0,
                 idle_timeout=60.0, max_start_line=8190, max_header_line=8190,
                 max_headers=100, max_head=32768):
        if not callable(handler):
            raise TypeError("handler must be callable")
        if max_body is not None and not 0 <= max_body < 1 << 62:
            raise ValueError("max_body must be >= 0 (and below 2**62) or None")
        for name, value in (("header_timeout", header_timeout),
                            ("idle_timeout", idle_timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None")
        self.handler = handler
        self.loop = loop if loop is not None else uv.Loop.default_loop()
        self.max_body = None if max_body is None else int(max_body)
        self.header_timeout = None if header_timeout is None else float(header_timeout)
        self.idle_timeout = None if idle_timeout is None else float(idle_timeout)
        self._limits = {"max_start_line": max_start_line, "max_header_line": max_header_line,
                        "max_headers": max_headers, "max_head": max_head}
        Parser("request", **self._limits)          # checks the limits now
        shortest = min(t for t in (self.header_timeout, self.idle_timeout, _LINGER)
                       if t is not None)
        self._tick_interval = min(1.0, max(0.05, shortest / 4))
        self._ticker = None
        self._listener = None
        self._address = None
        self._conns = set()
        self._closing = False

    def listen(self, host="127.0.0.1", port=0, *, backlog=511):
        """Bind and listen; returns the bound ``(host, port)`` (port 0 picks a port)."""
        if self._listener is not None:
            raise RuntimeError("the server is already listening")
        if self._closing:
            raise RuntimeError("the server is closed")
        tcp = uv.TCP(self.loop)
        try:
            tcp.bind((host, port))
            tcp.listen(self._on_connection, backlog)
        except BaseException:
            tcp.close()
            raise
        self._listener = tcp
        self._address = tuple(tcp.getsockname()[:2])
        return self._address

    @property
    def address(self):
        """The bound ``(host, port)``, None before ``listen``."""
        return self._address

    @property
    def port(self):
        return None if self._address is None else self._address[1]

    @property
    def connections(self):
        return len(self._conns)

    def _on_connection(self, listener, error):
        cdef _Conn conn
        if error is not None:
            _log.warning("sourcey.http.Server: accept failed: %s", error)
            return
        conn = _Conn(self.loop)
        try:
            listener.accept(conn)
        except Exception:
            conn.close()
            return
        if self._closing:
            conn.close()
            return
        self._conns.add(conn)
        if self._ticker is None:
            self._ticker = uv.Timer(self.loop)
            self._ticker.ref = False
        if len(self._conns) == 1:
            self._ticker.start(self._tick, self._tick_interval, self._tick_interval)
        conn._start(self)

    def _tick(self, timer):
        """Enforce the connections' deadlines (O(connections) per tick)."""
        cdef _Conn conn
        cdef double now = self.loop.now()
        for conn in list(self._conns):
            if conn.deadline and now >= conn.deadline:
                try:
                    conn._expire()
                except Exception:
                    _log.exception("sourcey.http.Server: timeout on %s failed", conn.peer)
                    conn._close()

    def _no_connections(self):
        if self._ticker is None:
            return
        if self._closing:
            self._ticker.close()
            self._ticker = None
        else:
            self._ticker.stop()

    def close(self):
        """Stop accepting; close idle connections, the others after their responses."""
        cdef _Conn conn
        self._closing = True
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._conns):
            conn.no_more = True
            if not conn.pending:
                conn._shut()
        if not self._conns:
            self._no_connections()

    def __repr__(self):
        return f"<Server {self.address} connections={len(self._conns)}>"

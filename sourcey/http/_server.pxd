# sourcey.http._server: the HTTP/1.1 server. The connection's logic (_Session) reads
# from libuv's buffer into the C parser, builds Request objects once per request, and
# writes the responses it produces from one C buffer, once per read.

from sourcey.http._parser cimport Parser
from sourcey.net._net cimport _TCPStream
from sourcey.uv._core cimport Loop


ctypedef struct OutBuf:          # a growable byte buffer (responses on their way out)
    char* data
    size_t len
    size_t cap


cdef class Headers:
    cdef list _items             # [(name, value)] str pairs, in order

    cdef object _find(self, str name, object default)


cdef class Request:
    cdef readonly str method
    cdef readonly str target
    cdef readonly str version
    cdef Headers _headers           # made from _raw when first asked for
    cdef bytes _raw                 # the head's field lines, validated by the parser
    cdef object _context            # the application's dict, made when first asked for
    cdef readonly object peer
    cdef readonly bint keep_alive
    cdef readonly bint upgrade
    cdef readonly bint complete     # the whole body has been received
    cdef object _body               # bytes once complete and buffered, else None
    cdef _Session _session          # set while its body streams to the handler
    cdef Response _response
    cdef object _on_data            # streaming consumers
    cdef object _on_end
    cdef list _parts                # streamed body received before a consumer came
    cdef Py_ssize_t _buffered
    cdef bint _paused               # the application asked to stop reading

    cdef int _feed(self, bytes data) except -1
    cdef int _finish(self) except -1
    cdef bint _holding(self)


cdef class Response:
    cdef public int status
    cdef public object reason
    cdef Headers _headers
    cdef _Session _session
    cdef Request _request
    cdef bint _started
    cdef bint _done
    cdef bint _chunked
    cdef bint _keep
    cdef bint _nobody
    cdef bint _aborted
    cdef long long _declared        # the handler's Content-Length; -1: none
    cdef long long _sent            # body bytes sent against it
    cdef list _out                  # output produced while earlier responses are pending
    cdef object _resume             # called when it becomes the response that writes
    cdef object _context

    cdef int _start(self, Py_ssize_t length) except -1
    cdef int _body(self, const char* data, size_t length, object keep) except -1
    cdef int _emit(self, const char* data, size_t length, object keep) except -1
    cdef int _end(self, const char* data, size_t length, object keep) except -1
    cdef int _abort(self) except -1


cdef class _Conn(_TCPStream):
    cdef _Session session


cdef class _Session:
    cdef Server server
    cdef Loop loop
    cdef _Conn tcp                  # the plain transport, or
    cdef object sock                # an SSLSocket (TLS)
    cdef list slots                 # the SSLSocket's signal slots we attached
    cdef Parser parser
    cdef list pending               # Responses in request order; pending[0] writes
    cdef Request cur                # the request whose body is arriving
    cdef object body                # its buffered body: a bytes filled in place, or
    cdef bytearray body_parts       # ... the pieces so far (chunked, or large)
    cdef object backlog             # input not parsed yet: the output is congested
    cdef object waiter              # called when the output may take more (send_file)
    cdef set files                  # file bodies being sent (closed with the session)
    cdef Py_ssize_t body_len
    cdef bint body_prealloc
    cdef object remainder           # bytes after an upgrade request's head
    cdef object peer
    cdef bint no_more               # take no further requests
    cdef bint eof
    cdef bint shut
    cdef bint gone                  # closed, or handed over (upgrade)
    cdef bint paused                # reading stopped (too many pending, or the app)
    cdef bint served                # a request was received whole
    cdef bint continued             # Expect: 100-continue handled for `cur`
    cdef bint corked                # inside a read: output waits for _flush
    cdef int phase
    cdef double deadline            # loop time (ms) when the phase times out; 0: never
    cdef OutBuf out

    cdef int _start(self) except -1
    cdef int _input(self, const char* data, size_t length) except -1
    cdef int _read_done(self, const char* data, ssize_t nread) except -1
    cdef int _resume_input(self) except -1
    cdef int _on_head(self) except -1
    cdef int _on_body(self, const char* data, size_t length) except -1
    cdef int _on_message(self) except -1
    cdef int _upgrade_ready(self) except -1
    cdef int _dispatch(self, Request request) except -1
    cdef int _handler_failed(self, Response response) except -1
    cdef int _parse_error(self) except -1
    cdef int _error(self, int status, str reason) except -1
    cdef int _continue(self, Request request) except -1
    cdef int _rearm(self) except -1
    cdef int _expire(self) except -1
    cdef int _update_reading(self) except -1
    cdef bint _congested(self)
    cdef size_t _queued(self)
    cdef int _put(self, const char* data, size_t length, object keep) except -1
    cdef int _flush(self) except -1
    cdef int _write_obj(self, object data) except -1
    cdef int _finished(self, Response response) except -1
    cdef int _advance(self) except -1
    cdef int _linger(self) except -1
    cdef int _shut(self) except -1
    cdef int _close(self) except -1
    cdef int _wake(self) except -1
    cdef int _gone(self) except -1
    cdef object _detach(self)


cdef class Server:
    cdef readonly object handler
    cdef readonly Loop loop
    cdef readonly object max_body
    cdef readonly object header_timeout
    cdef readonly object idle_timeout
    cdef readonly object body_timeout
    cdef readonly object max_connections
    cdef readonly bint stream_bodies
    cdef readonly object ssl_context
    cdef readonly object handshake_timeout
    cdef long long _max_body        # -1: no limit
    cdef double _header_ms          # timeouts in ms; -1: none
    cdef double _idle_ms
    cdef double _body_ms
    cdef dict _limits
    cdef double _tick_interval
    cdef object _ticker
    cdef object _listener
    cdef object _address
    cdef set _sessions
    cdef bint _closing
    cdef object _close_cb
    cdef dict __dict__

    cdef int _adopt(self, _Session session) except -1
    cdef int _session_gone(self, _Session session) except -1
    cdef int _no_sessions(self) except -1

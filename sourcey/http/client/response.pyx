# ClientResponse: what a request's callback receives (included by _client.pyx).


cdef class ClientResponse:
    """A response: ``status`` (int), ``reason`` (str), ``version`` (``"1.0"``/``"1.1"``),
    ``headers`` (case-insensitive :class:`Headers`, values decoded as Latin-1),
    ``raw_headers`` (the ``(name, value)`` bytes pairs as received), ``body`` (bytes;
    empty when it was streamed to ``on_data``), ``url`` (the URL it answers, after any
    redirects), ``history`` (the redirect responses that led here, oldest first) and
    ``trailers`` (the ``(name, value)`` bytes pairs of a chunked body's trailer section)."""

    cdef readonly int status
    cdef readonly str reason
    cdef readonly str version
    cdef readonly list raw_headers
    cdef readonly bytes body
    cdef readonly str url
    cdef readonly list history
    cdef readonly list trailers
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
    r.trailers = msg.trailers
    return r

# A request on its way: the parsed URL, the checked headers, the head to send
# (included by _client.pyx).


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
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")     # an internationalised name
        except UnicodeError:
            raise ValueError(f"invalid host name in URL {url!r}") from None
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

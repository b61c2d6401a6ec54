"""sourcey.http: HTTP/1.1 for sourcey.

``Server(handler)`` serves HTTP/1.1 over sourcey.uv: ``handler(request, response)`` runs
for each request (see :class:`Server`). ``Client()`` fetches over pooled keep-alive
connections: ``client.request(method, url, callback=cb)`` calls ``cb(response, error)``
(see :class:`Client`). Under it, the sans-IO core: a strict HTTP/1.1
parser (``csrc/http1_parser.c``, RFC 9110 and RFC 9112) with two faces, ``parse()`` for a
whole stream and ``Parser`` for feeding it piece by piece. Both give the same answer
however the input is split.

Fields of a :class:`Message`: ``method``, ``target`` and ``version`` (``"1.0"`` or
``"1.1"``) are ``str``; ``status`` is an ``int`` (``None`` for requests); ``reason`` and
the ``(name, value)`` pairs of ``headers`` and ``trailers`` are ``bytes`` as sent (names
keep their case; values lose the surrounding whitespace, RFC 9110 §5.5); ``body`` is
``bytes`` with the transfer coding removed.
"""

from ._client import (
    Client,
    ClientClosedError,
    ClientError,
    ClientResponse,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from ._parser import Message, ParseError, Parser, parse
from ._server import Headers, Request, Response, Server

__all__ = ["Client", "ClientClosedError", "ClientError", "ClientResponse",
           "ConnectTimeoutError", "ConnectionClosedError", "Headers", "Message",
           "ParseError", "Parser", "ReadTimeoutError", "Request", "Response",
           "ResponseTooLargeError", "Server", "TooManyRedirectsError", "parse"]

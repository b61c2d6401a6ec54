# The client's errors (besides ParseError, OSError and ssl.SSLError), included by _client.pyx.


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

"""SSLSocket: TLS over TCPSocket, on ``ssl.SSLContext.wrap_bio`` and two ``ssl.MemoryBIO``s
(LibSourcey's net::SSLSocket).

    sock = SSLSocket(loop)                       # ssl.create_default_context(): verified
    sock.Connect += lambda s: s.send(b"GET / HTTP/1.1\\r\\nHost: example.org\\r\\n\\r\\n")
    sock.Recv += lambda s, data, peer: print(data)
    sock.connect("example.org", 443)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain("cert.pem", "key.pem")
    server = SSLServer("127.0.0.1", 8443, on_accept, context=ctx)

The bytes TCPSocket reads go, in C, to the incoming BIO instead of Recv; Recv carries the
plaintext. ``send`` encrypts and hands whatever the outgoing BIO holds to TCPSocket's send
at once, so the watermarks and Drain work as on TCP (they count ciphertext).
"""

from __future__ import annotations

import ssl
from typing import Any

from sourcey import uv

from ._net import TCPSocket
from .address import Address
from .errors import PeerClosedError

# A TLS record holds at most 16 KiB of plaintext, and SSLObject.read returns one record's
# worth at most: every record the BIO holds is read, and emitted as one Recv.
_RECORD = 16 * 1024

_SSLError = ssl.SSLError
_WantRead = ssl.SSLWantReadError
_ZeroReturn = ssl.SSLZeroReturnError


class SSLSocket(TCPSocket):
    """A TLS connection with signals, or a listener whose connections are SSLSockets.

    Client: ``SSLSocket(loop, context=None, server_hostname=None)`` then
    ``connect(host, port, *, timeout=None, server_hostname=None)``. The default context is
    ``ssl.create_default_context()``: the certificate and the host name are verified.
    The name checked, and sent as SNI, is ``server_hostname`` or else the host connected
    to (for an IP address it is checked against the certificate's IP entries and no SNI
    is sent). ``timeout`` covers the TCP connect and the handshake.

    Server: ``bind`` and ``listen`` on an SSLSocket made with a server context (a
    certificate loaded); ``AcceptConnection(socket)`` brings each connection at TCP
    accept, an SSLSocket in server mode sharing that context, whose handshake runs as
    soon as the client's hello arrives. ``SSLServer`` wraps this.

    Signals: Connect once the handshake has completed (not at TCP connect); Recv(socket,
    plaintext, peer); Error and Close as on TCPSocket. Handshake and verification
    failures arrive once on Error as ``ssl.SSLError`` (``ssl.SSLCertVerificationError``
    for certificates), then Close. Data sent before the handshake completes (on an
    accepted socket, say) is held and sent, in order, once it has.

    Closing: ``close()`` sends close_notify (when the handshake has completed and nothing
    failed) and closes the TCP connection as soon as what is queued has gone to the
    kernel; it does not wait for the peer's close_notify. If the peer does not take the
    queued data within ``close_timeout`` seconds, the connection is closed regardless.
    ``abort()`` resets at once.

    The peer closing: an orderly TLS close (the peer's close_notify) emits Close without
    an Error, after the plaintext that came before it; this socket answers with its own
    close_notify. The connection ending without close_notify is a failure, since the
    data may have been cut short (truncation): Error(PeerClosedError) after the
    handshake, as TCPSocket reports an EOF, or Error(ssl.SSLEOFError) during it. Other
    read errors (ConnectionResetError...) arrive as they do on TCPSocket.
    """

    __slots__ = ("context", "server_hostname", "server_side", "_incoming", "_outgoing",
                 "_sslobj", "_handshaked", "_tls_closing", "_held", "_tls_timer",
                 "_peer_addr", "handshake_timeout")

    transport = "SSL"
    close_timeout = 5.0

    def __init__(self, loop: uv.Loop | None = None, context: ssl.SSLContext | None = None,
                 server_hostname: str | None = None, *, server_side: bool = False) -> None:
        if context is not None and not isinstance(context, ssl.SSLContext):
            raise TypeError(f"context must be an ssl.SSLContext, not {type(context).__name__}")
        if server_side and context is None:
            raise ValueError("a server-side SSLSocket needs a context with a certificate")
        TCPSocket.__init__(self, loop)
        self.context = context
        self.server_hostname = server_hostname
        self.server_side = server_side
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._sslobj: ssl.SSLObject | None = None
        self._handshaked = False
        self._tls_closing = False
        self._held: list[bytes] | None = None
        self._tls_timer: Any = None
        self._peer_addr: Address | None = None
        # On a listener: how long an accepted connection has to finish its handshake
        # (None: forever). A client that connects and never says hello is cut off.
        self.handshake_timeout: float | None = 10.0
        if server_side:
            assert context is not None
            self._sslobj = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._set_raw_receiver(self._on_raw)

    # -- connecting --------------------------------------------------------------------

    def connect(self, host: Any, port: int | None = None, *, timeout: float | None = None,
                server_hostname: str | None = None) -> None:
        """Connect and run the handshake: Connect when it completes, or Error (an
        OSError, ssl.SSLError, ssl.SSLCertVerificationError, TimeoutError) and Close."""
        address = Address.parse(host, port)
        if self._sslobj is not None or self.closed:
            raise OSError(106, f"{type(self).__name__} is already {self!r}")  # EISCONN
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if self.context is None:
            self.context = ssl.create_default_context()
        hostname = server_hostname or self.server_hostname or address.host
        sslobj = self.context.wrap_bio(self._incoming, self._outgoing, server_side=False,
                                       server_hostname=hostname)
        self._sslobj = sslobj
        try:
            TCPSocket.connect(self, address)
        except BaseException:
            self._sslobj = None
            raise
        self.server_hostname = hostname
        if timeout is not None:
            self._tls_timer = uv.Timer(self.loop)
            self._tls_timer.start(self._timed_out, timeout)

    def _timed_out(self, timer: Any) -> None:
        if not self._handshaked and not self.closed:
            what = "TLS handshake" if super().connected else "connect"
            self._report_failure(TimeoutError(110, f"{what} timed out"))  # ETIMEDOUT

    def _stop_tls_timer(self) -> None:
        if self._tls_timer is not None:
            self._tls_timer.close()
            self._tls_timer = None

    def listen(self, backlog: int = 511) -> None:
        """Accept TLS connections: AcceptConnection(new SSLSocket) for each."""
        if (self.context is None or self.context.protocol == ssl.PROTOCOL_TLS_CLIENT
                or self._sslobj is not None):
            raise ValueError("an SSL listener needs a server context (PROTOCOL_TLS_SERVER, "
                             "with a certificate) and must not be a connection itself")
        TCPSocket.listen(self, backlog)

    def _new_connection(self) -> SSLSocket:
        conn = SSLSocket(self.loop, self.context, server_side=True)
        if self.handshake_timeout is not None:
            conn._tls_timer = uv.Timer(self.loop)
            conn._tls_timer.start(conn._timed_out, self.handshake_timeout)
        return conn

    # -- the raw path (called by TCPSocket, in C, instead of its signals) --------------

    def _on_raw(self, data: Any) -> None:
        if data.__class__ is bytes:
            if self._tls_closing:
                return
            self._incoming.write(data)
            if self._handshaked:
                self._read()
            else:
                self._handshake()
        elif data is None:              # TCP connected (client)
            self._handshake()
        else:                           # the read failed: EOF, reset...
            self._transport_failed(data)

    def _handshake(self) -> None:
        sslobj = self._sslobj
        assert sslobj is not None
        try:
            sslobj.do_handshake()
        except _WantRead:
            self._flush()
            return
        except _SSLError as exc:
            self._flush_alert()
            self._report_failure(exc)
            return
        self._handshaked = True
        self._stop_tls_timer()
        self._peer_addr = self.peer_address
        held, self._held = self._held, None
        if held:
            self.send(held)           # sent before Connect: goes first
        else:
            self._flush()
        if self._tls_closing or self.closed:
            return
        self.Connect.emit(self)
        if not self._tls_closing and (self._incoming.pending or sslobj.pending()):
            self._read()              # application data that came with the handshake

    def _read(self) -> None:
        # Decrypt every record the BIO holds (one per read); one Recv for all of it.
        sslobj = self._sslobj
        assert sslobj is not None
        incoming = self._incoming
        read = sslobj.read
        pieces = []
        eof = False
        failure = None
        while True:
            try:
                piece = read(_RECORD)
            except _WantRead:
                break
            except _ZeroReturn:
                eof = True
                break
            except _SSLError as exc:
                failure = exc
                break
            if not piece:               # close_notify
                eof = True
                break
            pieces.append(piece)
            if not incoming.pending and not sslobj.pending():
                break
        if self._outgoing.pending:      # a key update or session tickets to answer
            self._flush()
        if pieces:
            self.Recv.emit(self, pieces[0] if len(pieces) == 1 else b"".join(pieces),
                           self._peer_addr)
            if self._tls_closing:
                return
        if failure is not None:
            self._flush_alert()
            self._report_failure(failure)
        elif eof:
            self.close()                # the peer's close_notify: answer it, no Error

    def _transport_failed(self, exc: BaseException) -> None:
        if self._tls_closing:
            # Closing already: an EOF changes nothing (the queue may still drain);
            # anything worse ends the wait.
            if not isinstance(exc, PeerClosedError):
                self._close_transport()
            return
        if isinstance(exc, PeerClosedError):
            if not self._handshaked:
                exc = ssl.SSLEOFError(
                    ssl.SSL_ERROR_EOF,
                    "EOF occurred in violation of protocol: the peer closed the "
                    "connection during the TLS handshake")
            else:
                exc = PeerClosedError(
                    "the peer closed the connection without a TLS close_notify")
        self._report_failure(exc)

    def _flush(self) -> bool:
        data = self._outgoing.read()
        if data:
            return bool(TCPSocket.send(self, data))
        return True

    def _flush_alert(self) -> None:
        # After a TLS failure, try to let the peer know (the alert), and no more.
        try:
            if self._outgoing.pending and super().connected:
                TCPSocket.send(self, self._outgoing.read())
        except OSError:
            pass

    # -- writing -------------------------------------------------------------------------

    def send(self, data: Any, peer: Any = None) -> bool:
        """Encrypt and send bytes (or a list of buffers). Returns True while the write
        queue is under the high watermark; False means: stop until Drain."""
        if self._handshaked and not self._tls_closing:
            write = self._sslobj.write  # type: ignore[union-attr]
            try:
                if isinstance(data, (list, tuple)):
                    for buf in data:
                        if len(buf):
                            write(buf)
                elif len(data):
                    write(data)
            except _SSLError as exc:
                self._report_failure(exc)
                return False
            return bool(TCPSocket.send(self, self._outgoing.read()))
        if self._tls_closing or self.closed:
            self._report_failure(BrokenPipeError(32, f"send on a {self!r}"))  # EPIPE
            return False
        if self._sslobj is None or not super().connected:
            return bool(TCPSocket.send(self, data))     # ENOTCONN: connect first
        # Handshaking: hold the data (a copy) until the handshake completes.
        if self._held is None:
            self._held = []
        if isinstance(data, (list, tuple)):
            self._held.extend(bytes(buf) for buf in data)
        else:
            self._held.append(bytes(data))
        return True

    # -- closing -------------------------------------------------------------------------

    def close(self) -> None:
        """Send close_notify and close; Close once the TCP connection is closed (without
        waiting for the peer's close_notify). Idempotent."""
        if self._tls_closing or super().closed:
            return
        self._tls_closing = True
        self._held = None
        self._stop_tls_timer()
        if self._handshaked and self.error is None and super().connected:
            try:
                self._sslobj.unwrap()  # type: ignore[union-attr]
            except _SSLError:
                pass                    # SSLWantReadError: the peer's close_notify is not in
            try:
                self._flush()
                if self.write_queue_size:
                    # The kernel has not taken it all: close once the queue has drained
                    # (an empty write completes after the rest), within close_timeout.
                    TCPSocket.send(self, b"")
                    self._tls_timer = uv.Timer(self.loop)
                    self._tls_timer.start(self._close_timed_out, self.close_timeout)
                    return
            except OSError:
                pass
        TCPSocket.close(self)

    def abort(self) -> None:
        """Close at once with a TCP reset (RST): no close_notify."""
        if super().closed:
            return
        self._tls_closing = True
        self._held = None
        self._stop_tls_timer()
        TCPSocket.abort(self)

    def _written(self, handle: Any, code: int | None) -> None:
        if self._tls_closing:
            if code is not None or not self.write_queue_size:
                self._close_transport()
            return
        TCPSocket._written(self, handle, code)

    def _close_timed_out(self, timer: Any) -> None:
        self._close_transport()

    def _close_transport(self) -> None:
        self._stop_tls_timer()
        self._close_now()

    def _tcp_closed(self, handle: Any) -> None:
        # Break the cycles through the raw receiver and timers before Close.
        self._stop_tls_timer()
        self._set_raw_receiver(None)
        self._held = None
        TCPSocket._tcp_closed(self, handle)

    # -- state and TLS details ---------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the socket is closing (close_notify sent, say) or closed."""
        return self._tls_closing or bool(super().closed)

    @property
    def connected(self) -> bool:
        """True once the handshake has completed, until closing."""
        return self._handshaked and not self._tls_closing and bool(super().connected)

    @property
    def handshake_done(self) -> bool:
        return self._handshaked

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        """The ssl.SSLObject under the connection (None on a listener)."""
        return self._sslobj

    def selected_alpn_protocol(self) -> str | None:
        """The protocol ALPN settled on (``context.set_alpn_protocols``), or None."""
        return self._sslobj.selected_alpn_protocol() if self._sslobj is not None else None

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate, as ``ssl.SSLSocket.getpeercert``; None before the
        handshake."""
        if self._sslobj is None or not self._handshaked:
            return None
        return self._sslobj.getpeercert(binary_form)

    def cipher(self) -> tuple[str, str, int] | None:
        return self._sslobj.cipher() if self._sslobj is not None else None

    def version(self) -> str | None:
        """The TLS version ("TLSv1.3"...), or None before the handshake."""
        return self._sslobj.version() if self._sslobj is not None else None

    def __repr__(self) -> str:
        if self._tls_closing and not super().closed:
            return f"<{type(self).__name__} closing>"
        if self._sslobj is not None and not self._handshaked and super().connected:
            return f"<{type(self).__name__} handshaking>"
        return str(TCPSocket.__repr__(self))

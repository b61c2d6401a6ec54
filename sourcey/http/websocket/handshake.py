"""The opening handshake (RFC 6455 §4) and the permessage-deflate negotiation (RFC 7692
§7.1), sans-IO: header values in, header values and settings out.

Headers are read from a ``sourcey.http.Headers`` (anything with ``get_all``), or from
``(name, value)`` pairs of ``str`` or ``bytes`` as the HTTP parser gives them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION = "13"

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HandshakeError(Exception):
    """The opening handshake failed. On a server, ``status`` is the HTTP status to answer
    with (400; 426 for an unsupported version, with ``Sec-WebSocket-Version: 13``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value for a Sec-WebSocket-Key."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes in base64."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def header_values(headers: Any, name: str) -> list[str]:
    """Every value of field ``name`` (case-insensitive), as str."""
    if hasattr(headers, "get_all"):
        return [str(v) for v in headers.get_all(name)]
    wanted = name.lower()
    out = []
    for key, value in headers:
        key = key.decode("latin-1") if isinstance(key, bytes) else key
        if key.lower() == wanted:
            out.append(value.decode("latin-1") if isinstance(value, bytes) else value)
    return out


def header_tokens(headers: Any, name: str) -> list[str]:
    """The comma-separated elements of every value of field ``name``, stripped."""
    return [item.strip() for value in header_values(headers, name)
            for item in value.split(",") if item.strip()]


def _is_token(s: str) -> bool:
    return bool(s) and all(c in _TCHAR for c in s)


def parse_extensions(values: Iterable[str]) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Parse Sec-WebSocket-Extensions values (RFC 6455 §9.1) into
    ``[(name, [(param, value or None), ...]), ...]``; quoted values are unquoted.
    Raises HandshakeError on bad syntax."""
    out: list[tuple[str, list[tuple[str, str | None]]]] = []
    for value in values:
        for element in _split_outside_quotes(value, ","):
            parts = _split_outside_quotes(element, ";")
            name = parts[0].strip()
            if not _is_token(name):
                raise HandshakeError(f"bad extension name {name!r}")
            params: list[tuple[str, str | None]] = []
            for part in parts[1:]:
                key, eq, val = part.partition("=")
                key = key.strip()
                if not _is_token(key):
                    raise HandshakeError(f"bad extension parameter {part.strip()!r}")
                if not eq:
                    params.append((key, None))
                    continue
                val = val.strip()
                if len(val) >= 2 and val[0] == val[-1] == '"':
                    val = val[1:-1].replace("\\", "")
                if not _is_token(val):
                    raise HandshakeError(f"bad value for extension parameter {key!r}")
                params.append((key, val))
            out.append((name, params))
    return out


def _split_outside_quotes(s: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    for c in s:
        if escaped:
            escaped = False
        elif c == "\\" and quoted:
            escaped = True
        elif c == '"':
            quoted = not quoted
        elif c == sep and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    if quoted:
        raise HandshakeError(f"unterminated quoted string in {s!r}")
    parts.append("".join(cur))
    return [p for p in parts if p.strip()] if sep == "," else parts


# --- permessage-deflate ---------------------------------------------------------------

@dataclass(frozen=True)
class Deflate:
    """permessage-deflate settings: what a side asks for, and what was agreed.

    ``server_no_context_takeover``/``client_no_context_takeover``: that side resets its
    compressor after each message. ``server_max_window_bits``/``client_max_window_bits``:
    the largest LZ77 window (8..15) that side's compressor may use; None for no limit.
    ``level``: our zlib compression level (not negotiated).
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    level: int = 6

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if bits is not None and not 8 <= bits <= 15:
                raise ValueError(f"max_window_bits must be 8..15, not {bits}")

    # -- client --

    def offer(self) -> str:
        """The Sec-WebSocket-Extensions offer a client sends."""
        parts = ["permessage-deflate"]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        # Always say the client can take a window limit: servers that want one can then
        # set it (we compress with whatever they choose, 9..15).
        if self.client_max_window_bits is not None:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        else:
            parts.append("client_max_window_bits")
        return "; ".join(parts)

    def accept_response(self, params: Sequence[tuple[str, str | None]]) -> Deflate:
        """The agreed settings from a server's response to our offer (RFC 7692 §7.1);
        raises HandshakeError if the server answered something we did not allow."""
        agreed = _parse_params(params)
        if agreed is None:
            raise HandshakeError("invalid permessage-deflate parameters in the response")
        if self.server_no_context_takeover and not agreed.server_reset:
            raise HandshakeError("the server did not accept server_no_context_takeover")
        if self.server_max_window_bits is not None and (
                agreed.server_bits is None or agreed.server_bits > self.server_max_window_bits):
            raise HandshakeError("the server did not accept our server_max_window_bits")
        client_bits = agreed.client_bits
        if client_bits is not None:
            if self.client_max_window_bits is not None and \
                    client_bits > self.client_max_window_bits:
                raise HandshakeError("client_max_window_bits above our offer")
            if client_bits == 8:
                # zlib cannot compress with a 256-byte window.
                raise HandshakeError("client_max_window_bits=8 is not supported")
        return Deflate(agreed.server_reset,
                       agreed.client_reset or self.client_no_context_takeover,
                       agreed.server_bits,
                       client_bits if client_bits is not None else self.client_max_window_bits,
                       self.level)

    # -- server --

    def negotiate(self, offers: Sequence[tuple[str, str | None]]) -> tuple[str, Deflate] | None:
        """Answer one client offer with our settings: ``(response value, agreed)``, or
        None to decline it (invalid, or not satisfiable)."""
        offer = _parse_params(offers, offer=True)
        if offer is None:
            return None
        server_bits = self.server_max_window_bits
        if offer.server_bits is not None:
            if offer.server_bits == 8:
                return None     # zlib cannot compress with a 256-byte window
            server_bits = min(server_bits or 15, offer.server_bits)
        client_bits = None
        if offer.client_bits is not None:   # the client accepts a limit
            client_bits = self.client_max_window_bits
            if offer.client_bits != 0 and client_bits is not None:
                client_bits = min(client_bits, offer.client_bits)
        agreed = Deflate(
            offer.server_reset or self.server_no_context_takeover,
            offer.client_reset or self.client_no_context_takeover,
            server_bits, client_bits, self.level)
        parts = ["permessage-deflate"]
        if agreed.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if agreed.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if server_bits is not None:
            parts.append(f"server_max_window_bits={server_bits}")
        if client_bits is not None:
            parts.append(f"client_max_window_bits={client_bits}")
        return "; ".join(parts), agreed

    def codec_args(self, client: bool) -> dict[str, Any]:
        """Codec keyword arguments for one side of these agreed settings."""
        ours = "client" if client else "server"
        theirs = "server" if client else "client"
        bits = getattr(self, f"{ours}_max_window_bits")
        return {
            "compression": True,
            "compress_window_bits": bits if bits is not None else 15,
            "compress_no_context_takeover": getattr(self, f"{ours}_no_context_takeover"),
            "decompress_no_context_takeover": getattr(self, f"{theirs}_no_context_takeover"),
            "compress_level": self.level,
        }


# The default offer/acceptance: permessage-deflate with no limits (frozen: shareable).
DEFAULT_DEFLATE = Deflate()


class _Params:
    """permessage-deflate parameters as sent; client_max_window_bits is 0 for a bare
    one in an offer ("any window limit is fine")."""

    __slots__ = ("client_bits", "client_reset", "server_bits", "server_reset")

    def __init__(self) -> None:
        self.server_reset = self.client_reset = False
        self.server_bits: int | None = None
        self.client_bits: int | None = None


def _parse_params(params: Sequence[tuple[str, str | None]], offer: bool = False
                  ) -> _Params | None:
    """None if a parameter is unknown, repeated or out of range (RFC 7692 §7.1)."""
    out = _Params()
    seen = set()
    for key, value in params:
        if key in seen:
            return None
        seen.add(key)
        if key in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return None
            setattr(out, key.split("_", 1)[0] + "_reset", True)
        elif key in ("server_max_window_bits", "client_max_window_bits"):
            if value is None:
                if key == "client_max_window_bits" and offer:
                    out.client_bits = 0
                    continue
                return None
            if not (value.isdigit() and len(value) <= 2 and 8 <= int(value) <= 15):
                return None
            setattr(out, key.split("_", 1)[0] + "_bits", int(value))
        else:
            return None
    return out


# --- the server's side ----------------------------------------------------------------

def check_request(method: str, version: str, headers: Any) -> str:
    """Validate an opening-handshake request (RFC 6455 §4.2.1); returns its key, or
    raises HandshakeError with the status to answer."""
    if method != "GET":
        raise HandshakeError(f"a WebSocket handshake is a GET, not {method}", 400)
    if version != "1.1":
        raise HandshakeError(f"a WebSocket handshake needs HTTP/1.1, not {version}", 400)
    if "websocket" not in (t.lower() for t in header_tokens(headers, "Upgrade")):
        raise HandshakeError("no 'Upgrade: websocket' header", 400)
    if "upgrade" not in (t.lower() for t in header_tokens(headers, "Connection")):
        raise HandshakeError("no 'Connection: Upgrade' header", 400)
    versions = header_tokens(headers, "Sec-WebSocket-Version")
    if versions != [VERSION]:
        raise HandshakeError(f"unsupported Sec-WebSocket-Version {versions}", 426)
    keys = header_values(headers, "Sec-WebSocket-Key")
    if len(keys) != 1:
        raise HandshakeError("need exactly one Sec-WebSocket-Key", 400)
    key = keys[0].strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise HandshakeError("Sec-WebSocket-Key is not 16 bytes in base64", 400)
    return key


def check_origin(headers: Any, allowed: Iterable[str | None]) -> bool:
    """True if the request's Origin is one of ``allowed`` (compared case-insensitively,
    as serialised origins like ``https://example.com``). A request without Origin (not
    from a browser) passes only if ``None`` is in ``allowed``."""
    origins = header_values(headers, "Origin")
    allowed_set = {a.lower() if isinstance(a, str) else a for a in allowed}
    if not origins:
        return None in allowed_set
    return len(origins) == 1 and origins[0].strip().lower() in allowed_set


@dataclass
class ServerHandshake:
    """The outcome of a request's handshake: the response headers to send with 101,
    and what was agreed."""

    headers: list[tuple[str, str]]
    protocol: str | None
    deflate: Deflate | None


def server_handshake(method: str, version: str, headers: Any, *,
                     protocols: Sequence[str] | None = None,
                     compression: Deflate | None = None) -> ServerHandshake:
    """Check a request and build the 101 response's headers. ``protocols``: the
    subprotocols we speak, in our order of preference (the first one the client also
    offers is chosen); ``compression``: our permessage-deflate settings, or None."""
    key = check_request(method, version, headers)
    out = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
           ("Sec-WebSocket-Accept", accept_key(key))]
    chosen = None
    if protocols:
        offered = header_tokens(headers, "Sec-WebSocket-Protocol")
        chosen = next((p for p in protocols if p in offered), None)
        if chosen is not None:
            out.append(("Sec-WebSocket-Protocol", chosen))
    agreed = None
    if compression is not None:
        for name, params in parse_extensions(header_values(headers, "Sec-WebSocket-Extensions")):
            if name.lower() != "permessage-deflate":
                continue
            answer = compression.negotiate(params)
            if answer is not None:
                out.append(("Sec-WebSocket-Extensions", answer[0]))
                agreed = answer[1]
                break
    return ServerHandshake(out, chosen, agreed)


# --- the client's side ----------------------------------------------------------------

def client_request(host: str, target: str, key: str, *, origin: str | None = None,
                   protocols: Sequence[str] | None = None,
                   compression: Deflate | None = None,
                   headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """The opening-handshake request."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
             f"Sec-WebSocket-Version: {VERSION}"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if protocols:
        lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
    if compression is not None:
        lines.append("Sec-WebSocket-Extensions: " + compression.offer())
    for name, value in headers:
        if any(c in f"{name}{value}" for c in "\r\n\0"):
            raise ValueError(f"header {name!r} holds a line break or NUL")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def check_response(status: int, headers: Any, key: str, *,
                   protocols: Sequence[str] | None = None,
                   compression: Deflate | None = None) -> tuple[str | None, Deflate | None]:
    """Validate the server's answer (RFC 6455 §4.1); returns the chosen subprotocol and
    the agreed permessage-deflate settings, or raises HandshakeError."""
    if status != 101:
        raise HandshakeError(f"the server answered {status}, not 101 Switching Protocols")
    if "websocket" not in (t.lower() for t in header_tokens(headers, "Upgrade")):
        raise HandshakeError("no 'Upgrade: websocket' in the response")
    if "upgrade" not in (t.lower() for t in header_tokens(headers, "Connection")):
        raise HandshakeError("no 'Connection: Upgrade' in the response")
    accepts = header_values(headers, "Sec-WebSocket-Accept")
    if [a.strip() for a in accepts] != [accept_key(key)]:
        raise HandshakeError("wrong Sec-WebSocket-Accept")
    chosen = header_tokens(headers, "Sec-WebSocket-Protocol")
    if len(chosen) > 1 or (chosen and chosen[0] not in (protocols or ())):
        raise HandshakeError(f"the server chose a subprotocol we did not offer: {chosen}")
    agreed = None
    for name, params in parse_extensions(header_values(headers, "Sec-WebSocket-Extensions")):
        if name.lower() != "permessage-deflate" or compression is None or agreed is not None:
            raise HandshakeError(f"the server chose an extension we did not offer: {name}")
        agreed = compression.accept_response(params)
    return (chosen[0] if chosen else None), agreed

"""Address: an IPv4 or IPv6 host and port, parsed and checked, resolved asynchronously."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import NamedTuple

from sourcey import uv

from .errors import error_from_code


class Address(NamedTuple):
    """``(host, port)``, usable wherever ``sourcey.uv`` takes an address tuple.

    ``Address.parse`` accepts ``"host:port"``, ``"[v6]:port"``, ``(host, port)`` and
    ``(host, port)`` given apart; ``host`` may be a name until it is resolved.
    """

    host: str
    port: int

    @classmethod
    def parse(cls, value: object, port: int | None = None) -> Address:
        if isinstance(value, Address) and port is None:
            return value
        if port is not None:
            host = value
        elif isinstance(value, tuple):
            if len(value) < 2:
                raise TypeError(f"an address tuple is (host, port), not {value!r}")
            host, port = value[0], value[1]
        elif isinstance(value, str):
            host, port = _split(value)
        else:
            raise TypeError(f"an address is 'host:port' or (host, port), not {value!r}")
        if not isinstance(host, str):
            raise TypeError(f"host must be a str, not {type(host).__name__}")
        if not isinstance(port, int) or isinstance(port, bool):
            raise TypeError(f"port must be an int, not {type(port).__name__}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535, not {port}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if (not host or len(host) > 253
                or any(c.isspace() or c in "\0[]" for c in host)):
            raise ValueError(f"invalid host: {host!r}")
        return cls(host, port)

    @property
    def is_ip(self) -> bool:
        """True if the host is an IP literal (no resolution needed)."""
        try:
            ipaddress.ip_address(self.host.split("%", 1)[0])
        except ValueError:
            return False
        return True

    @property
    def family(self) -> int:
        """AF_INET6 for an IPv6 literal, AF_INET otherwise."""
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _split(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"an IPv6 address is written '[host]:port', not {text!r}")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(f"an address is written 'host:port', not {text!r}")
    if not (port_text.isascii() and port_text.isdigit()):   # not "٨٠" or "²"
        raise ValueError(f"invalid port in {text!r}")
    return host, int(port_text)


def resolve(loop: uv.Loop, address: Address,
            callback: Callable[[list[Address] | None, OSError | None], object], *,
            socktype: int = socket.SOCK_STREAM, family: int = 0) -> uv.dns.DNSRequest | None:
    """Resolve ``address`` on libuv's thread pool; ``callback(addresses, error)`` gets a
    list of IP Addresses, or None and an OSError (``socket.gaierror`` for DNS failures).
    An IP literal is answered at once, without a request."""
    if address.is_ip:
        callback([address], None)
        return None

    def done(result: list[uv.dns.AddrinfoResult] | None, code: int | None) -> None:
        if code is not None:
            callback(None, error_from_code(code))
            return
        seen: list[Address] = []
        for info in result or ():
            found = Address(info.sockaddr[0], info.sockaddr[1])
            if found not in seen:
                seen.append(found)
        callback(seen, None)

    return uv.dns.getaddrinfo(loop, address.host, address.port, family=family,
                              socktype=socktype, callback=done)

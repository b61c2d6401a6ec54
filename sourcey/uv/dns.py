"""Asynchronous name resolution on libuv's thread pool, as ``pyuv.dns``."""

from ._core import AddrinfoResult, DNSRequest, NameinfoResult, getaddrinfo, getnameinfo

__all__ = ["AddrinfoResult", "DNSRequest", "NameinfoResult", "getaddrinfo", "getnameinfo"]

import os
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from typing_extensions import Buffer, disjoint_base

from sourcey.uv import Loop

@disjoint_base
class Headers:
    def __init__(
        self, items: Iterable[tuple[object, object]] | Mapping[object, object] = ()
    ) -> None: ...
    def add(self, name: object, value: object) -> None: ...
    def get(self, name: str, default: Any = None) -> Any: ...
    def get_all(self, name: str) -> list[str]: ...
    def items(self) -> list[tuple[str, str]]: ...
    def __getitem__(self, name: str, /) -> str: ...
    def __setitem__(self, name: str, value: object, /) -> None: ...
    def __delitem__(self, name: str, /) -> None: ...
    def __contains__(self, name: object, /) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def __eq__(self, other: object, /) -> bool: ...

@disjoint_base
class Request:
    method: str
    target: str
    version: str
    headers: Headers
    peer: tuple[Any, ...] | None
    keep_alive: bool
    upgrade: bool
    complete: bool
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def body(self) -> bytes | None: ...
    def stream(
        self,
        on_data: Callable[[Request, bytes], object],
        on_end: Callable[[Request], object] | None = None,
    ) -> None: ...
    def read(self, callback: Callable[[Request, bytes], object]) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...

@disjoint_base
class Response:
    status: int
    reason: str | None
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def headers(self) -> Headers: ...
    @headers.setter
    def headers(
        self, value: Headers | Iterable[tuple[object, object]] | Mapping[object, object]
    ) -> None: ...
    @property
    def request(self) -> Request | None: ...
    @property
    def headers_sent(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    def write(self, data: Buffer) -> None: ...
    def end(self, body: Buffer = b"") -> None: ...
    def send_file(
        self,
        path: str | os.PathLike[str],
        *,
        offset: int = 0,
        length: int | None = None,
        content_type: str | None = None,
    ) -> None: ...
    def upgrade(
        self, headers: Headers | Iterable[tuple[object, object]] | Mapping[object, object] = ()
    ) -> tuple[Any, bytes]: ...

@disjoint_base
class Server:
    handler: Callable[[Request, Response], object]
    loop: Loop
    max_body: int | None
    header_timeout: float | None
    idle_timeout: float | None
    body_timeout: float | None
    max_connections: int | None
    stream_bodies: bool
    ssl_context: ssl.SSLContext | None
    handshake_timeout: float | None
    def __init__(
        self,
        handler: Callable[[Request, Response], object],
        *,
        loop: Loop | None = None,
        max_body: int | None = 1048576,
        header_timeout: float | None = 10.0,
        idle_timeout: float | None = 60.0,
        body_timeout: float | None = 60.0,
        max_connections: int | None = None,
        stream_bodies: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        handshake_timeout: float | None = 10.0,
        max_start_line: int = 8190,
        max_header_line: int = 8190,
        max_headers: int = 100,
        max_head: int = 32768,
    ) -> None: ...
    def listen(
        self, host: str = "127.0.0.1", port: int = 0, *, backlog: int = 511
    ) -> tuple[str, int]: ...
    @property
    def address(self) -> tuple[str, int] | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def connections(self) -> int: ...
    def close(self) -> None: ...

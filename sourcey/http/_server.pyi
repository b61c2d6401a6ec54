from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from typing_extensions import Buffer

from sourcey.uv import Loop

class Headers:
    def __init__(
        self, items: Iterable[tuple[object, object]] | Mapping[object, object] = ()
    ) -> None: ...
    def add(self, name: object, value: object) -> None: ...
    def get(self, name: str, default: Any = None) -> Any: ...
    def get_all(self, name: str) -> list[str]: ...
    def items(self) -> list[tuple[str, str]]: ...
    def __getitem__(self, name: str) -> str: ...
    def __setitem__(self, name: str, value: object) -> None: ...
    def __delitem__(self, name: str) -> None: ...
    def __contains__(self, name: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def __eq__(self, other: object) -> bool: ...

class Request:
    method: str
    target: str
    path: str
    query: str
    version: str
    headers: Headers
    body: bytes
    peer: tuple[Any, ...] | None
    keep_alive: bool
    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: Headers,
        body: bytes = b"",
        peer: tuple[Any, ...] | None = None,
        keep_alive: bool = True,
    ) -> None: ...

class Response:
    status: int
    reason: str | None
    headers: Headers
    def __init__(self, conn: Any, request: Request | None) -> None: ...
    @property
    def request(self) -> Request | None: ...
    @property
    def headers_sent(self) -> bool: ...
    @property
    def finished(self) -> bool: ...
    def write(self, data: Buffer) -> None: ...
    def end(self, body: Buffer = b"") -> None: ...

class Server:
    handler: Callable[[Request, Response], object]
    loop: Loop
    max_body: int | None
    header_timeout: float | None
    idle_timeout: float | None
    def __init__(
        self,
        handler: Callable[[Request, Response], object],
        *,
        loop: Loop | None = None,
        max_body: int | None = 1048576,
        header_timeout: float | None = 10.0,
        idle_timeout: float | None = 60.0,
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

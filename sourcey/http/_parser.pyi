from collections.abc import Iterable

from typing_extensions import Buffer, disjoint_base

class ParseError(ValueError):
    code: str
    reason: str
    offset: int
    status: int
    messages: list[Message]
    def __init__(
        self,
        code: str,
        reason: str,
        offset: int,
        status: int = 400,
        messages: list[Message] | None = None,
    ) -> None: ...

@disjoint_base
class Message:
    @property
    def method(self) -> str | None: ...
    @property
    def target(self) -> str | None: ...
    @property
    def version(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def reason(self) -> bytes | None: ...
    @property
    def headers(self) -> list[tuple[bytes, bytes]]: ...
    @property
    def trailers(self) -> list[tuple[bytes, bytes]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def keep_alive(self) -> bool: ...
    @property
    def upgrade(self) -> bool: ...

@disjoint_base
class Parser:
    @property
    def kind(self) -> str: ...
    skip_body: bool
    connect: bool
    def __new__(
        cls,
        kind: str,
        *,
        skip_body: bool = False,
        connect: bool = False,
        max_start_line: int = 8190,
        max_header_line: int = 8190,
        max_headers: int = 100,
        max_head: int = 32768,
    ) -> Parser: ...
    @property
    def upgraded(self) -> bool: ...
    @property
    def remainder(self) -> bytes: ...
    @property
    def idle(self) -> bool: ...
    @property
    def pending(self) -> Message | None: ...
    def feed(self, data: Buffer) -> list[Message]: ...
    def feed_eof(self) -> list[Message]: ...

def parse(
    kind: str,
    chunks: Iterable[Buffer],
    eof: bool = True,
    *,
    skip_body: bool = False,
    connect: bool = False,
    max_start_line: int = 8190,
    max_header_line: int = 8190,
    max_headers: int = 100,
    max_head: int = 32768,
) -> list[Message]: ...

"""The router's upstream hop: a small HTTP/1.1 client over keep-alive loopback
connections to the deployment's workers.

Not httpx: the router forwards to its own workers only, and on this hop httpx with
httpcore cost about seven times the CPU per request (and two writes instead of one),
several times the latency budget the endpoint has over calling the model directly. The
client sends head and body in one write and reads Content-Length, chunked and
read-until-close bodies.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from time import monotonic
from typing import Any, cast
from urllib.parse import quote

from orchard.serving.traffic import Address

Scope = MutableMapping[str, Any]
Headers = list[tuple[bytes, bytes]]
CONNECT_SECONDS = 5.0
IDLE_SECONDS = 4.0  # under uvicorn's 5 s keep-alive, so a worker never closes one first
MAX_IDLE_PER_INSTANCE = 256
MAX_HEAD_BYTES = 64 * 1024
ONE_WRITE_BYTES = 256 * 1024  # bodies up to this go out in the same write as the head


Answer = tuple[int, Headers, bytes]


class Outgoing:
    """A request as it goes upstream: everything but the Host line, encoded once."""

    __slots__ = ("body", "head_only", "lines", "start")

    def __init__(self, scope: Scope, headers: Headers, body: bytes) -> None:
        method: str = scope["method"]
        raw = scope.get("raw_path")
        target: bytes = raw if raw else quote(scope["path"]).encode()
        query: bytes = scope.get("query_string", b"")
        if query:
            target = b"%s?%s" % (target, query)
        self.start = b"%s %s HTTP/1.1\r\nhost: " % (method.encode(), target)
        self.lines = b"".join(b"%s: %s\r\n" % pair for pair in headers)
        self.lines += b"content-length: %d\r\n\r\n" % len(body)
        self.body = body
        self.head_only = method == "HEAD"

    def head(self, authority: bytes) -> bytes:
        return b"%s%s\r\n%s" % (self.start, authority, self.lines)


class UpstreamFailed(Exception):
    """An upstream attempt that got no answer: connect, disconnect, timeout or protocol."""

    def __init__(self, reason: str, *, answered_part: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answered_part = answered_part


class ConnectionPool:
    """Idle keep-alive connections per instance, most recently used first."""

    def __init__(self) -> None:
        self._idle: dict[Address, list[tuple[float, _Connection]]] = {}
        self._closed = False

    async def send(self, instance: Address, request: Outgoing, timeout: float) -> Answer:
        connection = self._take(instance)
        reused = connection is not None
        if connection is None:
            connection = await _connect(instance, min(timeout, CONNECT_SECONDS))
        try:
            answer = await connection.exchange(request, instance.authority, timeout)
        except UpstreamFailed as failure:
            if not (reused and failure.reason == "disconnect" and not failure.answered_part):
                raise
            # The instance closed an idle connection as the request went out: nothing of
            # it was read, so it goes again on a new connection.
            connection = await _connect(instance, min(timeout, CONNECT_SECONDS))
            answer = await connection.exchange(request, instance.authority, timeout)
        self._give_back(instance, connection)
        return answer

    def _take(self, instance: Address) -> _Connection | None:
        idle = self._idle.get(instance)
        while idle:
            since, connection = idle.pop()
            if monotonic() - since > IDLE_SECONDS:
                for _, old in idle:  # all older still
                    old.close()
                idle.clear()
                connection.close()
                return None
            if connection.usable():
                return connection
        return None

    def _give_back(self, instance: Address, connection: _Connection) -> None:
        if not connection.usable():
            connection.close()  # the worker said close, or answered out of step
            return
        idle = self._idle.setdefault(instance, [])
        if self._closed or len(idle) >= MAX_IDLE_PER_INSTANCE:
            connection.close()
            return
        idle.append((monotonic(), connection))

    def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for _, connection in idle:
                connection.close()
        self._idle.clear()


async def _connect(instance: Address, timeout: float) -> _Connection:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, connection = await loop.create_connection(_Connection, instance.host, instance.port)
    except (OSError, TimeoutError) as error:
        raise UpstreamFailed("connect") from error
    return connection


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection to an instance: one exchange at a time, no pipelining.

    The response is parsed as it arrives: the head, then a body framed by Content-Length,
    chunked transfer coding, or the end of the connection.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.reusable = True
        self.head_only = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0  # 0 until the head has come
        self.headers: Headers = []
        self.length = -1  # Content-Length; -1 chunked (see `chunked`) or until close
        self.chunked = False
        self.parts: list[bytes] = []

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.waiter is None or self.waiter.done():
            self.close()  # nothing was asked: the connection is out of step
            return
        self.buffer += data
        try:
            self._parse()
        except ValueError:
            self._fail("protocol")

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.status and self.length < 0 and not self.chunked:
            self._finish(bytes(self.buffer))  # the body was framed by the end of connection
        else:
            self._fail("disconnect")

    # -- an exchange ---------------------------------------------------------------------

    async def exchange(self, request: Outgoing, authority: bytes, timeout: float) -> Answer:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        self.waiter = waiter
        self.head_only = request.head_only
        head = request.head(authority)
        if len(request.body) <= ONE_WRITE_BYTES:
            self.transport.write(head + request.body)
        else:
            self.transport.write(head)
            self.transport.write(request.body)
        timer = loop.call_later(timeout, self._fail, "timeout")
        try:
            answer: Answer = await waiter
            return answer
        finally:
            timer.cancel()
            self.waiter = None
            if not waiter.done() or waiter.cancelled():
                self.close()  # left mid-response: never reused

    def usable(self) -> bool:
        transport = self.transport
        return self.reusable and transport is not None and not transport.is_closing()

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _fail(self, reason: str) -> None:
        waiter = self.waiter
        answered_part = bool(self.status or self.buffer)
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(UpstreamFailed(reason, answered_part=answered_part))

    def _finish(self, body: bytes) -> None:
        waiter = self.waiter
        assert waiter is not None
        answer = (self.status, self.headers, body)
        self._reset()
        if self.buffer:
            self.reusable = False  # bytes past the response: out of step
        waiter.set_result(answer)

    def _parse(self) -> None:
        buffer = self.buffer
        while not self.status:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ValueError("response head too large")
                return
            self._read_head(bytes(buffer[:end]))
            del buffer[: end + 4]
        if self.chunked:
            self._parse_chunks()
        elif self.length >= 0 and len(buffer) >= self.length:
            body = bytes(buffer[: self.length])
            del buffer[: self.length]
            self._finish(body)

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        status = int(rest[:3])
        if 100 <= status < 200:
            return  # an interim response (103 Early Hints, ...): the real one follows
        headers: Headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip()
            headers.append((name, value))
            if name == b"content-length":
                self.length = int(value)
            elif name == b"transfer-encoding":
                self.chunked = value.lower().endswith(b"chunked")
            elif name == b"connection" and b"close" in value.lower():
                self.reusable = False
        if version != b"HTTP/1.1":
            self.reusable = False
        if self.chunked:
            self.length = -1
        if self.head_only or status in (204, 304):
            self.length, self.chunked = 0, False
        self.status, self.headers = status, headers

    def _parse_chunks(self) -> None:
        buffer = self.buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
            if size == 0:  # the last chunk, then trailers (if any) up to an empty line
                end = buffer.find(b"\r\n\r\n", line_end)
                if end >= 0:
                    del buffer[: end + 4]
                    self._finish(b"".join(self.parts))
                return
            start = line_end + 2
            if len(buffer) < start + size + 2:
                return
            self.parts.append(bytes(buffer[start : start + size]))
            del buffer[: start + size + 2]

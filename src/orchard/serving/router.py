"""The router in front of one online endpoint: the endpoint's scoring URI.

    app = create_router(state)   # an ASGI app; the host serves it with uvicorn

`GET /` is the endpoint's own liveness and needs no key; `GET /metrics` is the Prometheus
exposition of the endpoint's series (with a key, like scoring). Every other request
(`POST /score`, `GET /swagger.json`, any method and path) is authenticated
(`Authorization: Bearer <key or token>`), given a deployment (the `azureml-model-deployment`
header, else the live traffic split) and forwarded to one READY instance of it,
round-robin. An instance that cannot be reached, or that dies before it answers, is
skipped for the next one, so a crashed worker drops no request while another is up. The
answer carries the upstream's status, body and headers, plus `azureml-model-deployment`.
A share of the requests that name no deployment is copied to the mirror deployment once
the live answer is sent; what the mirror answers is only counted.

The upstream hop is a small HTTP/1.1 client over keep-alive loopback connections rather
than httpx: the router forwards to its own workers only, and on this hop httpx with
httpcore cost about seven times the CPU per request (and two writes instead of one),
several times the latency budget the endpoint has over calling the model directly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from time import monotonic, perf_counter
from typing import Any, cast
from urllib.parse import quote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orchard.errors import OrchardError, Unauthenticated
from orchard.serving.traffic import (
    Address,
    DeploymentNotFound,
    DeploymentUnavailable,
    EndpointState,
    NoLiveTraffic,
    Upstreams,
    validate_traffic,
)

__all__ = [
    "DeploymentNotFound",
    "DeploymentUnavailable",
    "EndpointState",
    "NoLiveTraffic",
    "RequestTooLarge",
    "ScoringTimeout",
    "UpstreamUnreachable",
    "Upstreams",
    "create_router",
    "validate_traffic",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

DEPLOYMENT_HEADER = b"azureml-model-deployment"
CONNECT_SECONDS = 5.0
IDLE_SECONDS = 4.0  # under uvicorn's 5 s keep-alive, so a worker never closes one first
MAX_IDLE_PER_INSTANCE = 256
MAX_HEAD_BYTES = 64 * 1024
ONE_WRITE_BYTES = 256 * 1024  # bodies up to this go out in the same write as the head
MAX_MIRRORS_IN_FLIGHT = 256  # past this, mirrored copies are dropped (and counted)

# Never forwarded upstream: hop-by-hop headers (RFC 9110 7.6.1), the caller's credentials,
# and the framing the router sets again for the body it sends.
_REQUEST_DROPS = frozenset(
    {
        b"authorization",
        b"connection",
        b"content-length",
        b"expect",
        b"host",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Never passed back: hop-by-hop headers, the framing set again here, and the two headers
# the router's own server adds.
_RESPONSE_DROPS = frozenset(
    {
        b"connection",
        b"content-length",
        b"date",
        b"keep-alive",
        b"proxy-connection",
        b"server",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        DEPLOYMENT_HEADER,
    }
)


class RequestTooLarge(OrchardError):
    code = "REQUEST_TOO_LARGE"
    http_status = 413


class UpstreamUnreachable(OrchardError):
    code = "UPSTREAM_UNREACHABLE"
    http_status = 502


class ScoringTimeout(OrchardError):
    """Azure answers 408 when scoring takes longer than the request timeout."""

    code = "REQUEST_TIMEOUT"
    http_status = 408


def create_router(state: EndpointState) -> Starlette:
    """The ASGI app that serves `state`'s endpoint; its connections close at shutdown.

    A listening socket handed to uvicorn must be made with `socket.IPPROTO_TCP`: asyncio
    sets TCP_NODELAY only on sockets whose protocol says TCP, and without it the separate
    head and body writes of every answer wait out the client's delayed ACK (about 40 ms).
    """
    proxy = _Proxy(state)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await proxy.aclose()

    routes = [
        Route("/", _liveness, methods=["GET", "HEAD"]),
        Route("/metrics", proxy.metrics, methods=["GET"]),
        Route("/{path:path}", proxy),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


async def _liveness(request: Request) -> Response:
    return PlainTextResponse("Healthy")


class _Proxy:
    """The ASGI app behind every scoring path."""

    def __init__(self, state: EndpointState) -> None:
        self.state = state
        self.pool = _Pool()
        self._mirrors: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        for task in list(self._mirrors):
            task.cancel()
        if self._mirrors:
            await asyncio.gather(*self._mirrors, return_exceptions=True)
        self.pool.close()

    async def metrics(self, request: Request) -> Response:
        token = _bearer(request.headers.get("authorization", "").encode("latin-1"))
        if not self.state.authorized(token):
            return _error_response(_unauthenticated(self.state))
        return Response(generate_latest(self.state.registry), media_type=CONTENT_TYPE_LATEST)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        state = self.state
        token = b""
        named: str | None = None
        declared = 0
        connection = b""
        forward: Headers = []
        for name, value in scope["headers"]:
            if name in _REQUEST_DROPS:
                if name == b"authorization":
                    token = _bearer(value)
                elif name == b"content-length":
                    declared = int(value)
                elif name == b"connection":
                    connection = value
                continue
            if name == DEPLOYMENT_HEADER:
                named = value.decode("latin-1").strip() or None
            forward.append((name, value))
        if connection:
            forward = _drop_listed(connection, forward)
        chosen = ""
        try:
            if not state.authorized(token):
                raise _unauthenticated(state)
            if declared > state.max_request_bytes:
                raise _too_large(state)
            upstreams, mirror = state.pick(named)
            chosen = upstreams.deployment
            if not upstreams.addresses:
                raise DeploymentUnavailable(
                    f"deployment {chosen!r} of endpoint {state.name!r} has no ready instance"
                )
            body = await _read_body(receive, state.max_request_bytes)
            if body is None:
                return  # the caller went away
            request = _Outgoing(scope, forward, body)
            status, headers, content = await self._forward(upstreams, request)
        except OrchardError as error:
            await _send_error(send, error, chosen)
            state.metrics.answered(chosen, error.http_status, perf_counter() - started)
            return
        headers.append((DEPLOYMENT_HEADER, chosen.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        state.metrics.answered(chosen, status, perf_counter() - started)
        if mirror is not None:
            self._mirror(mirror, request)

    async def _forward(self, upstreams: Upstreams, request: _Outgoing) -> _Answer:
        """Send the request to the deployment's instances in turn until one answers."""
        metrics = self.state.metrics
        timeout = self.state.request_timeout_s
        for instance in upstreams.attempts():
            try:
                status, headers, content = await self.pool.send(instance, request, timeout)
            except _Failed as failure:
                metrics.upstream_error(upstreams.deployment, failure.reason)
                if failure.reason == "timeout":
                    raise ScoringTimeout(
                        f"deployment {upstreams.deployment!r} did not answer within {timeout:g} s"
                    ) from None
                if failure.reason == "protocol":
                    raise UpstreamUnreachable(
                        f"deployment {upstreams.deployment!r} sent a malformed HTTP response"
                    ) from None
                continue  # never reached, or died before answering: the next instance
            kept = [(k, v) for k, v in headers if k not in _RESPONSE_DROPS]
            kept.append((b"content-length", str(len(content)).encode()))
            return status, kept, content
        raise UpstreamUnreachable(
            f"no instance of deployment {upstreams.deployment!r} could be reached"
        )

    def _mirror(self, deployment: str, request: _Outgoing) -> None:
        """Copy the request to the mirror deployment in the background."""
        upstreams = self.state.mirror_target(deployment)
        if upstreams is None or len(self._mirrors) >= MAX_MIRRORS_IN_FLIGHT:
            self.state.metrics.upstream_error(deployment, "mirror_dropped")
            return
        task = asyncio.get_running_loop().create_task(self._mirror_one(upstreams, request))
        self._mirrors.add(task)
        task.add_done_callback(self._mirrors.discard)

    async def _mirror_one(self, upstreams: Upstreams, request: _Outgoing) -> None:
        started = perf_counter()
        try:
            status = (await self._forward(upstreams, request))[0]
        except OrchardError as error:
            status = error.http_status
        self.state.metrics.answered(
            upstreams.deployment, status, perf_counter() - started, mirror=True
        )


_Answer = tuple[int, Headers, bytes]


class _Outgoing:
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


class _Failed(Exception):
    """An upstream attempt that got no answer: connect, disconnect, timeout or protocol."""

    def __init__(self, reason: str, *, answered_part: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answered_part = answered_part


class _Pool:
    """Idle keep-alive connections per instance, most recently used first."""

    def __init__(self) -> None:
        self._idle: dict[Address, list[tuple[float, _Connection]]] = {}
        self._closed = False

    async def send(self, instance: Address, request: _Outgoing, timeout: float) -> _Answer:
        connection = self._take(instance)
        reused = connection is not None
        if connection is None:
            connection = await _connect(instance, min(timeout, CONNECT_SECONDS))
        try:
            answer = await connection.exchange(request, instance.authority, timeout)
        except _Failed as failure:
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
        raise _Failed("connect") from error
    return connection


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection to an instance: one exchange at a time, no pipelining.

    The response is parsed as it arrives: the head, then a body framed by Content-Length,
    chunked transfer coding, or the end of the connection.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[_Answer] | None = None
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

    async def exchange(self, request: _Outgoing, authority: bytes, timeout: float) -> _Answer:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Answer] = loop.create_future()
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
            answer: _Answer = await waiter
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
            waiter.set_exception(_Failed(reason, answered_part=answered_part))

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


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    message = await receive()
    if message["type"] != "http.request":
        return None
    body: bytes = message.get("body", b"")
    parts = [body]
    size = len(body)
    while True:
        if size > limit:  # a chunked body declares no length: counted as it comes
            raise RequestTooLarge(f"the request body is over the {limit} bytes this takes")
        if not message.get("more_body", False):
            return body if len(parts) == 1 else b"".join(parts)
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        parts.append(chunk)


def _bearer(value: bytes) -> bytes:
    scheme, _, credentials = value.strip().partition(b" ")
    return credentials.strip() if scheme.lower() == b"bearer" else b""


def _drop_listed(connection: bytes, headers: Headers) -> Headers:
    """Headers that the Connection header names are hop-by-hop too (RFC 9110 7.6.1)."""
    listed = {token.strip().lower() for token in connection.split(b",")}
    listed -= {b"keep-alive", b"close", b""}
    return [(name, value) for name, value in headers if name not in listed] if listed else headers


def _unauthenticated(state: EndpointState) -> Unauthenticated:
    credential = "one of its keys" if state.auth_mode == "key" else "a valid token"
    return Unauthenticated(
        f"endpoint {state.name!r} needs {credential} in the header Authorization: Bearer ..."
    )


def _too_large(state: EndpointState) -> RequestTooLarge:
    limit = state.max_request_bytes
    return RequestTooLarge(f"the request body is over the {limit} bytes this takes")


def _error_headers(error: OrchardError, body: bytes, deployment: str) -> Headers:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if isinstance(error, Unauthenticated):
        headers.append((b"www-authenticate", b"Bearer"))
    if deployment:
        headers.append((DEPLOYMENT_HEADER, deployment.encode()))
    return headers


def _error_response(error: OrchardError) -> Response:
    body = json.dumps(error.to_dict()).encode()
    response = Response(body, error.http_status)
    response.raw_headers = _error_headers(error, body, "")
    return response


async def _send_error(send: Send, error: OrchardError, deployment: str) -> None:
    body = json.dumps(error.to_dict()).encode()
    headers = _error_headers(error, body, deployment)
    await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

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

The upstream hop is `orchard.serving.upstream`'s keep-alive HTTP/1.1 client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from orchard.errors import OrchardError, Unauthenticated
from orchard.serving.traffic import (
    DeploymentNotFound,
    DeploymentUnavailable,
    EndpointState,
    NoLiveTraffic,
    Upstreams,
    validate_traffic,
)
from orchard.serving.upstream import Answer, ConnectionPool, Headers, Outgoing, UpstreamFailed

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

DEPLOYMENT_HEADER = b"azureml-model-deployment"
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
        self.pool = ConnectionPool()
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
        request_id = "-"
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
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
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
            request = Outgoing(scope, forward, body)
            status, headers, content = await self._forward(upstreams, request)
        except OrchardError as error:
            await _send_error(send, error, chosen)
            self._answered(scope, chosen, error.http_status, started, request_id)
            return
        headers.append((DEPLOYMENT_HEADER, chosen.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        self._answered(scope, chosen, status, started, request_id)
        if mirror is not None:
            self._mirror(mirror, request)

    def _answered(
        self, scope: Scope, deployment: str, status: int, started: float, request_id: str
    ) -> None:
        seconds = perf_counter() - started
        self.state.metrics.answered(deployment, status, seconds)
        method, path = scope["method"], scope["path"]
        self.state.requests.write(deployment, method, path, status, seconds, request_id)

    async def _forward(self, upstreams: Upstreams, request: Outgoing) -> Answer:
        """Send the request to the deployment's instances in turn until one answers."""
        metrics = self.state.metrics
        timeout = self.state.request_timeout_s
        for instance in upstreams.attempts():
            try:
                status, headers, content = await self.pool.send(instance, request, timeout)
            except UpstreamFailed as failure:
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

    def _mirror(self, deployment: str, request: Outgoing) -> None:
        """Copy the request to the mirror deployment in the background."""
        upstreams = self.state.mirror_target(deployment)
        if upstreams is None or len(self._mirrors) >= MAX_MIRRORS_IN_FLIGHT:
            self.state.metrics.upstream_error(deployment, "mirror_dropped")
            return
        task = asyncio.get_running_loop().create_task(self._mirror_one(upstreams, request))
        self._mirrors.add(task)
        task.add_done_callback(self._mirrors.discard)

    async def _mirror_one(self, upstreams: Upstreams, request: Outgoing) -> None:
        started = perf_counter()
        try:
            status = (await self._forward(upstreams, request))[0]
        except OrchardError as error:
            status = error.http_status
        self.state.metrics.answered(
            upstreams.deployment, status, perf_counter() - started, mirror=True
        )


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

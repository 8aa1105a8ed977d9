"""The router over real loopback HTTP: uvicorn serves it, and in front of tiny upstream
apps (each answering with its own name) or real worker processes that can be killed.

Every server listens before it starts (its socket is bound and listening first), so no
test waits for one to come up; tests that wait for background work wait on a condition.
"""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchard.serving.router import EndpointState, create_router

KEY = "primary-key"
SECOND_KEY = "secondary-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WAIT_SECONDS = 30.0
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


# -- servers ---------------------------------------------------------------------------


def listening() -> socket.socket:
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets whose proto
    # says TCP, and without it uvicorn's separate head and body writes meet the client's
    # delayed ACK (40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serving(app: Any, *, lifespan: str = "off") -> Iterator[str]:
    """Serve `app` with uvicorn on a thread; yields its base URL, already accepting."""
    sock = listening()
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan=lifespan, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "a test server did not stop"


@dataclass
class Hits:
    """What one upstream instance received, with a condition to wait on."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, seen: dict[str, Any]) -> None:
        with self.changed:
            self.requests.append(seen)
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            done = self.changed.wait_for(lambda: len(self.requests) >= count, WAIT_SECONDS)
        assert done, f"{len(self.requests)} requests arrived, {count} expected"

    def __len__(self) -> int:
        with self.changed:
            return len(self.requests)


@dataclass
class Instance:
    name: str
    url: str
    hits: Hits


def upstream_app(name: str, hits: Hits, gate: threading.Event | None = None) -> Starlette:
    """Answers every method and path with its name and what it received."""

    async def answer(request: Request) -> Response:
        body = await request.body()
        seen = {
            "deployment": name,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "body": body.decode(),
            "headers": dict(request.headers),
        }
        hits.add(seen)
        if gate is not None:
            await asyncio.to_thread(gate.wait, WAIT_SECONDS)
        if request.url.path == "/status/500":
            return Response(b"model failed", 500, media_type="text/plain")
        return JSONResponse(
            seen, status_code=201 if request.method == "PUT" else 200, headers={"x-served-by": name}
        )

    return Starlette(routes=[Route("/{path:path}", answer, methods=METHODS)])


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with ExitStack() as stack:
        yield Fleet(stack)


@dataclass
class Fleet:
    stack: ExitStack

    def start(self, name: str, gate: threading.Event | None = None) -> Instance:
        hits = Hits()
        url = self.stack.enter_context(serving(upstream_app(name, hits, gate)))
        return Instance(name, url, hits)

    def router(self, state: EndpointState) -> httpx.Client:
        url = self.stack.enter_context(serving(create_router(state), lifespan="on"))
        return self.stack.enter_context(httpx.Client(base_url=url, timeout=WAIT_SECONDS))


def endpoint(**traffic: int) -> EndpointState:
    state = EndpointState("ep", keys=[KEY, SECOND_KEY], rng=random.Random(42))
    state.set_traffic(traffic)
    return state


@contextmanager
def dead_url() -> Iterator[str]:
    """A port with nothing listening: bound (so no one else takes it), never listened on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield url_of(sock)
    finally:
        sock.close()


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


# -- liveness and keys -------------------------------------------------------------------


def test_liveness_needs_no_key_and_scoring_does(fleet: Fleet) -> None:
    blue = fleet.start("blue")
    state = endpoint(blue=100)
    state.set_instances("blue", [blue.url])
    client = fleet.router(state)

    assert client.get("/").status_code == 200
    missing = client.post("/score", json={"data": [1]})
    assert missing.status_code == 401
    assert missing.json()["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in missing.json()["message"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/score", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert client.post("/score", json={}, headers={"Authorization": KEY}).status_code == 401
    for key in (KEY, SECOND_KEY):
        assert client.post("/score", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert len(blue.hits) == 2  # refused requests never reach a worker

    state.set_keys(["rotated-1", "rotated-2"])
    assert client.post("/score", headers=AUTH).status_code == 401
    rotated = client.post("/score", headers={"Authorization": "bearer rotated-2"})
    assert rotated.status_code == 200


def test_aml_token_mode_uses_the_hosts_check(fleet: Fleet) -> None:
    blue = fleet.start("blue")
    state = EndpointState("ep", auth_mode="aml_token")
    state.set_traffic({"blue": 100})
    state.set_instances("blue", [blue.url])
    client = fleet.router(state)
    token = {"Authorization": "Bearer token-123"}
    assert client.post("/score", headers=token).status_code == 401  # no check set yet
    state.set_token_check(lambda value: value == "token-123")
    assert client.post("/score", headers=token).status_code == 200
    assert client.post("/score", headers={"Authorization": "Bearer other"}).status_code == 401


# -- forwarding --------------------------------------------------------------------------


def test_the_request_goes_upstream_whole_and_the_answer_comes_back(fleet: Fleet) -> None:
    blue = fleet.start("blue")
    state = endpoint(blue=100)
    state.set_instances("blue", [blue.url])
    client = fleet.router(state)

    response = client.put(
        "/score/v2",
        params={"verbose": "1", "q": "a b"},
        content=b'{"data": [[1, 2]]}',
        headers={**AUTH, "content-type": "application/json", "x-request-id": "r-1"},
    )
    assert response.status_code == 201
    assert response.headers["azureml-model-deployment"] == "blue"
    assert response.headers["x-served-by"] == "blue"
    assert response.headers["content-type"] == "application/json"
    seen = response.json()
    assert (seen["method"], seen["path"]) == ("PUT", "/score/v2")
    assert seen["query"] == "verbose=1&q=a+b"
    assert seen["body"] == '{"data": [[1, 2]]}'
    assert seen["headers"]["x-request-id"] == "r-1"
    assert seen["headers"]["content-type"] == "application/json"
    assert "authorization" not in seen["headers"]  # the endpoint key stays at the router
    assert seen["headers"]["host"] == blue.url.removeprefix("http://")

    failed = client.post("/status/500", headers=AUTH)
    assert (failed.status_code, failed.text) == (500, "model failed")
    assert failed.headers["content-type"].startswith("text/plain")
    swagger = client.get("/swagger.json", headers=AUTH)
    assert swagger.json()["path"] == "/swagger.json"
    head = client.head("/score", headers=AUTH)
    assert (head.status_code, head.content) == (200, b"")


def test_the_deployment_header_picks_any_deployment_even_one_at_zero(fleet: Fleet) -> None:
    blue, green = fleet.start("blue"), fleet.start("green")
    state = endpoint(blue=100, green=0)
    state.set_instances("blue", [blue.url])
    state.set_instances("green", [green.url])
    client = fleet.router(state)

    unnamed = {client.post("/score", headers=AUTH).json()["deployment"] for _ in range(50)}
    assert unnamed == {"blue"}
    named = client.post("/score", headers={**AUTH, "azureml-model-deployment": "green"})
    assert named.json()["deployment"] == "green"
    assert named.headers["azureml-model-deployment"] == "green"

    unknown = client.post("/score", headers={**AUTH, "azureml-model-deployment": "red"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "DEPLOYMENT_NOT_FOUND"
    assert "no deployment named 'red'" in unknown.json()["message"]


def test_no_live_traffic_is_azures_404_and_no_ready_instance_a_503(fleet: Fleet) -> None:
    blue = fleet.start("blue")
    state = endpoint()
    state.set_instances("blue", [blue.url])
    client = fleet.router(state)

    none = client.post("/score", headers=AUTH)
    assert none.status_code == 404
    assert none.json()["code"] == "NO_VALID_DEPLOYMENT"
    assert "positive traffic weight" in none.json()["message"]
    assert client.post("/score", headers={**AUTH, "azureml-model-deployment": "blue"}).is_success

    state.set_traffic({"blue": 100})
    assert client.post("/score", headers=AUTH).status_code == 200
    state.set_instances("blue", [])  # its worker crashed and is restarting
    down = client.post("/score", headers=AUTH)
    assert down.status_code == 503
    assert down.json()["code"] == "DEPLOYMENT_UNAVAILABLE"
    assert down.headers["azureml-model-deployment"] == "blue"


def test_live_traffic_splits_70_30_over_http(fleet: Fleet) -> None:
    blue, green = fleet.start("blue"), fleet.start("green")
    state = endpoint(blue=70, green=30)
    state.set_instances("blue", [blue.url])
    state.set_instances("green", [green.url])
    client = fleet.router(state)

    n = 1000
    answers = [client.post("/score", headers=AUTH) for _ in range(n)]
    assert all(a.status_code == 200 for a in answers)
    served = [a.headers["azureml-model-deployment"] for a in answers]
    assert served == [a.json()["deployment"] for a in answers]
    # Binomial(1000, 0.3): sd 14.5; 5 sd is 72. The draws are seeded, so this never flakes.
    assert abs(served.count("green") - 300) <= 72, served.count("green")
    assert len(green.hits) == served.count("green")


def test_instances_of_a_deployment_take_turns(fleet: Fleet) -> None:
    one, two = fleet.start("blue"), fleet.start("blue")
    state = endpoint(blue=100)
    state.set_instances("blue", [one.url, two.url])
    client = fleet.router(state)
    for _ in range(10):
        assert client.post("/score", headers=AUTH).status_code == 200
    assert (len(one.hits), len(two.hits)) == (5, 5)


def test_bodies_over_the_limit_get_413(fleet: Fleet) -> None:
    blue = fleet.start("blue")
    state = EndpointState("ep", keys=[KEY], max_request_bytes=1024)
    state.set_traffic({"blue": 100})
    state.set_instances("blue", [blue.url])
    client = fleet.router(state)

    assert client.post("/score", headers=AUTH, content=b"x" * 1024).status_code == 200
    declared = client.post("/score", headers=AUTH, content=b"x" * 1025)
    assert declared.status_code == 413
    assert declared.json()["code"] == "REQUEST_TOO_LARGE"

    def chunks() -> Iterator[bytes]:
        yield from (b"y" * 400 for _ in range(3))

    streamed = client.post("/score", headers=AUTH, content=chunks())  # chunked, no length
    assert streamed.status_code == 413
    assert len(blue.hits) == 1


def test_concurrent_callers_share_the_pool(fleet: Fleet) -> None:
    one, two = fleet.start("blue"), fleet.start("blue")
    state = endpoint(blue=100)
    state.set_instances("blue", [one.url, two.url])
    base = str(fleet.router(state).base_url)

    def caller(i: int) -> list[int]:
        with httpx.Client(base_url=base, timeout=WAIT_SECONDS) as client:
            return [
                client.post("/score", headers=AUTH, content=b"%d" % i).status_code
                for _ in range(25)
            ]

    with ThreadPoolExecutor(max_workers=16) as callers:
        statuses = [code for codes in callers.map(caller, range(16)) for code in codes]
    assert statuses == [200] * 400
    assert (len(one.hits), len(two.hits)) == (200, 200)  # every pick takes the next turn


# -- failures ----------------------------------------------------------------------------


def test_a_dead_instance_is_skipped_and_all_dead_is_a_502(fleet: Fleet) -> None:
    blue = fleet.start("blue")
    state = endpoint(blue=100)
    client = fleet.router(state)
    with ExitStack() as ports:
        dead = [ports.enter_context(dead_url()) for _ in range(2)]
        state.set_instances("blue", [dead[0], blue.url])
        answers = [client.post("/score", headers=AUTH) for _ in range(20)]
        assert [a.status_code for a in answers] == [200] * 20
        assert len(blue.hits) == 20

        state.set_instances("blue", dead)
        down = client.post("/score", headers=AUTH)
        assert down.status_code == 502
        assert down.json()["code"] == "UPSTREAM_UNREACHABLE"
        assert down.headers["azureml-model-deployment"] == "blue"
    metrics = client.get("/metrics", headers=AUTH).text
    labels = {"endpoint": "ep", "deployment": "blue", "reason": "connect"}
    assert sample(metrics, "orchard_endpoint_upstream_errors_total", **labels) >= 12


def test_a_slow_answer_times_out_with_408(fleet: Fleet) -> None:
    gate = threading.Event()
    slow = fleet.start("blue", gate)
    state = EndpointState("ep", keys=[KEY], request_timeout_s=0.3)
    state.set_traffic({"blue": 100})
    state.set_instances("blue", [slow.url])
    client = fleet.router(state)
    try:
        response = client.post("/score", headers=AUTH)
    finally:
        gate.set()
    assert response.status_code == 408
    assert response.json()["code"] == "REQUEST_TIMEOUT"


WORKER = textwrap.dedent(
    """
    import os, socket, sys
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    name, fd, crashes = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "crash"

    async def score(request):
        await request.body()
        if crashes and request.url.path == "/crash":
            os._exit(1)  # dies in the middle of a request, answering nothing
        return JSONResponse({"deployment": name})

    app = Starlette(routes=[Route("/{path:path}", score, methods=["GET", "POST"])])
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])
    """
)


@contextmanager
def worker(name: str, *, crashes: bool = False) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A worker process on a port that listens before it starts; killed at the end."""
    sock = listening()
    url = url_of(sock)
    args = [sys.executable, "-c", WORKER, name, str(sock.fileno()), "crash" if crashes else "-"]
    process = subprocess.Popen(args, pass_fds=[sock.fileno()])
    sock.close()  # the worker holds the only copy: when it dies, the port refuses
    try:
        yield url, process
    finally:
        process.kill()
        process.wait(timeout=WAIT_SECONDS)


def test_a_killed_worker_drops_no_request_while_another_is_up(fleet: Fleet) -> None:
    state = endpoint(blue=100)
    client = fleet.router(state)
    with worker("a") as (a, first), worker("b") as (b, _):
        state.set_instances("blue", [a, b])
        warm = [client.post("/score", headers=AUTH).json()["deployment"] for _ in range(6)]
        assert sorted(warm) == ["a"] * 3 + ["b"] * 3  # both keep a pooled connection now

        first.kill()
        first.wait(timeout=WAIT_SECONDS)
        after = [client.post("/score", headers=AUTH) for _ in range(30)]
        assert [r.status_code for r in after] == [200] * 30
        assert {r.json()["deployment"] for r in after} == {"b"}


def test_a_worker_dying_mid_request_is_retried_on_the_next(fleet: Fleet) -> None:
    state = endpoint(blue=100)
    client = fleet.router(state)
    with worker("a", crashes=True) as (a, crashing), worker("b") as (b, _):
        state.set_instances("blue", [a, b])
        answers = [client.post("/crash", headers=AUTH, json={"x": 1}) for _ in range(4)]
        assert [r.status_code for r in answers] == [200] * 4
        assert {r.json()["deployment"] for r in answers} == {"b"}
        assert crashing.wait(timeout=WAIT_SECONDS) == 1
    metrics = client.get("/metrics", headers=AUTH).text
    assert sample(metrics, "orchard_endpoint_upstream_errors_total", reason="disconnect") >= 1


# -- mirror ------------------------------------------------------------------------------


def mirror_draws(seed: int, n: int, percent: int) -> int:
    """How many of `n` unnamed requests the seeded state mirrors: it draws twice per
    request, once for the live deployment and once for the mirror."""
    draw = random.Random(seed).random
    return sum((draw(), draw() * 100 < percent)[1] for _ in range(n))


def test_the_mirror_gets_its_share_and_its_answers_are_discarded(fleet: Fleet) -> None:
    blue, green = fleet.start("blue"), fleet.start("green")
    state = endpoint(blue=100, green=0)
    state.set_traffic({"blue": 100, "green": 0}, {"green": 30})
    state.set_instances("blue", [blue.url])
    state.set_instances("green", [green.url])
    client = fleet.router(state)

    n = 300
    answers = [client.post(f"/score?i={i}", headers=AUTH, content=b"{}") for i in range(n)]
    assert {a.json()["deployment"] for a in answers} == {"blue"}
    expected = mirror_draws(42, n, 30)
    assert abs(expected - 90) <= 40  # Binomial(300, 0.3): sd 7.9, 5 sd
    green.hits.wait_for(expected)
    named = client.post("/score", headers={**AUTH, "azureml-model-deployment": "blue"})
    assert named.is_success
    assert len(green.hits) == expected  # named requests are not mirrored
    copies = {h["query"] for h in green.hits.requests}
    assert copies <= {h["query"] for h in blue.hits.requests}  # the same requests, copied

    metrics = client.get("/metrics", headers=AUTH).text
    mirrored = sample(
        metrics, "orchard_endpoint_mirrored_requests_total", deployment="green", code="200"
    )
    live = sample(metrics, "orchard_endpoint_requests_total", deployment="blue", code="200")
    assert (mirrored, live) == (expected, n + 1)


def test_a_slow_or_failing_mirror_never_delays_or_fails_live_answers(fleet: Fleet) -> None:
    gate = threading.Event()
    blue, green = fleet.start("blue"), fleet.start("green", gate)
    state = endpoint(blue=100, green=0)
    state.set_traffic({"blue": 100, "green": 0}, {"green": 50})
    state.set_instances("blue", [blue.url])
    state.set_instances("green", [green.url])
    client = fleet.router(state)
    try:
        answers = [client.post("/score", headers=AUTH) for _ in range(40)]
        assert [a.status_code for a in answers] == [200] * 40  # while green hangs
        green.hits.wait_for(mirror_draws(42, 40, 50))
    finally:
        gate.set()
    with ExitStack() as ports:
        state.set_instances("green", [ports.enter_context(dead_url())])
        answers = [client.post("/score", headers=AUTH) for _ in range(20)]
        assert [a.status_code for a in answers] == [200] * 20  # while green refuses


# -- metrics -----------------------------------------------------------------------------


def test_metrics_count_each_deployments_requests_and_latency(fleet: Fleet) -> None:
    blue, green = fleet.start("blue"), fleet.start("green")
    state = endpoint(blue=100, green=0)
    state.set_instances("blue", [blue.url])
    state.set_instances("green", [green.url])
    client = fleet.router(state)
    other = EndpointState("other")  # a second router's registry in the same process
    fleet.router(other)

    for _ in range(3):
        client.post("/score", headers=AUTH)
    client.post("/score", headers={**AUTH, "azureml-model-deployment": "green"})
    client.post("/score")  # 401

    assert client.get("/metrics").status_code == 401
    scraped = client.get("/metrics", headers=AUTH)
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    count = "orchard_endpoint_requests_total"
    assert sample(text, count, endpoint="ep", deployment="blue", code="200") == 3
    assert sample(text, count, endpoint="ep", deployment="green", code="200") == 1
    assert sample(text, count, endpoint="ep", deployment="", code="401") == 1
    latency = "orchard_endpoint_request_duration_seconds_count"
    assert sample(text, latency, deployment="blue") == 3
    assert sample(text, "orchard_endpoint_ready_instances", deployment="blue") == 1
    assert 'endpoint="other"' not in text  # each state has its own registry
    assert 'endpoint="ep"' not in generate_latest(other.registry).decode()

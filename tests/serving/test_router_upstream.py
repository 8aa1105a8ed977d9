"""The router's upstream HTTP/1.1 client against a worker that answers with exact bytes:
the framings a response can have, interim responses, keep-alive reuse, broken answers.
"""

from __future__ import annotations

import gzip
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
import uvicorn

from orchard.serving.router import EndpointState, create_router

KEY = "k"
AUTH = {"Authorization": f"Bearer {KEY}"}
ZIPPED = gzip.compress(b'{"zipped": true}')

# path -> the pieces the worker writes (each its own send), and whether it then hangs up
ANSWERS: dict[str, tuple[list[bytes], bool]] = {
    "/length": (
        [b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n", b"hello"],
        False,
    ),
    "/chunked": (
        [
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n",
            b"5\r\nhello\r\n",
            b"7;ext=1\r\n, world\r\n",
            b"0\r\nx-trailer: t\r\n\r\n",
        ],
        False,
    ),
    "/until-close": (
        [b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nstreamed ", b"to the end"],
        True,
    ),
    "/interim": (
        [
            b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        ],
        False,
    ),
    "/empty": ([b"HTTP/1.1 204 No Content\r\nx-note: none\r\n\r\n"], False),
    "/zipped": (
        [
            b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n"
            % len(ZIPPED),
            ZIPPED,
        ],
        False,
    ),
    "/broken": ([b"NONSENSE\r\n\r\n"], False),
    "/hang-up": ([b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial"], True),
}


class Handler(socketserver.BaseRequestHandler):
    server: Worker

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections += 1
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, path, _ = lines[0].split(b" ")
            length = next(
                (
                    int(v)
                    for k, _, v in (line.partition(b":") for line in lines[1:])
                    if k.strip().lower() == b"content-length"
                ),
                0,
            )
            while len(buffer) < length:
                buffer += sock.recv(65536)
            buffer = buffer[length:]
            self.server.seen.append((method.decode(), path.decode()))
            pieces, hang_up = ANSWERS[path.decode().partition("?")[0]]
            if method == b"HEAD":
                pieces = [b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n"]
            for piece in pieces:
                sock.sendall(piece)
            if hang_up:
                return


class Worker(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.connections = 0
        self.seen: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def worker() -> Iterator[Worker]:
    server = Worker()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def router(state: EndpointState) -> Iterator[httpx.Client]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(create_router(state), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=30) as c:
            yield c
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def setup() -> Iterator[tuple[Worker, httpx.Client]]:
    with ExitStack() as stack:
        upstream = stack.enter_context(worker())
        state = EndpointState("ep", keys=[KEY], request_timeout_s=10)
        state.set_traffic({"blue": 100})
        state.set_instances("blue", [upstream.url])
        yield upstream, stack.enter_context(router(state))


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/length", 200, b"hello"),
        ("/chunked", 200, b"hello, world"),
        ("/until-close", 200, b"streamed to the end"),
        ("/interim", 200, b"ok"),
        ("/empty", 204, b""),
    ],
)
def test_each_framing_arrives_whole(
    setup: tuple[Worker, httpx.Client], path: str, status: int, body: bytes
) -> None:
    _, client = setup
    for _ in range(3):  # and again on the same (or, after a close, a new) connection
        response = client.post(path, headers=AUTH, content=b"in")
        assert (response.status_code, response.content) == (status, body)
        assert response.headers["azureml-model-deployment"] == "blue"
        assert "transfer-encoding" not in response.headers
        if body:
            assert response.headers["content-length"] == str(len(body))


def test_connections_are_kept_alive_and_reused(setup: tuple[Worker, httpx.Client]) -> None:
    upstream, client = setup
    for _ in range(10):
        assert client.post("/length", headers=AUTH).status_code == 200
    assert upstream.connections == 1
    assert client.post("/until-close", headers=AUTH).status_code == 200
    assert client.post("/length", headers=AUTH).status_code == 200
    assert upstream.connections == 2  # the worker hung up, so a new one


def test_an_encoded_body_passes_through_untouched(setup: tuple[Worker, httpx.Client]) -> None:
    _, client = setup
    response = client.get("/zipped", headers={**AUTH, "accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"zipped": True}  # httpx decodes what the router passed on
    assert response.headers["content-length"] == str(len(ZIPPED))


def test_head_gets_headers_and_no_body(setup: tuple[Worker, httpx.Client]) -> None:
    upstream, client = setup
    response = client.head("/length", headers=AUTH)
    assert (response.status_code, response.content) == (200, b"")
    assert client.post("/length", headers=AUTH).content == b"hello"  # still in step
    assert upstream.connections == 1


def test_a_broken_or_cut_answer_is_a_502(setup: tuple[Worker, httpx.Client]) -> None:
    upstream, client = setup
    broken = client.post("/broken", headers=AUTH)
    assert broken.status_code == 502
    assert broken.json()["code"] == "UPSTREAM_UNREACHABLE"
    assert upstream.seen.count(("POST", "/broken")) == 1
    cut = client.post("/hang-up", headers=AUTH)
    assert cut.status_code == 502  # it answered part, then died: nothing else to try
    assert client.post("/length", headers=AUTH).content == b"hello"

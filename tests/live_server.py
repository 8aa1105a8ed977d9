"""Orchard's app served by uvicorn on a free loopback port, for tests that speak HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

READY_SECONDS = 30.0


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL once /health answers."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="orchard-test-server", daemon=True)
    thread.start()
    try:
        yield _wait_until_healthy(server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait_until_healthy(server: uvicorn.Server, thread: threading.Thread) -> str:
    deadline = time.monotonic() + READY_SECONDS
    pause = threading.Event()
    while time.monotonic() < deadline:
        assert thread.is_alive(), "the test server stopped while starting"
        if server.started and server.servers:
            port = server.servers[0].sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            try:
                if httpx.get(f"{url}/health", timeout=1).text == "OK":
                    return url
            except httpx.TransportError:
                pass
        pause.wait(0.01)  # pacing between polls, not synchronisation
    raise AssertionError("the test server did not answer /health in time")

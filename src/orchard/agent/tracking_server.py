"""The tracking API on a loopback port for one job's lifetime, so `mlflow.*` calls in
the script land in the job's run with no server for the user to start."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from orchard.services import Services

READY_TIMEOUT_SECONDS = 30.0


@contextmanager
def serve_tracking(services: Services, workspace: str) -> Iterator[str]:
    import uvicorn

    from orchard.server.app import create_app

    app = create_app(services, default_workspace=workspace)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="orchard-tracking", daemon=True)
    thread.start()
    try:
        port = _wait_for_port(server, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait_for_port(server: object, thread: threading.Thread) -> int:
    started = getattr(server, "started", False)
    deadline = threading.Event()
    waited = 0.0
    while not started:
        if not thread.is_alive():
            raise RuntimeError("the job's tracking server failed to start")
        deadline.wait(0.01)
        waited += 0.01
        if waited > READY_TIMEOUT_SECONDS:
            raise RuntimeError("the job's tracking server did not start in time")
        started = getattr(server, "started", False)
    servers = getattr(server, "servers", [])
    return int(servers[0].sockets[0].getsockname()[1])

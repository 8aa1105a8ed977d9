"""The tracking API on a loopback port for one job's lifetime, so `mlflow.*` calls in
the script land in the job's run with no server for the user to start."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchard.services import Services

STOP_TIMEOUT_SECONDS = 10.0


@contextmanager
def serve_tracking(services: Services, workspace: str) -> Iterator[str]:
    """Serve on a socket bound before the server is built: the URI is known at once, and
    importing the web stack overlaps the script's own start-up. Calls made before the
    server runs wait in the socket's backlog."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    holder: dict[str, Any] = {}
    stopping = threading.Event()

    def serve() -> None:
        import uvicorn

        from orchard.server.app import create_app

        app = create_app(services, default_workspace=workspace)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        holder["server"] = server = uvicorn.Server(config)
        if not stopping.is_set():
            server.run(sockets=[listener])

    thread = threading.Thread(target=serve, name="orchard-tracking", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stopping.set()  # set before reading holder: serve() sees one or we see the server
        if "server" in holder:
            holder["server"].should_exit = True
            thread.join(timeout=STOP_TIMEOUT_SECONDS)
        # Else it is still importing: no call was ever answered, and it stops on its own.
        listener.close()

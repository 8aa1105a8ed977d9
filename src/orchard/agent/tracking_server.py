"""The tracking API on a loopback port for one job's lifetime, so `mlflow.*` calls in
the script land in the job's run with no server for the user to start."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orchard.services import Services


def preload() -> None:
    """Import the web stack now, in a process that forks many job runners (a sweep), so
    each runner starts with it instead of importing it again beside its script."""
    import uvicorn  # noqa: F401

    import orchard.server.app  # noqa: F401


@contextmanager
def serve_tracking(services: Services, workspace: str) -> Iterator[str]:
    """Serve on a socket bound before the server is built: the URI is known at once, and
    importing the web stack overlaps the script's own start-up. Calls made before the
    server runs wait in the socket's backlog."""
    # Named TCP: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say so, and
    # with it on, each answer waits out the client's delayed ACK (40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
            # The script has exited, so no call is on its way: the server winds down in the
            # background (uvicorn looks at should_exit every 0.1 s) while the job finishes.
            holder["server"].should_exit = True
        else:
            listener.close()  # still importing: no call was ever answered

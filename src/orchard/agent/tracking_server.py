"""The tracking API on a loopback port for one job's lifetime, so `mlflow.*` calls in
the script land in the job's run with no server for the user to start."""

from __future__ import annotations

import select
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
def serve_tracking(
    services: Services, workspace: str, *, import_early: bool = True
) -> Iterator[str]:
    """Serve on a socket bound before the server is built: the URI is known at once, and
    importing the web stack overlaps the script's own start-up. The app itself is built
    only when the first call arrives (a script that tracks nothing, such as many sweep
    trials, never pays for it); calls wait in the socket's backlog meanwhile. With
    `import_early=False` the web stack too is imported only then: a sweep's trial, whose
    sweep preloads it once its trials are seen to track."""
    # Named TCP: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say so, and
    # with it on, each answer waits out the client's delayed ACK (40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    wake_reader, wake_writer = socket.socketpair()
    lock = threading.Lock()
    holder: dict[str, Any] = {}

    def serve() -> None:
        if import_early:
            preload()
        select.select([listener, wake_reader], [], [])
        import uvicorn

        from orchard.server.app import create_app

        with lock:
            if holder.get("stopped"):
                listener.close()
                return  # the job ended before any call
            app = create_app(services, default_workspace=workspace)
            config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
            holder["server"] = server = uvicorn.Server(config)
        server.run(sockets=[listener])

    thread = threading.Thread(target=serve, name="orchard-tracking", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        with lock:
            holder["stopped"] = True
            server = holder.get("server")
        wake_writer.send(b"x")  # a serve() still waiting for a first call returns
        if server is not None:
            # The script has exited, so no call is on its way: the server winds down in the
            # background (uvicorn looks at should_exit every 0.1 s) while the job finishes.
            server.should_exit = True

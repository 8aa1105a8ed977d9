"""`orchard server` as a real process on a free loopback port, up until the block ends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def orchard_server(*args: str, env: dict[str, str]) -> Iterator[str]:
    """The server's base URL once /health answers; the server stops when the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "orchard.cli.main", "server", "--port", str(port), *args]
    started = time.monotonic()
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        pause = threading.Event()
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            assert time.monotonic() - started < READY_SECONDS, "orchard server did not start"
            try:
                if httpx.get(f"{url}/health", timeout=1).text == "OK":
                    break
            except httpx.TransportError:
                pause.wait(0.02)  # pacing between polls
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()

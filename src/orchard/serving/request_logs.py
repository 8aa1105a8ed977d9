"""Each deployment's request log: a line per scoring request the router answered, as an
inference server's access log has it, in `<deployment>/logs/requests.log` under the
endpoint host's folder (requests no deployment took, a 401 say, in `requests.log` beside).

Lines are buffered and flushed by the host's supervision tick (twice a second) and at
shutdown, so the router's hot path makes no system call for them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

LOG_NAME = "requests.log"


class RequestLog:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root  # None: nothing is written (the router's tests)
        self._sinks: dict[str, TextIO] = {}
        self._lock = threading.Lock()

    def write(
        self, deployment: str, method: str, path: str, status: int, seconds: float, request_id: str
    ) -> None:
        if self.root is None:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{now} {method} {path} {status} {seconds * 1000:.2f}ms request-id={request_id}\n"
        with self._lock:
            sink = self._sinks.get(deployment)
            if sink is None:
                sink = self._sinks[deployment] = _open(self.root, deployment)
            sink.write(line)

    def flush(self) -> None:
        with self._lock:
            for sink in self._sinks.values():
                sink.flush()

    def close(self) -> None:
        with self._lock:
            for sink in self._sinks.values():
                sink.close()
            self._sinks.clear()


def log_path(root: Path, deployment: str) -> Path:
    return root / deployment / "logs" / LOG_NAME if deployment else root / LOG_NAME


def _open(root: Path, deployment: str) -> TextIO:
    path = log_path(root, deployment)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")

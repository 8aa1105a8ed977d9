"""Starting an endpoint's host process where none runs, and finding the one that does."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from orchard.entities.endpoints import applied_marker
from orchard.errors import OrchardError
from orchard.runtime.processes import alive
from orchard.services import Services
from orchard.serving.request_logs import LOG_NAME

START_SECONDS = 60.0
APPLY_SECONDS = 30.0
POLL_SECONDS = 0.05


def _root(services: Services, workspace: str, endpoint: str) -> Path:
    return services.context.home / "endpoints" / workspace / endpoint


def deployment_log(
    services: Services, workspace: str, endpoint: str, deployment: str, lines: int
) -> str:
    """The last `lines` of each of the deployment's workers' logs and of its request log
    (`get-logs`)."""
    logs = _root(services, workspace, endpoint) / deployment / "logs"
    parts = []
    found = [*sorted(logs.glob("instance-*.log")), logs / LOG_NAME] if logs.is_dir() else []
    for path in (p for p in found if p.is_file()):
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        parts.append(f"--- {path.stem} ---\n" + "\n".join(tail))
    return "\n".join(parts)


def running_host(services: Services, workspace: str, endpoint: str) -> str | None:
    """The base URL of the endpoint's live host on this machine, if one runs."""
    body = _record(services, workspace, endpoint)
    if not body or not alive(int(body["pid"])):
        return None
    return f"http://127.0.0.1:{body['port']}"


def _record(services: Services, workspace: str, endpoint: str) -> dict[str, Any]:
    record = _root(services, workspace, endpoint) / "host.json"
    try:
        body: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return body


def ensure_host(services: Services, workspace: str, endpoint: str) -> str:
    """The endpoint's host, started now (detached: it outlives this command) if needed,
    once it serves the endpoint's traffic and keys as the store has them now."""
    url = running_host(services, workspace, endpoint) or _start(services, workspace, endpoint)
    found = services.online_endpoints.get(workspace, endpoint)
    wanted = applied_marker(found, services.online_endpoints.keys(workspace, endpoint))
    deadline = time.monotonic() + APPLY_SECONDS
    while _record(services, workspace, endpoint).get("applied") != wanted:
        if time.monotonic() >= deadline:
            raise OrchardError(f"the host of online endpoint {endpoint!r} did not take the change")
        time.sleep(POLL_SECONDS)  # the host applies the store's state every half second
    return url


def _start(services: Services, workspace: str, endpoint: str) -> str:
    root = _root(services, workspace, endpoint)
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ORCHARD_DATABASE_URL": services.context.store.url}
    argv = [sys.executable, "-m", "orchard.serving.host", "--workspace", workspace]
    argv += ["--endpoint", endpoint, "--home", str(services.context.home)]
    with (root / "host.log").open("ab") as log:
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=root,
        )
    return _wait_started(services, workspace, endpoint, process, root / "host.log")


def stop_host(services: Services, workspace: str, endpoint: str) -> None:
    record = _root(services, workspace, endpoint) / "host.json"
    with contextlib.suppress(OSError, ValueError, ProcessLookupError):
        os.kill(int(json.loads(record.read_text(encoding="utf-8"))["pid"]), signal.SIGTERM)


def _wait_started(
    services: Services, workspace: str, endpoint: str, process: subprocess.Popen[bytes], log: Path
) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-10:]
            raise OrchardError(
                f"the host of online endpoint {endpoint!r} exited at start:\n" + "\n".join(tail)
            )
        url = running_host(services, workspace, endpoint)
        if url is not None and _answers(url):
            return url
        time.sleep(POLL_SECONDS)  # the host writes its record once it listens
    raise OrchardError(f"the host of online endpoint {endpoint!r} did not start in time")


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url + "/", timeout=2.0).status_code == 200
    return False

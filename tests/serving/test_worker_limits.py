"""What a worker does at the edges: init() failing or slow, more requests than it may run at
once, and a run() slower than the deployment's request timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from test_worker import serving, start_worker, wait_ready, write_code

WAIT_SECONDS = 30.0

# init() and run() wait on files the test creates: the test decides when each step ends.
GATED_SCRIPT = """
    import os, threading, uuid
    from pathlib import Path

    GATES = Path(os.environ["GATES"])

    def wait_for(name):
        while not (GATES / name).exists():
            threading.Event().wait(0.01)

    def init():
        (GATES / "init-started").touch()
        wait_for("finish-init")
        if (GATES / "fail-init").exists():
            raise RuntimeError("the model file is missing")

    def run(data):
        (GATES / f"running-{uuid.uuid4().hex}").touch()
        wait_for("release")
        return "done"
"""


def until(condition: str, check: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    """Poll `check` until it holds; the pause is pacing, the deadline bounds it."""
    deadline = time.monotonic() + seconds
    pause = threading.Event()
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        pause.wait(0.01)


def refused(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.ConnectError:
        return True
    return False


def gated_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[Path, list[str]]:
    gates = tmp_path / "gates"
    gates.mkdir()
    monkeypatch.setenv("GATES", str(gates))  # the worker inherits it
    code = write_code(tmp_path, GATED_SCRIPT)
    (tmp_path / "models").mkdir()
    argv = ["--model-dir", str(tmp_path / "models"), "--code", str(code)]
    return gates, [*argv, "--scoring-script", "score.py", *args]


def test_the_port_opens_only_once_init_has_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates, argv = gated_worker(tmp_path, monkeypatch)
    log = tmp_path / "worker.log"
    process, port = start_worker(log, *argv)
    try:
        until("init() to start", (gates / "init-started").exists)
        assert refused(port), "the port answered while init() was still running"
        (gates / "finish-init").touch()
        wait_ready(process, port, log)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "Healthy"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_init_failing_exits_3_with_its_traceback_and_never_listens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates, argv = gated_worker(tmp_path, monkeypatch)
    log = tmp_path / "worker.log"
    process, port = start_worker(log, *argv)
    try:
        until("init() to start", (gates / "init-started").exists)
        assert refused(port)
        (gates / "fail-init").touch()
        (gates / "finish-init").touch()
        assert process.wait(timeout=WAIT_SECONDS) == 3
    finally:
        if process.poll() is None:
            process.kill()
    output = log.read_text()
    assert "Traceback" in output
    assert "RuntimeError: the model file is missing" in output
    assert "Uvicorn running" not in output
    assert refused(port)


def test_a_script_without_run_exits_3_naming_what_is_missing(tmp_path: Path) -> None:
    code = write_code(tmp_path, "def init():\n    pass\n")
    (tmp_path / "models").mkdir()
    log = tmp_path / "worker.log"
    argv = ["--model-dir", str(tmp_path / "models"), "--code", str(code)]
    process, _ = start_worker(log, *argv, "--scoring-script", "score.py")
    assert process.wait(timeout=WAIT_SECONDS) == 3
    assert "does not define a run() function" in log.read_text()


def test_beyond_max_concurrent_requests_a_request_gets_429_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates, argv = gated_worker(tmp_path, monkeypatch, "--max-concurrent-requests", "2")
    (gates / "finish-init").touch()
    with serving(tmp_path / "worker.log", *argv) as worker:
        url = worker.url
        answers: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda: answers.append(_post(url))) for _ in range(2)]
        for thread in threads:
            thread.start()
        until("two runs in flight", lambda: len(list(gates.glob("running-*"))) == 2)
        started = time.monotonic()
        busy = _post(url)
        assert busy.status_code == 429
        assert busy.json()["code"] == "TOO_MANY_REQUESTS"
        assert time.monotonic() - started < 2.0  # refused at once, not queued
        assert httpx.get(f"{url}/").status_code == 200  # health checks still answer
        (gates / "release").touch()
        for thread in threads:
            thread.join(timeout=WAIT_SECONDS)
        assert [a.status_code for a in answers] == [200, 200]
        assert _post(url).json() == "done"  # the places are free again


def test_a_run_past_the_request_timeout_gets_408_and_keeps_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates, argv = gated_worker(
        tmp_path, monkeypatch, "--max-concurrent-requests", "1", "--request-timeout-ms", "300"
    )
    (gates / "finish-init").touch()
    with serving(tmp_path / "worker.log", *argv) as worker:
        url = worker.url
        slow = _post(url)
        assert slow.status_code == 408
        assert "request_timeout_ms" in slow.json()["message"]
        # The timed-out run() is still going (threads cannot be stopped): its place is taken.
        assert _post(url).status_code == 429
        (gates / "release").touch()
        until("the slow run to end", lambda: _post(url).status_code == 200)


def _post(url: str) -> httpx.Response:
    return httpx.post(f"{url}/score", json={}, timeout=WAIT_SECONDS)

"""The messages between the driver and a worker process, sent over a multiprocessing Pipe.

Driver to worker: a `Task`, or None to ask it to call `shutdown()` and exit. Worker to
driver: `Ready` once `init()` returned (or `InitFailed`), then one `Done` or `Failed` per
task.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union


@dataclass(frozen=True)
class WorkerConfig:
    slot: int
    entry_script: str  # absolute
    code: str  # absolute: the worker's cwd and first sys.path entry
    argv: list[str]  # the worker's sys.argv[1:]: the step's program_arguments
    logs: str  # absolute: the job's logs folder
    logging_level: str
    dataset: str
    want_rows: bool  # append_row keeps what run() returns; summary_only only counts it


@dataclass(frozen=True)
class Task:
    index: int
    payload: Any
    partition_key_value: dict[str, Any] | None


@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class InitFailed:
    traceback: str


@dataclass(frozen=True)
class Done:
    index: int
    lines: list[str] | None
    count: int | None  # how many results run() returned, when it returned a sized thing


@dataclass(frozen=True)
class Failed:
    index: int
    error: str  # one line: the exception's type and message
    traceback: str


Message = Union[Ready, InitFailed, Done, Failed]


@dataclass(frozen=True)
class WorkerLogs:
    """Where a worker's output goes, laid out as Azure's `logs/user/...` folders are."""

    stdout: Path
    stderr: Path
    engine: Path

    @classmethod
    def of(cls, logs: str | os.PathLike[str], slot: int) -> WorkerLogs:
        root, node, process = Path(logs), socket.gethostname() or "node", f"process{slot:03d}"
        return cls(
            stdout=root / "user" / "stdout" / node / f"{process}.stdout.txt",
            stderr=root / "user" / "stderr" / node / f"{process}.stderr.txt",
            engine=root / "sys" / "worker" / node / f"{process}.txt",
        )

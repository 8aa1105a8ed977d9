"""One worker process: load the entry script, `init()` once, `run()` each mini-batch.

As on Azure, the script's folder is the cwd and first on sys.path, and the step's
program_arguments are `sys.argv[1:]`, so the script's own argparse in init() reads them.
The worker's stdout and stderr go to its own files under `logs/user/`.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import inspect
import logging
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

from orchard.parallel.protocol import (
    Done,
    Failed,
    InitFailed,
    Ready,
    Task,
    WorkerConfig,
    WorkerLogs,
)
from orchard.parallel.results import as_lines

PR_SET_PDEATHSIG = 1
log = logging.getLogger("orchard.parallel.worker")


class MiniBatchContext:
    """The second argument of `run(mini_batch, mini_batch_context)`, Azure's names."""

    def __init__(
        self, minibatch_index: int, dataset: str, partition_key_value: dict[str, Any] | None
    ) -> None:
        self.minibatch_index = minibatch_index
        self.dataset = dataset
        self.partition_key_value = partition_key_value or {}

    def __repr__(self) -> str:
        return (
            f"MiniBatchContext(minibatch_index={self.minibatch_index}, "
            f"dataset={self.dataset!r}, partition_key_value={self.partition_key_value!r})"
        )


def serve(config: WorkerConfig, conn: Connection) -> None:
    """The worker's main: runs until the driver sends None or goes away."""
    _die_with_parent()
    # Ctrl-C reaches the whole group; the driver decides what stops, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _redirect_output(config)
    try:
        module = _load(config)
        init = getattr(module, "init", None)
        if callable(init):
            init()
        run = getattr(module, "run", None)
        if not callable(run):
            raise AttributeError(f"{config.entry_script} defines no run(mini_batch) function")
    except BaseException:
        text = traceback.format_exc()
        sys.stderr.write(text)
        conn.send(InitFailed(text))
        return
    log.info("init() done; pid %s", os.getpid())
    conn.send(Ready(os.getpid()))
    _serve_tasks(config, conn, run, _takes_context(run))
    shutdown = getattr(module, "shutdown", None)
    if callable(shutdown):
        try:
            shutdown()
        except Exception:
            log.exception("shutdown() raised")


def _serve_tasks(
    config: WorkerConfig, conn: Connection, run: Callable[..., Any], with_context: bool
) -> None:
    while True:
        try:
            task: Task | None = conn.recv()
        except EOFError:
            return  # the driver is gone
        if task is None:
            return
        log.info("mini-batch %d started", task.index)
        try:
            if with_context:
                context = MiniBatchContext(task.index, config.dataset, task.partition_key_value)
                result = run(task.payload, context)
            else:
                result = run(task.payload)
            lines = as_lines(result)
        except (Exception, SystemExit) as error:
            text = traceback.format_exc()
            sys.stderr.write(f"mini-batch {task.index} failed:\n{text}")
            log.warning("mini-batch %d failed: %s", task.index, _one_line(error))
            conn.send(Failed(task.index, _one_line(error), text))
            continue
        log.info("mini-batch %d done: %d rows", task.index, len(lines))
        conn.send(Done(task.index, lines if config.want_rows else None, len(lines)))


def _load(config: WorkerConfig) -> ModuleType:
    script = Path(config.entry_script)
    if not script.is_file():
        raise FileNotFoundError(f"entry_script: no such file: {script}")
    os.chdir(config.code)
    for folder in dict.fromkeys([str(script.parent), config.code]):
        sys.path.insert(0, folder)
    sys.argv = [str(script), *config.argv]
    spec = importlib.util.spec_from_file_location(script.stem, script)
    assert spec is not None and spec.loader is not None  # a .py file always has both
    module = importlib.util.module_from_spec(spec)
    sys.modules[script.stem] = module  # so the script's classes pickle and import by name
    spec.loader.exec_module(module)
    return module


def _takes_context(run: Callable[..., Any]) -> bool:
    """Azure's rule: a run() with two parameters is given the mini-batch context."""
    try:
        parameters = list(inspect.signature(run).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in positional for p in parameters) >= 2


def _redirect_output(config: WorkerConfig) -> None:
    paths = WorkerLogs.of(config.logs, config.slot)
    for path in (paths.stdout, paths.stderr, paths.engine):
        path.parent.mkdir(parents=True, exist_ok=True)
    # At the descriptor level, so output from C extensions and child processes goes too.
    for fd, path in ((1, paths.stdout), (2, paths.stderr)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as we do
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    handler = logging.FileHandler(paths.engine, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(config.logging_level)
    log.propagate = False


def _die_with_parent() -> None:
    """If the driver is killed outright, its workers go too (Linux), leaving no orphans."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the driver died before the signal was armed


def _one_line(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__

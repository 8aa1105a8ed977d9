"""Running uv: where its binary is, the environment it runs with, and the build log.

Every uv command a build runs is written to the build log with its whole output, so a
failed build can be understood from the log alone.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from orchard.runtime.environments.errors import EnvironmentBuildError

# Index settings a pip user already has; uv reads only its own names.
_PIP_TO_UV = {"PIP_INDEX_URL": "UV_INDEX_URL", "PIP_EXTRA_INDEX_URL": "UV_EXTRA_INDEX_URL"}


def uv_binary(*, required: bool = True) -> str | None:
    """The uv executable: the one the `uv` package ships, else one on PATH."""
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if found is None and required:
        raise EnvironmentBuildError(
            "uv is not installed: environments are built with uv (pip install uv)"
        )
    return found


def uv_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment uv runs with: never download an interpreter, never prompt."""
    env = dict(os.environ if base is None else base)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_PYTHON_PREFERENCE"] = "only-system"
    env["UV_NO_PROGRESS"] = "1"
    env.pop("VIRTUAL_ENV", None)  # uv would otherwise report on Orchard's own venv
    for pip_name, uv_name in _PIP_TO_UV.items():
        if env.get(pip_name) and not env.get(uv_name) and not env.get("UV_DEFAULT_INDEX"):
            env[uv_name] = env[pip_name]
    return env


class BuildLog:
    """An append-only log file that also echoes each line to an optional callback."""

    def __init__(self, path: Path, echo: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._echo = echo
        self._file: TextIO = path.open("a", encoding="utf-8")

    def line(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self._file.write(part + "\n")
            if self._echo is not None:
                self._echo(part)
        self._file.flush()

    def section(self, title: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.line(f"== {stamp} {title}")

    def run(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
        """Run a command, streaming its merged output into the log; (exit code, output)."""
        self.line(f"$ {shlex.join(command)}")
        output: list[str] = []
        try:
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            self.line(f"cannot run {command[0]}: {exc}")
            return 127, str(exc)
        assert process.stdout is not None
        with process.stdout:
            for raw in process.stdout:
                text = raw.rstrip("\n")
                output.append(text)
                self.line(text)
        code = process.wait()
        self.line(f"[exit {code}]")
        return code, "\n".join(output)

    def close(self) -> None:
        self._file.close()

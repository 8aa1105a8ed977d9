"""The two signals an environment build gives: a failure, and a substitution warning."""

from __future__ import annotations

from pathlib import Path

from orchard.errors import ValidationError

LOG_TAIL_LINES = 50


class EnvironmentBuildError(ValidationError):
    """An environment that cannot be built here; carries the build log when one was written."""

    code = "ENVIRONMENT_BUILD_FAILED"

    def __init__(self, message: str, *, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.log_tail = tail(log_path) if log_path is not None else ""
        if log_path is not None:
            # The tail goes in the message itself: the CLI prints only the message, and the
            # last lines of uv's output are almost always the ones that say what went wrong.
            message = (
                f"{message}\nbuild log: {log_path}\n"
                f"--- last {LOG_TAIL_LINES} lines ---\n{self.log_tail}"
            )
        details = {"log_path": str(log_path)} if log_path is not None else None
        super().__init__(message, details=details)


class EnvironmentWarning(UserWarning):
    """Orchard built something other than what the spec asked for, and says what instead."""


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])

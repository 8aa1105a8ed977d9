"""The checks CI holds the code to, run as tests so `pytest` is the one command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def test_ruff_lint_is_clean() -> None:
    done = run(tool("ruff"), "check", "src", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = run(tool("ruff"), "format", "--check", "src", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean() -> None:
    done = run(tool("mypy"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_layers_only_call_downwards() -> None:
    done = run(tool("lint-imports"))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("limit", [800])
def test_no_module_holds_two_things(limit: int) -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in (ROOT / "src").rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > limit} == {}

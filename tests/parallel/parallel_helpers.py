"""Running the parallel driver as a job would, on data and scripts made in tmp_path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

DRIVER = [sys.executable, "-m", "orchard.parallel.driver"]


@dataclass
class Finished:
    code: int
    output: str
    root: Path

    @property
    def last_line(self) -> str:
        return self.output.strip().splitlines()[-1]

    def rows(self, name: str = "parallel_run_step.txt") -> list[str]:
        return (self.root / "out" / name).read_text().splitlines()


def write_script(root: Path, body: str, name: str = "score.py") -> Path:
    code = root / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / name).write_text(textwrap.dedent(body))
    return code


def write_files(folder: Path, count: int, size: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"f{i:03d}.txt"
        path.write_bytes(b"x" * size)
        paths.append(path)
    return paths


def drive(
    root: Path,
    *flags: str,
    entry_script: str = "score.py",
    python: str = sys.executable,
    env: dict[str, str] | None = None,
) -> Finished:
    """The driver over `root/data` with `root/code/<entry_script>`, rows to `root/out`."""
    command = [
        python,
        "-m",
        "orchard.parallel.driver",
        "--entry-script",
        entry_script,
        "--code",
        str(root / "code"),
        "--output",
        str(root / "out"),
        *flags,
    ]
    if "--input-data" not in flags:
        command += ["--input-data", str(root / "data"), "--input-type", "uri_folder"]
    done = subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    return Finished(done.returncode, done.stdout + done.stderr, root)

"""Finding a Python interpreter on this machine for a version a spec asks for.

No interpreter is ever downloaded: a spec's `python=3.10` uses a 3.10 the machine already
has, or the interpreter Orchard runs on, with a warning saying so. Candidates are always
run once to read their version, because a name on PATH can be a shim that does not work
(pyenv's `python3.10` shim fails unless 3.10 is the active pyenv version).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from orchard.runtime.environments.uvtool import uv_binary, uv_environ

_PROBE = "import json, sys; print(json.dumps([sys.version.split()[0], sys.executable]))"
# The minor versions a range such as `python>=3.8,<3.11` is matched against, newest first.
_KNOWN_MINORS = tuple(f"3.{minor}" for minor in range(14, 6, -1))


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # the full version, "3.10.13"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def host_interpreter() -> Interpreter:
    """The interpreter Orchard runs on, by the path of its base installation.

    Inside a virtual environment sys.executable is the venv's python; new venvs are made
    over the base interpreter so they do not depend on Orchard's own venv.
    """
    base = getattr(sys, "_base_executable", None) or sys.executable
    return Interpreter(path=base, version=".".join(map(str, sys.version_info[:3])))


@functools.lru_cache(maxsize=64)
def describe(path: str) -> Interpreter | None:
    """The interpreter at `path`, or None when it does not run (a broken shim, say)."""
    try:
        done = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=10, check=False
        )
        version, executable = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return Interpreter(path=path if os.path.isabs(path) else executable, version=version)


def requested_minors(python_spec: str) -> list[str]:
    """The `X.Y` series a pip-style specifier allows: `==3.10.*` -> [3.10]."""
    try:
        spec = SpecifierSet(python_spec)
    except InvalidSpecifier:
        return []
    # `==3.10.*` (conda's `python=3.10`) names one series; anything else is a range.
    pinned = [s.version for s in spec if s.operator in ("==", "===")]
    if pinned:
        try:
            release = Version(pinned[0].rstrip(".*")).release
        except InvalidVersion:
            return []
        return [f"{release[0]}.{release[1]}"] if len(release) >= 2 else []
    # A range: a series is allowed when its first or a late patch release is.
    return [m for m in _KNOWN_MINORS if f"{m}.0" in spec or f"{m}.99" in spec]


def select_python(python_spec: str | None) -> tuple[Interpreter, str | None]:
    """The interpreter for a spec, and a warning when the host stands in for it."""
    host = host_interpreter()
    if not python_spec:
        return host, None
    minors = requested_minors(python_spec)
    if not minors or host.minor in minors:
        return host, None
    for minor in minors:
        found = find_python(minor)
        if found is not None:
            return found, None
    wanted = " or ".join(minors) if len(minors) <= 3 else f"python{python_spec}"
    warning = (
        f"Python {wanted} is not installed on this machine and Orchard never downloads "
        f"one; using the host's Python {host.version} ({host.path}) instead"
    )
    return host, warning


def find_python(minor: str) -> Interpreter | None:
    """A working interpreter of series `minor` ("3.10") on this machine, or None."""
    for candidate in _candidates(minor):
        found = describe(candidate)
        if found is not None and found.minor == minor:
            return found
    return None


def _candidates(minor: str) -> list[str]:
    candidates: list[str] = []
    uv_found = _uv_find(minor)
    if uv_found:
        candidates.append(uv_found)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        executable = shutil.which(f"python{minor}", path=directory)
        if executable is None:
            continue
        folder = Path(directory)
        if folder.name == "shims" and (folder.parent / "versions").is_dir():
            # A pyenv shim: the real interpreters live under <pyenv root>/versions.
            pattern = f"{minor}.*/bin/python{minor}"
            candidates.extend(str(p) for p in sorted((folder.parent / "versions").glob(pattern)))
        candidates.append(executable)
    return list(dict.fromkeys(candidates))


def _uv_find(minor: str) -> str | None:
    uv = uv_binary(required=False)
    if uv is None:
        return None
    try:
        done = subprocess.run(
            [uv, "python", "find", "--python-preference", "only-system", minor],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=uv_environ(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    path = done.stdout.strip()
    return path if done.returncode == 0 and path else None

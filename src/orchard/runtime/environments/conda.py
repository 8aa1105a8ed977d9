"""Conda environment files and pip requirement lists, read into one list of pip requirements.

Orchard builds every environment with uv from PyPI, so a conda file's dependencies are
translated: conda package names that differ on PyPI are renamed, packages that are not
Python packages (compilers, BLAS, CUDA, MPI) are dropped with a note, and conda's version
syntax (`numpy=1.22` means any 1.22.x) is rewritten in pip's (`numpy==1.22.*`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from orchard.runtime.environments.errors import EnvironmentBuildError

# Conda names whose PyPI name differs. Names that are the same on both sides
# (scikit-learn, python-dateutil, tensorflow-cpu, ...) need no entry.
CONDA_TO_PIP: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "pyyaml": "PyYAML",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "ruamel_yaml": "ruamel.yaml",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "dask-core": "dask",
    "tensorflow-gpu": "tensorflow",
    "pyqt": "PyQt5",
    "python-graphviz": "graphviz",
}

# Conda packages that are not Python packages: the machine provides them, or the PyPI
# wheels of the packages that need them bundle their own copy (numpy bundles OpenBLAS).
_SYSTEM_GROUPS = {
    "interpreter and installer": "python pip",
    "BLAS and MKL switches": "cpuonly nomkl mkl mkl-include mkl-service mkl_fft mkl_random "
    "mkl-devel intel-openmp tbb blas libblas libcblas liblapack liblapacke openblas libopenblas",
    "MPI and CUDA": "openmpi mpich impi_rt cudatoolkit cudatoolkit-dev cudnn nccl cuda "
    "pytorch-cuda pytorch-mutex _py-xgboost-mutex libxgboost liblightgbm",
    "compilers and runtimes": "libgcc-ng libgcc libstdcxx-ng libstdcxx libgfortran-ng "
    "libgfortran5 libgomp _libgcc_mutex _openmp_mutex ld_impl_linux-64 gcc gxx gfortran "
    "gcc_linux-64 gxx_linux-64 c-compiler cxx-compiler compilers make cmake ninja",
    "system libraries and tools": "ca-certificates openssl git curl wget zlib xz bzip2 lz4-c "
    "zstd sqlite tk readline ncurses libffi libuuid libzlib libsqlite libnsl libxcrypt "
    "arrow-cpp libarrow libprotobuf jpeg libjpeg-turbo libpng libtiff freetype fontconfig "
    "libxml2 icu krb5 hdf5 boost boost-cpp libuv libiconv expat gettext libedit yaml "
    "libsodium zeromq nodejs r-base graphviz-bin tzdata",
}
SYSTEM_PACKAGES: frozenset[str] = frozenset(
    name for names in _SYSTEM_GROUPS.values() for name in names.split()
)
SYSTEM_PREFIXES = ("cuda-", "libcu", "libnv", "libnpp", "r-", "_")

# pip options that may stand in a requirements list; uv reads them from a requirements file.
INDEX_OPTIONS = ("--index-url", "--extra-index-url", "-i ", "--find-links", "-f ", "--pre")

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(.*)$")
_OPERATORS = ("==", "!=", ">=", "<=", "~=", ">", "<")


@dataclass(frozen=True)
class PipSpec:
    """What a conda file or requirement list asks pip for, plus notes for the build log."""

    python: str | None = None  # a pip-style specifier for the interpreter, e.g. "==3.10.*"
    requirements: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)


def load_conda_file(conda_file: str | dict[str, Any]) -> dict[str, Any]:
    """The conda file as a dict, from a dict, a path to a YAML file, or YAML text."""
    if isinstance(conda_file, dict):
        return conda_file
    text = conda_file
    if "\n" not in conda_file and conda_file.strip().endswith((".yml", ".yaml")):
        path = Path(conda_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EnvironmentBuildError(f"conda_file {conda_file!r} cannot be read: {exc}") from exc
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EnvironmentBuildError(f"conda_file is not valid YAML: {exc}") from exc
    if not isinstance(content, dict):
        raise EnvironmentBuildError("conda_file must be a conda environment YAML mapping")
    return content


def conda_to_pip(conda_file: str | dict[str, Any]) -> PipSpec:
    """The pip requirements and the Python version a conda environment file asks for."""
    content = load_conda_file(conda_file)
    dependencies = content.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise EnvironmentBuildError("conda_file: `dependencies` must be a list")
    python: str | None = None
    requirements: list[str] = []
    notes: list[str] = []
    for entry in dependencies:
        if isinstance(entry, dict):
            pip_entries = entry.get("pip") or []
            if not isinstance(pip_entries, list):
                raise EnvironmentBuildError("conda_file: the `pip:` section must be a list")
            spec = pip_requirements([str(item) for item in pip_entries])
            requirements.extend(spec.requirements)
            notes.extend(spec.notes)
            continue
        name, constraint = split_conda_spec(str(entry))
        if name is None:
            notes.append(f"ignored conda dependency {entry!r}: not a package specification")
            continue
        key = name.lower()
        if key == "python":
            python = constraint or None
            continue
        if key in SYSTEM_PACKAGES or key.startswith(SYSTEM_PREFIXES):
            notes.append(f"dropped conda package {name!r}: not a Python package on PyPI")
            continue
        pip_name = CONDA_TO_PIP.get(key, name)
        if pip_name != name:
            notes.append(f"conda package {name!r} installs from PyPI as {pip_name!r}")
        requirements.append(f"{pip_name}{constraint}")
    return PipSpec(python=python, requirements=tuple(requirements), notes=tuple(notes))


def split_conda_spec(spec: str) -> tuple[str | None, str]:
    """(`numpy`, `==1.22.*`) from `conda-forge::numpy=1.22=py310h...`, in pip syntax."""
    text = spec.split("#", 1)[0].strip()
    if "::" in text:  # a channel prefix: conda-forge::numpy
        text = text.split("::", 1)[1]
    text = re.sub(r"\[.*\]$", "", text)  # MatchSpec brackets (build options) do not map
    match = _NAME.match(text)
    if match is None:
        return None, ""
    name, rest = match.group(1), match.group(2).strip()
    if not rest:
        return name, ""
    if rest[0] == "=" and not rest.startswith("=="):
        # `=1.22` or `=1.22=build`: fuzzy version, then an optional build string.
        version = rest[1:].split("=", 1)[0]
    elif rest.startswith(_OPERATORS):
        version = rest
        # `==1.22=py310_0`: a build string after the version; drop it.
        version = re.sub(r"(?<=[0-9*])=[^=,<>!~].*$", "", version)
    else:
        version = rest.split()[0]  # `numpy 1.22 py310_0`: version, then build
    return name, conda_version_to_pip(version)


def conda_version_to_pip(version: str) -> str:
    """`1.22` -> `==1.22.*`, `>=1.2,<2` unchanged, `1.2|1.3` -> `` (pip has no `or`)."""
    version = version.replace(" ", "")
    if not version or version == "*" or "|" in version:
        return ""
    parts: list[str] = []
    for part in version.split(","):
        if not part:
            continue
        operator = next((op for op in _OPERATORS if part.startswith(op)), "")
        value = part[len(operator) :]
        if operator in ("", "="):
            # Conda's bare and single-`=` versions are prefixes: 1.22 matches 1.22.4.
            parts.append(f"=={_wildcard(value)}")
        elif operator in ("==", "!="):
            parts.append(f"{operator}{_wildcard(value) if value.endswith('*') else value}")
        else:
            # pip allows a wildcard only with == and !=; a bound is a bound without it.
            parts.append(f"{operator}{value.rstrip('*').rstrip('.')}")
    return ",".join(parts)


def _wildcard(value: str) -> str:
    stem = value.rstrip("*").rstrip(".")
    return f"{stem}.*" if stem else "*"


def pip_requirements(lines: list[str]) -> PipSpec:
    """Requirement lines as pip reads them: comments stripped, file references dropped."""
    requirements: list[str] = []
    notes: list[str] = []
    for raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith(INDEX_OPTIONS):
            requirements.append(line)
            continue
        if line.startswith("-"):
            notes.append(f"ignored requirement line {line!r}: files and editables are not read")
            continue
        # `numpy=1.26.4` is a conda habit that pip rejects; it means the pip `==`.
        single = re.match(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)=([^=].*)$", line)
        if single is not None:
            line = f"{single.group(1)}=={single.group(2)}"
            notes.append(f"read {raw.strip()!r} as {line!r}")
        requirements.append(normalize_requirement(line))
    return PipSpec(requirements=tuple(requirements), notes=tuple(notes))


def normalize_requirement(line: str) -> str:
    """One spelling per requirement (`certifi >= 2023.7` -> `certifi>=2023.7`) for the hash."""
    try:
        return str(Requirement(line))
    except InvalidRequirement:
        return line  # a URL or path: uv reads it as written


def requirement_key(line: str) -> str:
    """Sort key: the canonical project name, so the digest ignores the order given."""
    try:
        return f"{canonicalize_name(Requirement(line).name)} {line}"
    except InvalidRequirement:
        return f"~ {line}"

"""Real builds with uv: cached by digest, built once under concurrency, failures logged."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from orchard.entities.assets import Environment
from orchard.errors import ValidationError
from orchard.runtime.environments import (
    EnvironmentBuilder,
    EnvironmentBuildError,
    EnvironmentWarning,
    ResolvedEnvironment,
    resolve_environment,
)

SIX = Environment(name="six", pip_requirements=["six==1.16.0"])


@pytest.fixture(autouse=True)
def _shared_uv_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each test gets its own HOME; one uv download cache for the module keeps them fast.
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "uv-cache"))


def run_in(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)


def uv_commands(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("$ ")]


def test_host_environment_sees_host_packages_and_installs_nothing(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(tmp_path / "envs")
    lines: list[str] = []
    built = builder.build(Environment(name="default"), log=lines.append)
    assert not built.reused and built.python.is_file()
    done = run_in(built.python, "import orchard, sys; print(sys.prefix)")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == built.root
    assert [c for c in uv_commands(built.build_log) if " pip install " in c] == []
    assert any(line.startswith("$ ") for line in lines)  # the log callback saw the commands
    env = built.env_vars()
    assert env["VIRTUAL_ENV"] == str(built.root)
    assert env["PATH"].split(os.pathsep)[0] == str(built.bin_dir)


def test_real_build_then_cache_hit(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(tmp_path / "envs")
    built = builder.build(SIX)
    assert not built.reused
    done = run_in(built.python, "import six; print(six.__version__)")
    assert done.stdout.strip() == "1.16.0", done.stderr
    # Isolated: the host's packages (Orchard itself) are not visible.
    assert run_in(built.python, "import orchard").returncode != 0
    commands = uv_commands(built.build_log)
    assert any(" venv " in c for c in commands) and any(" pip install " in c for c in commands)
    assert (built.root / "ready").is_file()

    log_before = built.build_log.read_bytes()
    again = EnvironmentBuilder(tmp_path / "envs")
    reused = again.build(SIX)
    assert reused.reused and reused.digest == built.digest and reused.root == built.root
    assert again.uv_calls == 0
    assert reused.build_log.read_bytes() == log_before


def _build_in_child(cache_root: str, barrier: Barrier, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()  # both processes ask at the same moment
    built = EnvironmentBuilder(Path(cache_root)).build(SIX)
    results.put((built.reused, built.digest))


def test_concurrent_builds_from_two_processes_build_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    cache_root = tmp_path / "envs"
    workers = [
        context.Process(target=_build_in_child, args=(str(cache_root), barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert sorted(reused for reused, _ in outcomes) == [False, True]
    assert len({digest for _, digest in outcomes}) == 1
    digest = outcomes[0][1]
    log = cache_root / digest / "build.log"
    assert len([c for c in uv_commands(log) if " venv " in c]) == 1
    assert sorted(p.name for p in cache_root.iterdir()) == [digest, f"{digest}.lock"]


def test_failing_requirement_raises_with_the_log_tail(tmp_path: Path) -> None:
    environment = Environment(
        name="broken", pip_requirements=["this-package-does-not-exist-orchard==1.0"]
    )
    builder = EnvironmentBuilder(tmp_path / "envs")
    with pytest.raises(EnvironmentBuildError) as raised:
        builder.build(environment)
    error = raised.value
    assert isinstance(error, ValidationError)
    assert error.log_path is not None and error.log_path.is_file()
    assert f"build log: {error.log_path}" in error.message
    assert "this-package-does-not-exist-orchard" in error.log_tail
    assert error.log_tail in error.message
    assert len(error.log_tail.splitlines()) <= 50
    # Nothing half-built is left to be used.
    names = [p.name for p in (tmp_path / "envs").iterdir()]
    assert not [n for n in names if ".tmp-" in n or len(n) == 24]


def test_leftovers_of_a_crashed_build_are_never_used(tmp_path: Path) -> None:
    resolved = resolve_environment(Environment(name="default"))
    assert isinstance(resolved, ResolvedEnvironment)
    cache_root = tmp_path / "envs"
    digest = resolved.digest()
    (cache_root / f"{digest}.tmp-dead0000").mkdir(parents=True)
    (cache_root / digest).mkdir()  # renamed, but the ready marker was never written
    (cache_root / digest / "junk").write_text("half-built")
    built = EnvironmentBuilder(cache_root).build(resolved)
    assert not built.reused
    assert not (built.root / "junk").exists()
    assert not (cache_root / f"{digest}.tmp-dead0000").exists()


@pytest.mark.usefixtures("no_docker_engine")
def test_image_with_conda_file_builds_locally_with_one_warning(tmp_path: Path) -> None:
    environment = Environment(
        name="azure-style",
        image="ubuntu:22.04",
        conda_file={"dependencies": ["pip", {"pip": ["six==1.16.0"]}]},
    )
    with pytest.warns(EnvironmentWarning) as caught:
        built = EnvironmentBuilder(tmp_path / "envs").build(environment)
    assert len(caught) == 1 and "ubuntu:22.04 was not used" in str(caught[0].message)
    assert run_in(built.python, "import six").returncode == 0
    assert "warning: base image ubuntu:22.04 was not used" in built.build_log.read_text()

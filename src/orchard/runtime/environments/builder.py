"""Building a resolved environment into a cached venv with uv, once per spec.

Layout under the cache root, per digest of the resolved spec:

    <digest>/             the venv (bin/python, build.log, requirements.txt, ready)
    <digest>.lock         flock'd while a process builds or checks that digest
    <digest>.tmp-<rand>/  a build in progress, renamed to <digest> when complete
    <digest>.failed.log   the log of the last failed build

A venv counts as built only when its `ready` marker exists, which is written last, after
the rename; a crash at any point leaves something that is never used and is cleared by the
next build of that digest.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchard.entities.assets import Environment
from orchard.runtime.environments.errors import EnvironmentBuildError, EnvironmentWarning
from orchard.runtime.environments.fallback import Replacement, find_replacements
from orchard.runtime.environments.images import DockerPlan
from orchard.runtime.environments.index import PackageIndex
from orchard.runtime.environments.resolve import (
    ResolvedEnvironment,
    python_of,
    resolve_environment,
)
from orchard.runtime.environments.uvtool import BuildLog, uv_binary, uv_environ

READY = "ready"
BUILD_LOG = "build.log"
HOST_PTH = "_orchard_host.pth"
RECORD = "environment.json"  # the resolved spec and any moved pins, for reuse and lineage


@dataclass(frozen=True)
class BuiltEnvironment:
    root: Path
    python: Path
    bin_dir: Path
    build_log: Path
    digest: str
    reused: bool

    def env_vars(self) -> dict[str, str]:
        """What a job process needs to run inside this venv, as `activate` would set."""
        path = os.environ.get("PATH", "")
        return {
            "VIRTUAL_ENV": str(self.root),
            "PATH": f"{self.bin_dir}{os.pathsep}{path}" if path else str(self.bin_dir),
        }


class _BuildFailed(Exception):
    """A build step failed; `build` turns it into EnvironmentBuildError with the kept log."""


class EnvironmentBuilder:
    def __init__(
        self, cache_root: Path, *, strict: bool = False, index: PackageIndex | None = None
    ) -> None:
        self.cache_root = Path(cache_root)
        self.strict = strict
        self._index = index
        self.uv_calls = 0  # uv commands this builder ran: a cache hit runs none

    def build(
        self,
        environment: Environment | ResolvedEnvironment,
        *,
        log: Callable[[str], None] | None = None,
    ) -> BuiltEnvironment:
        resolved = (
            environment
            if isinstance(environment, ResolvedEnvironment)
            else resolve_environment(environment, strict=self.strict)
        )
        if isinstance(resolved, DockerPlan):
            raise EnvironmentBuildError(
                f"this environment runs in a container ({resolved.source}); "
                "the job runner starts it, the venv builder cannot"
            )
        digest = resolved.digest()
        final = self.cache_root / digest
        if (final / READY).is_file():
            return self._done(final, digest, reused=True, log=log)
        self.cache_root.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.cache_root / f"{digest}.lock"):
            # Whoever held the lock before us may have built it: then it is ours to reuse.
            if (final / READY).is_file():
                return self._done(final, digest, reused=True, log=log)
            self._clear_leftovers(digest)
            staging = self.cache_root / f"{digest}.tmp-{secrets.token_hex(4)}"
            staging.mkdir()
            try:
                self._build_into(staging, resolved, digest, log)
            except _BuildFailed as exc:
                failed = self._keep_failed_log(staging, digest)
                raise EnvironmentBuildError(str(exc), log_path=failed) from None
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            os.rename(staging, final)
            marker = {"digest": digest, "built_at": datetime.now(UTC).isoformat()}
            (final / READY).write_text(json.dumps(marker) + "\n", encoding="utf-8")
        return self._done(final, digest, reused=False, log=log)

    def _done(
        self, root: Path, digest: str, *, reused: bool, log: Callable[[str], None] | None
    ) -> BuiltEnvironment:
        if reused:
            self._check_reuse(root, log)
            if log is not None:
                log(f"reusing environment {digest} at {root}")
        return BuiltEnvironment(
            root=root,
            python=root / "bin" / "python",
            bin_dir=root / "bin",
            build_log=root / BUILD_LOG,
            digest=digest,
            reused=reused,
        )

    def _check_reuse(self, root: Path, log: Callable[[str], None] | None) -> None:
        """A cached venv built with moved pins says so again, and strict refuses it.

        The digest is of the spec, not of the build's outcome, so a strict build can meet
        a venv that a non-strict build made with substitutions.
        """
        try:
            record = json.loads((root / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        messages = [Replacement(**item).message() for item in record.get("replacements", [])]
        if messages and self.strict:
            raise EnvironmentBuildError(
                "the cached environment was built with moved pins (--strict-environments): "
                + "; ".join(messages),
                log_path=root / BUILD_LOG,
            )
        for message in messages:
            warnings.warn(message, EnvironmentWarning, stacklevel=4)
            if log is not None:
                log(f"warning: {message}")

    def _clear_leftovers(self, digest: str) -> None:
        # Only the lock holder builds, so any staging folder seen now is from a crash.
        for stale in self.cache_root.glob(f"{digest}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        final = self.cache_root / digest
        if final.exists() and not (final / READY).is_file():
            shutil.rmtree(final, ignore_errors=True)

    def _keep_failed_log(self, staging: Path, digest: str) -> Path:
        failed = self.cache_root / f"{digest}.failed.log"
        with contextlib.suppress(OSError):
            shutil.copyfile(staging / BUILD_LOG, failed)
        shutil.rmtree(staging, ignore_errors=True)
        return failed

    def _build_into(
        self,
        staging: Path,
        resolved: ResolvedEnvironment,
        digest: str,
        log: Callable[[str], None] | None,
    ) -> None:
        blog = BuildLog(staging / BUILD_LOG, log)
        try:
            blog.section(f"build {digest} ({resolved.source})")
            blog.line(f"python: {resolved.python} ({resolved.version()})")
            for requirement in resolved.requirements:
                blog.line(f"requirement: {requirement}")
            for note in resolved.notes:
                blog.line(f"note: {note}")
            for warning in resolved.warnings:
                blog.line(f"warning: {warning}")
            self._create_venv(staging, resolved, blog)
            replacements: list[Replacement] = []
            if resolved.requirements:
                replacements = self._install(staging, resolved, blog)
                self._uv(blog, staging, "pip", "freeze", "--python", str(staging / "bin/python"))
            record = {**asdict(resolved), "digest": digest}
            record["replacements"] = [asdict(r) for r in replacements]
            (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n")
            blog.section("done")
        finally:
            blog.close()

    def _create_venv(self, staging: Path, resolved: ResolvedEnvironment, blog: BuildLog) -> None:
        # --relocatable: the venv is built under a staging name and renamed into place,
        # so its scripts must not carry the staging path. --allow-existing: the build
        # log is already there.
        args = ["venv", "--python", resolved.python, "--relocatable", "--allow-existing"]
        # The host environment installs nothing; the others get pip, as Azure's conda
        # environments have it, for job commands that run `pip install` themselves.
        args += ["--system-site-packages"] if resolved.inherit_host else ["--seed"]
        code, _ = self._uv(blog, staging, *args, str(staging))
        if code != 0:
            raise _BuildFailed(f"creating the venv over {resolved.python} failed")
        if resolved.inherit_host:
            # include-system-site-packages reaches the base interpreter's packages only;
            # the host's own venv (where Orchard and mlflow live) is added through a .pth,
            # by addsitedir so that its own .pth files (editable installs) work too.
            site_dir = staging / "lib" / f"python{python_of(resolved)}" / "site-packages"
            lines = [f"import site; site.addsitedir({d!r})" for d in resolved.host_site_dirs]
            (site_dir / HOST_PTH).write_text("\n".join(lines) + "\n", encoding="utf-8")
            blog.line(f"host packages visible through {site_dir / HOST_PTH}:")
            for directory in resolved.host_site_dirs:
                blog.line(f"  {directory}")

    def _install(
        self, staging: Path, resolved: ResolvedEnvironment, blog: BuildLog
    ) -> list[Replacement]:
        requirements_file = staging / "requirements.txt"
        requirements_file.write_text("\n".join(resolved.requirements) + "\n", encoding="utf-8")
        install = ["pip", "install", "--python", str(staging / "bin" / "python")]
        # Wheels only, first: an old pin with no wheel for this interpreter fails here in a
        # second, where allowing builds would spend minutes compiling it (numpy 1.22 on
        # 3.11) and usually fail anyway.
        code, output = self._uv(blog, staging, *install, "--no-build", "-r", str(requirements_file))
        if code == 0:
            return []
        blog.section("wheels-only install failed: checking pins against the package index")
        index = self._index or PackageIndex()
        try:
            replacements = find_replacements(
                resolved.requirements, output, resolved.version(), index, blog.line
            )
        finally:
            if self._index is None:
                index.close()
        python = python_of(resolved)
        if replacements and self.strict:
            listed = "; ".join(r.message() for r in replacements)
            raise _BuildFailed(
                f"pinned packages cannot install on Python {python} "
                f"(--strict-environments): {listed}"
            )
        requirements = list(resolved.requirements)
        for replacement in replacements:
            warnings.warn(replacement.message(), EnvironmentWarning, stacklevel=4)
            blog.line(f"warning: {replacement.message()}")
            requirements[requirements.index(replacement.requirement)] = replacement.pin
        requirements_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        # Second attempt: source builds allowed, for projects that publish no wheels.
        code, _ = self._uv(blog, staging, *install, "-r", str(requirements_file))
        if code != 0:
            raise _BuildFailed(
                f"installing the requirements ({resolved.source}) on Python {python} failed"
            )
        return replacements

    def _uv(self, blog: BuildLog, cwd: Path, *args: str) -> tuple[int, str]:
        self.uv_calls += 1
        # Never a downloaded or uv-managed interpreter: only what this machine has.
        command = [str(uv_binary()), *args, "--python-preference", "only-system"]
        return blog.run(command, cwd=cwd, env=uv_environ())


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path`; other processes asking for it wait."""
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

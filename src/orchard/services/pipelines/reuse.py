"""Step reuse: a step whose component, code snapshot, environment, parameters and input
contents equal an earlier completed step's takes that step's outputs instead of running.

The key is a digest of the step's job as it would run: the command, the code snapshot
(content-addressed, so its URI names its bytes), the resolved environment, every literal
input, and for data the asset version or URI it reads, plus, for files on a local
datastore, each file's path, size and modification time. An upstream step's output is
named by the URI of the job that produced it, so a step downstream of one that re-ran
re-runs too.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from orchard.entities.datastores import LocalDatastore
from orchard.entities.jobs import CommandJob, JobStatus
from orchard.services.context import Context
from orchard.services.datastores import DatastoreService
from orchard.services.jobs.resolve import DEFAULT_OUTPUT_ROOT, Resolver
from orchard.services.pipelines.steps import REUSED_FROM_PROPERTY, REUSED_PROPERTY
from orchard.services.tracking import RunService
from orchard.storage.paths import safe_join
from orchard.storage.uris import parse_datastore_uri

# Fields of a job that decide what it computes; names and places do not.
_RECIPE_FIELDS = ("command", "code", "environment_variables", "resources", "distribution")
MAX_FINGERPRINT_FILES = 10_000


class StepReuse:
    def __init__(
        self, context: Context, resolver: Resolver, datastores: DatastoreService, runs: RunService
    ) -> None:
        self.context = context
        self.resolver = resolver
        self.datastores = datastores
        self.runs = runs

    def key(self, workspace: str, job: CommandJob) -> str:
        recipe = job.model_dump(mode="json", include=set(_RECIPE_FIELDS), exclude_none=True)
        body = {
            "recipe": recipe,
            "environment": self.resolver.environment(workspace, job),
            "inputs": {
                name: self._input_identity(workspace, spec)
                for name, spec in sorted(self.resolver.inputs(workspace, job).items())
            },
            "outputs": {
                name: {"type": output.type if output else None, "path": _chosen_path(output)}
                for name, output in sorted(job.outputs.items())
            },
        }
        text = json.dumps(body, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def find(self, workspace: str, key: str) -> str | None:
        with self.context.store.read() as tx:
            return tx.step_reuse.find(tx.workspaces.id_of(workspace), key)

    def remember(self, workspace: str, key: str, job: str) -> None:
        with self.context.store.begin() as tx:
            row = tx.jobs.row(job)
            tx.step_reuse.record(tx.workspaces.id_of(workspace), key, row.id)

    def record_reused(
        self, workspace: str, experiment_id: str, job: CommandJob, origin: str
    ) -> None:
        """The step's job, Completed at once with the outputs of `origin`, as Azure shows
        a reused node: its own job, pointing at the one that ran."""
        assert job.name is not None
        with self.context.store.read() as tx:
            source = tx.jobs.row(origin)
            outputs = dict(source.spec.get("resolved", {}).get("outputs", {}))
        spec = job.model_dump(mode="json", exclude_none=True, by_alias=True)
        spec["properties"] = {
            **spec.get("properties", {}),
            REUSED_PROPERTY: "true",
            REUSED_FROM_PROPERTY: origin,
        }
        now = int(time.time() * 1000)
        self.runs.create(
            workspace,
            experiment_id,
            name=job.name,
            run_name=job.display_name or job.name,
            job_type="command",
            status=JobStatus.COMPLETED,
            start_time=now,
            spec={"job": spec, "resolved": {"outputs": outputs, "compute": "local"}},
            parent=job.parent_job_name,
        )
        with self.context.store.begin() as tx:
            row = tx.jobs.row(job.name)
            row.end_time = now
            tx.jobs.touch(row)

    def _input_identity(self, workspace: str, spec: dict[str, Any]) -> Any:
        if spec.get("type") == "literal":
            return spec["value"]
        identity: dict[str, Any] = {"type": spec.get("type"), "uri": spec.get("uri")}
        if spec.get("asset"):
            identity["asset"] = spec["asset"]
        folder = self._local_folder(workspace, str(spec.get("uri", "")))
        if folder is not None:
            identity["files"] = _fingerprint(folder)
        return identity

    def _local_folder(self, workspace: str, uri: str) -> Path | None:
        located = parse_datastore_uri(uri)
        if located is None:
            return None
        datastore = self.datastores.get(workspace, located.datastore)
        if not isinstance(datastore, LocalDatastore):
            return None
        return safe_join(Path(datastore.path), located.path)


def _fingerprint(path: Path) -> list[tuple[str, int, int]]:
    if path.is_file():
        info = path.stat()
        return [(path.name, info.st_size, info.st_mtime_ns)]
    found = []
    for file in sorted(path.rglob("*"))[:MAX_FINGERPRINT_FILES]:
        if file.is_file():
            info = file.stat()
            found.append((file.relative_to(path).as_posix(), info.st_size, info.st_mtime_ns))
    return found


def _chosen_path(output: Any) -> str | None:
    """An output path the user chose decides where results go; a default one (under the
    job's own name) does not count."""
    path = getattr(output, "path", None)
    default_prefix = DEFAULT_OUTPUT_ROOT.split("{job}")[0]
    if path is None or str(path).startswith(default_prefix):
        return None
    return str(path)

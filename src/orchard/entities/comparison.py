"""Jobs side by side: their inputs, params and latest metrics, one column per job.

`inputs`, `params` and `metrics` map each key to {job: value}; a job that never logged the key
has `None` there, so every row names every job. A row *differs* when its values are
not all the same (a missing value differs from any logged one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from orchard.entities.base import Entity
from orchard.entities.tracking import RunData

if TYPE_CHECKING:
    import pandas as pd

Value = str | float | None


class JobComparison(Entity):
    jobs: list[str]
    inputs: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    params: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    metrics: dict[str, dict[str, float | None]] = Field(default_factory=dict)

    @classmethod
    def of(
        cls, data: Mapping[str, RunData], inputs: Mapping[str, Mapping[str, str]] | None = None
    ) -> JobComparison:
        """Build from each job's run data (and inputs), in the order the jobs are given."""
        jobs = list(data)
        given = {job: dict((inputs or {}).get(job, {})) for job in jobs}
        logged_params = {job: {p.key: p.value for p in run.params} for job, run in data.items()}
        logged_metrics = {job: {m.key: m.value for m in run.metrics} for job, run in data.items()}
        return cls(
            jobs=jobs,
            inputs=_by_key(jobs, given),
            params=_by_key(jobs, logged_params),
            metrics=_by_key(jobs, logged_metrics),
        )

    def rows(self) -> list[tuple[str, list[Value]]]:
        """`inputs.<name>`, then `params.<key>`, then `metrics.<key>` rows; values in job
        order."""
        found: list[tuple[str, list[Value]]] = []
        for key, given in self.inputs.items():
            found.append((f"inputs.{key}", [given.get(job) for job in self.jobs]))
        for key, by_job in self.params.items():
            found.append((f"params.{key}", [by_job.get(job) for job in self.jobs]))
        for key, values in self.metrics.items():
            found.append((f"metrics.{key}", [values.get(job) for job in self.jobs]))
        return found

    def differing(self) -> list[str]:
        """The row names (`params.lr`, `metrics.accuracy`) whose values are not all equal."""
        return [name for name, values in self.rows() if not _all_same(values)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "jobs": list(self.jobs),
            "inputs": {key: dict(values) for key, values in self.inputs.items()},
            "params": {key: dict(values) for key, values in self.params.items()},
            "metrics": {key: dict(values) for key, values in self.metrics.items()},
            "differing": self.differing(),
        }

    def to_dataframe(self) -> pd.DataFrame:
        """One row per `inputs.`/`params.`/`metrics.` key, one column per job (object dtype)."""
        import pandas as pd

        rows = self.rows()
        return pd.DataFrame(
            [values for _, values in rows],
            index=pd.Index([name for name, _ in rows], name="key"),
            columns=pd.Index(self.jobs, name="job"),
            dtype=object,
        )


V = TypeVar("V", str, float)


def _by_key(
    jobs: list[str], values: Mapping[str, Mapping[str, V]]
) -> dict[str, dict[str, V | None]]:
    """{key: {job: value or None}} over every key any job has, keys sorted."""
    keys = sorted({key for found in values.values() for key in found})
    return {key: {job: values[job].get(key) for job in jobs} for key in keys}


def _all_same(values: list[Value]) -> bool:
    def normal(value: Value) -> Value:
        # NaN never equals itself; two NaN metrics are the same value here.
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    first = normal(values[0]) if values else None
    return all(normal(value) == first for value in values)

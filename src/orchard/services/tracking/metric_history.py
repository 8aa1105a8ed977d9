"""Metric histories of many runs at once, whole or sampled, as MLflow's charts ask.

`bulk_interval` is MLflow's sampling: the steps logged by all the runs are thinned to
about `max_results` evenly spaced steps inside [start_step, end_step], each run's first
and last step are kept, and each run returns its values at those steps.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from orchard.entities.tracking import Metric
from orchard.errors import ValidationError
from orchard.services.tracking.runs import RunService

MAX_RUNS = 100
MAX_BULK_RESULTS = 25_000
MAX_RESULTS_PER_RUN = 2500


class MetricHistoryService:
    def __init__(self, runs: RunService) -> None:
        self.runs = runs

    def bulk(
        self, workspace: str, run_ids: Sequence[str], key: str, max_results: int | None = None
    ) -> list[Metric]:
        _check_runs(run_ids, "GetMetricHistoryBulk")
        limit = min(max_results or MAX_BULK_RESULTS, MAX_BULK_RESULTS)
        found: list[Metric] = []
        for run_id in sorted(run_ids):
            points, _ = self.runs.metric_history(workspace, run_id, key, max_results=limit)
            found.extend(sorted(points, key=lambda m: (m.timestamp, m.step, m.value)))
        return found[:limit]

    def bulk_interval(
        self,
        workspace: str,
        run_ids: Sequence[str],
        key: str,
        *,
        start_step: int | None = None,
        end_step: int | None = None,
        max_results: int | None = None,
    ) -> list[Metric]:
        _check_runs(run_ids, "GetMetricHistoryBulkInterval")
        limit = MAX_RESULTS_PER_RUN if max_results is None else max_results
        if not 1 <= limit <= MAX_RESULTS_PER_RUN:
            raise ValidationError(f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}.")
        if (start_step is None) != (end_step is None):
            raise ValidationError(
                "If either start step or end step are specified, both must be specified."
            )
        if start_step is not None and end_step is not None and start_step > end_step:
            raise ValidationError(
                "end_step must be greater than start_step. "
                f"Found start_step={start_step} and end_step={end_step}."
            )
        histories = {
            run_id: self.runs.metric_history(workspace, run_id, key)[0] for run_id in run_ids
        }
        steps = _sampled_steps(
            [[m.step for m in points] for points in histories.values()],
            start_step,
            end_step,
            limit,
        )
        per_run = max(limit, len(steps))
        found: list[Metric] = []
        for points in histories.values():
            chosen = sorted(
                (m for m in points if m.step in steps), key=lambda m: (m.step, m.timestamp)
            )
            found.extend(chosen[i] for i in _evenly_spaced(len(chosen), per_run))
        return found


def _sampled_steps(
    runs: list[list[int]], start: int | None, end: int | None, limit: int
) -> set[int]:
    ends = {step for run in runs if run for step in (min(run), max(run))}
    every = sorted({step for run in runs for step in run})
    if start is None or end is None:
        start, end = 0, (every[-1] if every else 0)
    ends = {step for step in ends if start <= step <= end}
    first, last = bisect.bisect_left(every, start), bisect.bisect_right(every, end)
    if last - first <= limit:
        return set(every[first:last]) | ends
    interval = (last - first) / limit
    sampled = {
        every[first + int(i * interval)] for i in range(limit) if first + int(i * interval) < last
    }
    sampled.add(every[last - 1])
    return sampled | ends


def _evenly_spaced(total: int, limit: int) -> list[int]:
    """At most `limit` evenly spaced indices into `total` items, first and last included."""
    if total <= limit:
        return list(range(total))
    if limit == 1:
        return [total - 1]
    step = (total - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


def _check_runs(run_ids: Sequence[str], what: str) -> None:
    if not run_ids:
        raise ValidationError(f"{what} request must specify at least one run_id.")
    if len(run_ids) > MAX_RUNS:
        raise ValidationError(
            f"{what} request cannot specify more than {MAX_RUNS} run_ids. "
            f"Received {len(run_ids)} run_ids."
        )

"""Experiment search with MLflow's filter and order-by strings.

A workspace holds tens or hundreds of experiments, not millions: the search reads them
once and filters, orders and pages in memory, so every filter MLflow offers works the
same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchard.entities.tracking import Experiment
from orchard.errors import ValidationError
from orchard.services.tracking.experiments import ExperimentService
from orchard.services.tracking.filters import matches, parse_filter, parse_order_by, sort_items
from orchard.services.tracking.paging import decode_token, encode_token

MAX_RESULTS = 50_000
_EVERYTHING = 10_000_000
_ATTRIBUTES = {
    "name": "name",
    "experiment_id": "experiment_id",
    "creation_time": "creation_time",
    "last_update_time": "last_update_time",
}
_NUMERIC = ("creation_time", "last_update_time")


class ExperimentSearch:
    def __init__(self, experiments: ExperimentService) -> None:
        self.experiments = experiments

    def search(
        self,
        workspace: str,
        *,
        view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        if max_results < 1 or max_results > MAX_RESULTS:
            raise ValidationError(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                f"between 1 and {MAX_RESULTS}."
            )
        conditions = parse_filter(filter_string, attributes=_ATTRIBUTES)
        orders = parse_order_by(order_by, attributes=_ATTRIBUTES)
        offset = decode_token(page_token)
        everything, _ = self.experiments.search(
            workspace, view_type=view_type, max_results=_EVERYTHING
        )
        found = [
            e for e in everything if all(matches(c, _value(e, c.kind, c.key)) for c in conditions)
        ]
        # MLflow's default: newest first, then by id.
        ordered = sort_items(
            found,
            orders
            or parse_order_by(["creation_time DESC", "experiment_id ASC"], attributes=_ATTRIBUTES),
            _order_value,
        )
        token = encode_token(offset + max_results) if len(ordered) > offset + max_results else None
        return ordered[offset : offset + max_results], token


def _value(experiment: Experiment, kind: str, key: str) -> str | float | None:
    if kind == "tag":
        return next((t.value for t in experiment.tags if t.key == key), None)
    value = getattr(experiment, key)
    return float(value) if key in _NUMERIC and value is not None else value


def _order_value(experiment: Experiment, key: str) -> Any:
    if key == "experiment_id":
        return int(experiment.experiment_id)
    return getattr(experiment, key)

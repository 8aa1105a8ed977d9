"""Tracking entities: a metric point made from trusted values is the same object that
validating the same values makes."""

from __future__ import annotations

import math

import pytest

from orchard.entities.tracking import Metric


@pytest.mark.parametrize("run_id", [None, "run-1"])
def test_a_trusted_point_equals_a_validated_one(run_id: str | None) -> None:
    made = Metric.trusted("loss", 0.25, 1700, 3, run_id, dataset_name="iris")
    given = {"run_id": run_id} if run_id else {}
    validated = Metric(key="loss", value=0.25, timestamp=1700, step=3, dataset_name="iris", **given)
    assert made == validated
    assert made.model_dump() == validated.model_dump()
    assert made.model_dump(exclude_none=True) == validated.model_dump(exclude_none=True)
    assert made.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert made.model_copy(update={"run_id": "other"}).run_id == "other"


def test_a_trusted_point_still_validates_changes() -> None:
    made = Metric.trusted("loss", math.nan, 1, 0)
    assert math.isnan(made.value) and made.model_id is None
    made.step = 5
    assert made.step == 5
    with pytest.raises(ValueError, match="step"):
        made.step = "not a step"  # type: ignore[assignment]

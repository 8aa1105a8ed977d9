"""Early-termination policies load from Azure's YAML shape and name the field they reject."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from orchard.entities.early_termination import (
    BanditPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
    early_termination_adapter,
)


def load(text: str) -> Any:
    return early_termination_adapter.validate_python(yaml.safe_load(text))


def test_bandit_loads_azure_tutorial_yaml() -> None:
    policy = load("type: bandit\nevaluation_interval: 2\nslack_factor: 0.2\ndelay_evaluation: 6\n")
    assert policy == BanditPolicy(slack_factor=0.2, evaluation_interval=2, delay_evaluation=6)
    assert policy.slack_amount is None


def test_defaults_follow_the_yaml_reference() -> None:
    bandit = load("type: bandit\nslack_amount: 0.05\n")
    median = load("type: median_stopping\n")
    truncation = load("type: truncation_selection\ntruncation_percentage: 20\n")
    assert isinstance(median, MedianStoppingPolicy)
    assert isinstance(truncation, TruncationSelectionPolicy)
    for policy in (bandit, median, truncation):
        assert (policy.evaluation_interval, policy.delay_evaluation) == (1, 0)
    assert truncation.exclude_finished_jobs is False


def test_truncation_takes_exclude_finished_jobs() -> None:
    policy = load(
        "type: truncation_selection\ntruncation_percentage: 20\n"
        "evaluation_interval: 1\ndelay_evaluation: 5\nexclude_finished_jobs: true\n"
    )
    assert policy == TruncationSelectionPolicy(
        truncation_percentage=20, delay_evaluation=5, exclude_finished_jobs=True
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"type": "Bandit", "slack_factor": 0.1}, "bandit"),
        ({"type": "MedianStopping"}, "median_stopping"),
        ({"type": "TruncationSelection", "truncation_percentage": 10}, "truncation_selection"),
    ],
)
def test_sdk_and_rest_casing_of_type_is_accepted(body: dict[str, Any], expected: str) -> None:
    assert early_termination_adapter.validate_python(body).type == expected


def test_a_zero_slack_beside_the_one_in_use_reads_as_unset() -> None:
    # What the SDK writes back for BanditPolicy(slack_factor=0.1): both slacks, one of them 0.
    policy = load("type: bandit\nslack_factor: 0.1\nslack_amount: 0.0\nevaluation_interval: 0\n")
    assert (policy.slack_factor, policy.slack_amount, policy.evaluation_interval) == (0.1, None, 0)


def test_dump_is_the_yaml_shape_and_loads_back() -> None:
    policy = BanditPolicy(slack_amount=0.25, delay_evaluation=3)
    body = policy.model_dump(exclude_none=True)
    assert body == {
        "type": "bandit",
        "slack_amount": 0.25,
        "evaluation_interval": 1,
        "delay_evaluation": 3,
    }
    assert early_termination_adapter.validate_python(body) == policy


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("type: bandit\nslack_factor: 0.1\nslack_amount: 0.2\n", "slack_factor or slack_amount"),
        ("type: bandit\n", "slack_factor or slack_amount"),
        ("type: bandit\nslack_factor: 0\n", "slack_factor"),
        ("type: bandit\nslack_amount: -0.5\n", "slack_amount"),
        ("type: bandit\nslack_factor: .nan\n", "slack_factor"),
        ("type: bandit\nslack_factor: 0.1\nevaluation_interval: -1\n", "evaluation_interval"),
        ("type: median_stopping\ndelay_evaluation: -2\n", "delay_evaluation"),
        ("type: median_stopping\nevaluation_interval: 1.5\n", "evaluation_interval"),
        ("type: truncation_selection\n", "truncation_percentage"),
        ("type: truncation_selection\ntruncation_percentage: 0\n", "truncation_percentage"),
        ("type: truncation_selection\ntruncation_percentage: 100\n", "truncation_percentage"),
        ("type: median_stopping\nslack_factor: 0.1\n", "slack_factor"),
        ("type: truncation_selection\ntruncation_percentage: 5\nexclude: true\n", "exclude"),
        ("type: hyperband\n", "type must be one of bandit, median_stopping"),
        ("evaluation_interval: 1\n", "type must be one of"),
    ],
)
def test_bad_input_names_the_field(text: str, named: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load(text)
    assert named in str(raised.value)

"""Each early-termination policy's decisions on hand-made metric curves."""

from __future__ import annotations

import math
from typing import Literal

import pytest

from orchard.entities.early_termination import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
)
from orchard.sweep.termination import TrialCurve, to_cancel

NAN = math.nan
Goal = Literal["maximize", "minimize"]


def running(name: str, *values: float) -> TrialCurve:
    return TrialCurve(name, list(values))


def finished(name: str, *values: float) -> TrialCurve:
    return TrialCurve(name, list(values), finished=True)


def below(x: float) -> float:
    return math.nextafter(x, -math.inf)


def above(x: float) -> float:
    return math.nextafter(x, math.inf)


AMOUNT = BanditPolicy(slack_amount=0.25)


# -- check points ---------------------------------------------------------------------------


def test_no_decision_before_delay_evaluation() -> None:
    policy = BanditPolicy(slack_amount=0.25, delay_evaluation=3)
    assert to_cancel(policy, "maximize", [running("a", 1, 1), running("b", 0, 0)]) == set()
    assert to_cancel(policy, "maximize", [running("a", 1, 1, 1), running("b", 0, 0, 0)]) == {"b"}


def test_check_points_are_multiples_of_the_interval_from_the_delay_on() -> None:
    # Azure: "every multiple of evaluation_interval that is greater than or equal to
    # delay_evaluation": interval 2 and delay 3 check at reports 4, 6, ... (not at 3).
    policy = BanditPolicy(slack_amount=0.25, evaluation_interval=2, delay_evaluation=3)
    assert to_cancel(policy, "maximize", [running("a", 1, 1, 1), running("b", 0, 0, 0)]) == set()
    four = [running("a", 1, 1, 1, 1), running("b", 0, 0, 0, 0)]
    assert to_cancel(policy, "maximize", four) == {"b"}


def test_values_between_check_points_decide_nothing() -> None:
    policy = BanditPolicy(slack_amount=0.25, evaluation_interval=3)
    leader = running("a", *[1.0] * 6)
    assert to_cancel(policy, "maximize", [leader, running("b", 1, 1, 1, 0, 0)]) == set()
    assert to_cancel(policy, "maximize", [leader, running("b", 1, 1, 1, 0, 0, 0)]) == set()
    fell = running("b", 0, 0, 0, 0, 0, 0)
    assert to_cancel(policy, "maximize", [leader, fell]) == {"b"}


def test_a_check_point_decision_holds_until_the_next_check_point() -> None:
    policy = BanditPolicy(slack_amount=0.25, evaluation_interval=3)
    late_recovery = running("b", 0, 0, 0, 5, 5)  # judged at report 3 until it logs report 6
    assert to_cancel(policy, "maximize", [running("a", 1, 1, 1), late_recovery]) == {"b"}


@pytest.mark.parametrize("interval", [0, 1])
def test_interval_zero_or_one_checks_every_report(interval: int) -> None:
    policy = BanditPolicy(slack_amount=0.25, evaluation_interval=interval)
    assert to_cancel(policy, "maximize", [running("a", 1.0), running("b", 0.5)]) == {"b"}


def test_a_trial_short_of_its_first_check_point_is_never_judged() -> None:
    policy = BanditPolicy(slack_amount=0.25, evaluation_interval=2)
    assert to_cancel(policy, "maximize", [running("a", 1, 1), running("b", 0.0)]) == set()


# -- bandit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "policy", "best", "edge", "past"),
    [
        ("maximize", BanditPolicy(slack_amount=0.25), 1.0, 0.75, below(0.75)),
        ("minimize", BanditPolicy(slack_amount=0.25), 1.0, 1.25, above(1.25)),
        ("maximize", BanditPolicy(slack_factor=0.5), 1.5, 1.0, below(1.0)),
        ("minimize", BanditPolicy(slack_factor=0.5), 1.0, 1.5, above(1.5)),
    ],
)
def test_bandit_keeps_the_slack_threshold_and_stops_just_past_it(
    goal: Goal, policy: BanditPolicy, best: float, edge: float, past: float
) -> None:
    curves = [running("best", best), running("edge", edge), running("past", past)]
    assert to_cancel(policy, goal, curves) == {"past"}


def test_bandit_matches_azures_worked_example() -> None:
    # Best 0.8 with slack_factor 0.2: jobs below 0.8 / 1.2 = 0.667 are terminated.
    curves = [running("best", 0.8), running("ok", 0.67), running("low", 0.66)]
    assert to_cancel(BanditPolicy(slack_factor=0.2), "maximize", curves) == {"low"}


def test_bandit_judges_each_trials_best_value_so_far() -> None:
    dipped = running("dipped", 1.0, 0.1)  # its best by report 2 is 1.0
    assert to_cancel(AMOUNT, "maximize", [running("a", 1, 1), dipped]) == set()


def test_bandit_compares_with_other_trials_only_up_to_the_same_report() -> None:
    # At report 2 the leader's best is 1.0; its later 10.0 is not held against "young".
    curves = [running("leader", 1.0, 1.0, 10.0), running("young", 0.5, 0.75)]
    assert to_cancel(AMOUNT, "maximize", curves) == set()


@pytest.mark.parametrize(
    ("goal", "best", "edge", "past"),
    [("maximize", -1.0, -1.25, -1.5), ("minimize", -2.0, -1.0, -0.5)],
)
def test_bandit_slack_factor_on_negative_metrics_keeps_the_best(
    goal: Goal, best: float, edge: float, past: float
) -> None:
    curves = [running("best", best), running("edge", edge), running("past", past)]
    policy = BanditPolicy(slack_factor=0.25 if goal == "maximize" else 1.0)
    assert to_cancel(policy, goal, curves) == {"past"}


def test_bandit_never_stops_a_lone_trial() -> None:
    assert to_cancel(BanditPolicy(slack_factor=0.01), "minimize", [running("a", 5.0)]) == set()


def test_bandit_compares_with_finished_trials_and_never_returns_them() -> None:
    curves = [finished("done", 1.0, 1.0), finished("lost", 0.0), running("b", 0.5)]
    assert to_cancel(AMOUNT, "maximize", curves) == {"b"}


def test_bandit_counts_nan_as_the_worst() -> None:
    assert to_cancel(AMOUNT, "minimize", [running("a", 1.0), running("b", NAN)]) == {"b"}
    assert to_cancel(AMOUNT, "minimize", [running("a", NAN), running("b", NAN)]) == set()


# -- median stopping ------------------------------------------------------------------------


@pytest.mark.parametrize("goal", ["maximize", "minimize"])
def test_median_stops_a_best_worse_than_the_median_of_running_averages(goal: Goal) -> None:
    sign = 1.0 if goal == "maximize" else -1.0
    # The others' running averages at report 2 are 2.0 and 3.0: their median is 2.5.
    peers = [finished("a", sign * 1.0, sign * 3.0), finished("b", sign * 2.0, sign * 4.0)]
    worse = running("worse", sign * 1.0, sign * below(2.5))
    equal = running("equal", sign * 2.5, sign * 0.0)  # best so far 2.5: not worse, kept
    policy = MedianStoppingPolicy()
    assert to_cancel(policy, goal, [*peers, worse]) == {"worse"}
    assert to_cancel(policy, goal, [*peers, equal]) == set()


def test_median_leaves_the_judged_trial_out_of_the_median() -> None:
    # The others average 1.0 and 3.0 (median 2.0), so "d" (best 1.5) is stopped; had its own
    # average of -4.25 been counted, the median would be 1.0 and "d" kept.
    curves = [finished("a", 1.0, 1.0), finished("b", 3.0, 3.0), running("d", 1.5, -10.0)]
    assert to_cancel(MedianStoppingPolicy(), "maximize", curves) == {"d"}


def test_median_judges_every_running_trial_against_the_others() -> None:
    curves = [running("a", 1.0), running("b", 2.0), running("c", 3.0), running("d", 1.75)]
    assert to_cancel(MedianStoppingPolicy(), "maximize", curves) == {"a", "d"}


def test_median_needs_two_other_trials_at_the_same_report() -> None:
    policy = MedianStoppingPolicy()
    one_peer = [running("a", 10.0, 10.0), running("b", 0.0, 0.0)]
    assert to_cancel(policy, "maximize", one_peer) == set()
    short_peer = [*one_peer, running("c", 10.0)]  # "c" has not reached report 2
    assert to_cancel(policy, "maximize", short_peer) == set()
    two_peers = [*one_peer, finished("c", 10.0, 10.0)]
    assert to_cancel(policy, "maximize", two_peers) == {"b"}


def test_median_counts_nan_as_the_worst() -> None:
    curves = [running("a", 1.0), running("b", 2.0), running("c", NAN)]
    assert to_cancel(MedianStoppingPolicy(), "minimize", curves) == {"c"}


# -- truncation selection -------------------------------------------------------------------


TWENTY = TruncationSelectionPolicy(truncation_percentage=20)


def ten() -> list[TrialCurve]:
    """Trials t1..t10, each with one report equal to its number."""
    return [running(f"t{v}", float(v)) for v in range(1, 11)]


@pytest.mark.parametrize(
    ("goal", "worst"), [("maximize", {"t1", "t2"}), ("minimize", {"t9", "t10"})]
)
def test_truncation_stops_the_worst_percentage(goal: Goal, worst: set[str]) -> None:
    assert to_cancel(TWENTY, goal, ten()) == worst


@pytest.mark.parametrize(
    ("percentage", "trials", "stopped"),
    [(20, 4, 0), (20, 5, 1), (25, 10, 2), (99, 2, 1), (1, 99, 0), (1, 100, 1)],
)
def test_truncation_rounds_the_count_down(percentage: int, trials: int, stopped: int) -> None:
    curves = [running(f"t{i}", float(i)) for i in range(trials)]
    policy = TruncationSelectionPolicy(truncation_percentage=percentage)
    assert to_cancel(policy, "maximize", curves) == {f"t{i}" for i in range(stopped)}


def test_truncation_ranks_finished_trials_but_only_stops_running_ones() -> None:
    curves = [finished("t1", 1.0), *ten()[1:]]
    assert to_cancel(TWENTY, "maximize", curves) == {"t2"}


def test_truncation_exclude_finished_jobs_ranks_only_running_trials() -> None:
    curves = [*ten()[:5], *(finished(f"t{v}", float(v)) for v in range(6, 11))]
    excluded = TruncationSelectionPolicy(truncation_percentage=20, exclude_finished_jobs=True)
    assert to_cancel(TWENTY, "maximize", curves) == {"t1", "t2"}
    assert to_cancel(excluded, "maximize", curves) == {"t1"}


def test_truncation_ranks_by_the_value_at_the_check_point() -> None:
    fell = running("fell", 10.0, 0.0)  # its best is 10, its value at report 2 the lowest
    curves = [fell, *(running(f"t{i}", 1.0, 1.0 + i) for i in range(4))]
    assert to_cancel(TWENTY, "maximize", curves) == {"fell"}


def test_truncation_keeps_ties_across_the_cut() -> None:
    # 20% of 10 is two trials, but the second worst ties seven others: only the worst goes.
    curves = [running("t0", 0.0), *(running(f"t{i}", 1.0) for i in range(1, 10))]
    assert to_cancel(TWENTY, "maximize", curves) == {"t0"}
    assert to_cancel(TWENTY, "maximize", [running(f"t{i}", 1.0) for i in range(5)]) == set()


def test_truncation_counts_nan_as_the_worst() -> None:
    curves = [running("nan", NAN), *(running(f"t{i}", float(i)) for i in range(4))]
    assert to_cancel(TWENTY, "maximize", curves) == {"nan"}
    assert to_cancel(TWENTY, "minimize", curves) == {"nan"}


# -- every policy ---------------------------------------------------------------------------

POLICIES: list[EarlyTerminationPolicy] = [
    BanditPolicy(slack_factor=0.1),
    MedianStoppingPolicy(),
    TruncationSelectionPolicy(truncation_percentage=50),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.type)
def test_finished_trials_are_never_returned(policy: EarlyTerminationPolicy) -> None:
    curves = [finished("f0", 0.0), finished("f1", 0.0), *ten()]
    stopped = to_cancel(policy, "maximize", curves)
    assert "t1" in stopped
    assert not stopped & {"f0", "f1"}


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.type)
def test_to_cancel_is_pure_and_ignores_the_order_of_curves(policy: EarlyTerminationPolicy) -> None:
    # Mixed lengths, so trials face different check points in one call.
    values = [[float(i), float(i + i % 3), float(i)][: 2 + i % 2] for i in range(12)]
    curves = [running(f"t{i}", *v) for i, v in enumerate(values)]
    first = to_cancel(policy, "minimize", curves)
    assert first
    assert to_cancel(policy, "minimize", curves) == first
    assert to_cancel(policy, "minimize", list(reversed(curves))) == first


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.type)
def test_no_curves_or_no_reports_stop_nothing(policy: EarlyTerminationPolicy) -> None:
    assert to_cancel(policy, "maximize", []) == set()
    assert to_cancel(policy, "maximize", [running("a"), running("b")]) == set()


def test_duplicate_names_and_unknown_goals_are_refused() -> None:
    with pytest.raises(ValueError, match="own name"):
        to_cancel(AMOUNT, "maximize", [running("a", 1.0), running("a", 2.0)])
    with pytest.raises(ValueError, match="goal"):
        to_cancel(AMOUNT, "Maximize", [running("a", 1.0)])  # type: ignore[arg-type]

"""Which running trials a sweep's early-termination policy stops, by Azure ML's rules.

The controller passes every trial's primary-metric curve each time it checks; `to_cancel`
answers from the curves alone, so asking twice gives the same set and the answer does not
depend on how often it asks. Azure's wording is quoted from "Hyperparameter tuning a model
(v2)", the CLI v2 sweep YAML reference and the azureml SDK's policy pages.

Check points. Each logged value of the primary metric is one interval ("each time the
training script logs the primary metric counts as one interval"), counted from 1. A policy
is applied at report n when n is a multiple of `evaluation_interval` and n >=
`delay_evaluation` ("the policy applies every multiple of evaluation_interval that is
greater than or equal to delay_evaluation"; with interval 100 and delay 200 "the first time
the policy will be applied is at interval 200"). An `evaluation_interval` of 0, the SDK's
"not set", means every report.

Who is judged at which check point. A running trial is judged at its latest check point: the
largest check point n it has reached. It is compared using its first n values and the first
n values of every trial, running or finished, that has reached n, never their later ones
("when evaluating a run at interval N, its performance is only compared with the performance
of other runs up to interval N"). So values logged between check points decide nothing until
the next one, a trial short of its first check point is never stopped, and a trial that has
not reached n takes no part at n. Finished trials (completed, failed or canceled) are
compared against but never returned.

Scores. Values are compared as "higher is better" scores: the value when maximizing, its
negative when minimizing. NaN scores as -inf, the worst.

Bandit: a trial's score at n is the best of its first n values ("any training jobs whose
best metric at interval 10 is less than 0.66 (0.8/(1+slack_factor))"); the best is the
highest such score among the trials that reached n. A trial is stopped when its best so far
is strictly beyond the slack: maximizing, < best / (1 + slack_factor) or < best -
slack_amount; minimizing, > best * (1 + slack_factor) or > best + slack_amount. Exactly at
the threshold is kept. Azure states the ratio for positive metrics; for a negative best the
factor is applied the other way round (maximizing, < best * (1 + slack_factor); minimizing,
> best / (1 + slack_factor)), so the best trial always lies within its own slack.

Median stopping: a trial is stopped when its best value over its first n is strictly worse
than the median of the running averages (the mean of the first n values) of the other trials
that reached n, finished ones included ("stopped at interval 5 if its best primary metric is
worse than the median of the running averages over intervals 1:5 across all training jobs").
It needs MEDIAN_MIN_PEERS such trials: against a single one, the "median" would be that
trial's average (Ray Tune's MedianStoppingRule waits for 3 by default; Azure states none).

Truncation selection: the trials that reached n (only the running ones with
`exclude_finished_jobs`) are ranked by their value at report n ("its performance at interval
5 is in the lowest 20% of performance of all jobs at interval 5"). The lowest percentage is
floor(count * truncation_percentage / 100) trials, rounding down so no trial is cut for
being last of too few: 20% of 10 is 2, of 4 is none. A running trial among them is stopped
unless it ties the worst trial left outside them; ties across the cut are kept.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

from orchard.entities.early_termination import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
)

# The fewest other trials a median stopping decision is made against.
MEDIAN_MIN_PEERS = 2


@dataclass(frozen=True)
class TrialCurve:
    name: str
    values: Sequence[float]  # the primary metric, in the order it was logged (report 1, 2, ...)
    finished: bool = False  # the trial has ended; running trials are False


@dataclass(frozen=True)
class _Scored:
    """A curve as "higher is better" scores, with its running best and running mean."""

    name: str
    finished: bool
    scores: tuple[float, ...]
    bests: tuple[float, ...]
    means: tuple[float, ...]


def to_cancel(
    policy: EarlyTerminationPolicy,
    goal: Literal["maximize", "minimize"],
    curves: Sequence[TrialCurve],
) -> set[str]:
    """The names of the running trials the policy stops, given every trial's curve so far."""
    trials = _scored(goal, curves)
    stopped: set[str] = set()
    for n, judged in _due(policy, trials).items():
        reached = [t for t in trials if len(t.scores) >= n]
        stopped |= _judge(policy, n, judged, reached)
    return stopped


def _scored(goal: str, curves: Sequence[TrialCurve]) -> list[_Scored]:
    if goal not in ("maximize", "minimize"):
        raise ValueError(f"goal must be maximize or minimize, got {goal!r}")
    names = [c.name for c in curves]
    if len(set(names)) != len(names):
        raise ValueError("each trial curve needs its own name")
    sign = 1.0 if goal == "maximize" else -1.0
    return [_score(c, sign) for c in curves]


def _score(curve: TrialCurve, sign: float) -> _Scored:
    scores = tuple(-math.inf if math.isnan(v) else sign * v for v in curve.values)
    sums = accumulate(scores)
    # -inf + inf is NaN; such a mean is no better than the worst.
    means = tuple(_not_nan(total / count) for count, total in enumerate(sums, start=1))
    return _Scored(curve.name, curve.finished, scores, tuple(accumulate(scores, max)), means)


def _not_nan(value: float) -> float:
    return -math.inf if math.isnan(value) else value


def _due(policy: EarlyTerminationPolicy, trials: list[_Scored]) -> dict[int, list[_Scored]]:
    """The running trials that have reached a check point, grouped by their latest one."""
    interval = policy.evaluation_interval or 1
    first = max(policy.delay_evaluation, 1)
    due: dict[int, list[_Scored]] = {}
    for trial in trials:
        latest = len(trial.scores) - len(trial.scores) % interval
        if not trial.finished and latest >= first:
            due.setdefault(latest, []).append(trial)
    return due


def _judge(
    policy: EarlyTerminationPolicy, n: int, judged: list[_Scored], reached: list[_Scored]
) -> set[str]:
    if isinstance(policy, BanditPolicy):
        return _bandit(policy, n, judged, reached)
    if isinstance(policy, MedianStoppingPolicy):
        return _median_stopping(n, judged, reached)
    return _truncation_selection(policy, n, judged, reached)


def _bandit(
    policy: BanditPolicy, n: int, judged: list[_Scored], reached: list[_Scored]
) -> set[str]:
    bar = _slack_bar(policy, max(t.bests[n - 1] for t in reached))
    return {t.name for t in judged if t.bests[n - 1] < bar}


def _slack_bar(policy: BanditPolicy, best: float) -> float:
    """The lowest score within the slack of `best`."""
    if policy.slack_factor is None:
        return best - (policy.slack_amount or 0.0)
    # In scores, Azure's "best / (1 + f)" (maximize) and "best * (1 + f)" (minimize, negated)
    # both move the bar towards zero for a positive best; a negative best moves away from it.
    factor = 1.0 + policy.slack_factor
    return best / factor if best >= 0 else best * factor


def _median_stopping(n: int, judged: list[_Scored], reached: list[_Scored]) -> set[str]:
    if len(reached) - 1 < MEDIAN_MIN_PEERS:
        return set()
    means = sorted(t.means[n - 1] for t in reached)
    return {t.name for t in judged if t.bests[n - 1] < _median_without(means, t.means[n - 1])}


def _median_without(ordered: list[float], own: float) -> float:
    """The median of `ordered` with one copy of `own` left out (which copy does not matter)."""
    skip = bisect_left(ordered, own)
    size = len(ordered) - 1

    def at(index: int) -> float:
        return ordered[index if index < skip else index + 1]

    middle = size // 2
    return at(middle) if size % 2 else (at(middle - 1) + at(middle)) / 2


def _truncation_selection(
    policy: TruncationSelectionPolicy, n: int, judged: list[_Scored], reached: list[_Scored]
) -> set[str]:
    ranked = sorted(
        t.scores[n - 1] for t in reached if not (policy.exclude_finished_jobs and t.finished)
    )
    cut = len(ranked) * policy.truncation_percentage // 100
    if cut == 0:
        return set()
    # The worst score that survives: a trial is cut only if strictly below it.
    kept = ranked[cut]
    return {t.name for t in judged if t.scores[n - 1] < kept}

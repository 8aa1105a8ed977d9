"""The Gaussian-process search behind Bayesian sampling: its gradients, its cap on the trials
it fits, and the points it proposes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from orchard.sweep.gaussian_process import (
    MAX_TRIALS,
    Axis,
    GaussianProcess,
    GaussianProcessSearch,
    fit_kernel,
    keep_informative,
)


def test_the_expected_improvement_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    points = rng.random((30, 3))
    points[:, 2] = rng.integers(0, 3, 30)  # a choice: compared as same or not
    categorical = np.array([False, False, True])
    targets = np.sin(5 * points[:, 0]) + points[:, 1] ** 2 + 0.3 * points[:, 2]
    targets = (targets - targets.mean()) / targets.std()
    theta = fit_kernel(points, targets, categorical, None)
    gp = GaussianProcess(points, targets, categorical, theta)
    free = np.array([True, True, False])
    for _ in range(5):
        x = np.array([*rng.random(2), 1.0])
        value, gradient = gp.log_expected_improvement_and_gradient(x, free)
        assert value == pytest.approx(gp.log_expected_improvement(x[None])[0])
        step = 1e-6
        numeric = [
            (
                gp.log_expected_improvement((x + step * e)[None])[0]
                - gp.log_expected_improvement((x - step * e)[None])[0]
            )
            / (2 * step)
            for e in np.eye(3)[:2]
        ]
        assert gradient == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_at_most_the_cap_of_trials_is_fitted_keeping_the_best_and_the_latest() -> None:
    values = np.array([float(i % 100) for i in range(MAX_TRIALS + 300)])
    kept = keep_informative(values)
    half = MAX_TRIALS // 2
    assert len(kept) == len(set(kept.tolist())) == MAX_TRIALS
    assert kept[-half:].tolist() == list(range(len(values) - half, len(values)))
    dropped = sorted(set(range(len(values))) - set(kept.tolist()))
    assert len(dropped) == 300
    assert values[kept[:half]].min() >= values[dropped].max()
    assert keep_informative(values[:MAX_TRIALS]).tolist() == list(range(MAX_TRIALS))


SMALL: list[Axis] = [("choice", 0, 1), ("steps", 0, 2)]  # 6 points in all


def test_the_last_untried_point_is_proposed_then_none() -> None:
    every = [list(map(float, p)) for p in itertools.product(range(2), range(3))]
    values = [float(n) for _, n in every]
    search = GaussianProcessSearch(SMALL, seed=0)
    assert search.next_point(every[1:], values[1:], []) == [0, 0]
    assert search.next_point(every, values, []) is None


def test_proposals_are_internal_values_inside_the_space() -> None:
    axes: list[Axis] = [("choice", 0, 2), ("steps", 3, 9), ("number", -1.0, 2.0)]
    rng = np.random.default_rng(1)
    finished = [[float(rng.integers(3)), float(rng.integers(3, 10)), rng.uniform(-1, 2)]
                for _ in range(12)]  # fmt: skip
    values = [-((x - 0.5) ** 2) for _, _, x in finished]
    search = GaussianProcessSearch(axes, seed=0)
    for _ in range(3):
        point = search.next_point(finished, values, finished[:2])
        assert point is not None
        choice, steps, number = point
        assert type(choice) is int and 0 <= choice <= 2
        assert type(steps) is int and 3 <= steps <= 9
        assert -1.0 <= number <= 2.0
        assert point not in finished

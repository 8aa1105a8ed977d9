"""Samplers for sweep jobs: supports, reproducibility, the grid's order and Bayesian search."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

from orchard.entities.search_space import (
    BayesianSamplingAlgorithm,
    Distribution,
    GridSamplingAlgorithm,
    RandomSamplingAlgorithm,
    SamplingAlgorithm,
    SearchSpace,
    sampling_algorithm,
)
from orchard.errors import ValidationError
from orchard.sweep.random_draws import from_unit, quantize
from orchard.sweep.sampling import (
    GP_STARTUP_TRIALS,
    BayesianSampler,
    Sampler,
    check_space,
    grid_size,
    make_sampler,
)

RANDOM = RandomSamplingAlgorithm(seed=7)
SOBOL = RandomSamplingAlgorithm(seed=7, rule="sobol")
GRID = GridSamplingAlgorithm()
BAYESIAN = BayesianSamplingAlgorithm()


def space(**params: dict[str, Any]) -> dict[str, Distribution]:
    return TypeAdapter(SearchSpace).validate_python(params)


def draws(sampler: Sampler, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        params = sampler.suggest()
        assert params is not None
        out.append(params)
    return out


def multiple_of(value: float, q: float) -> bool:
    return abs(value / q - round(value / q)) < 1e-9


E = math.e
SUPPORTS: list[tuple[dict[str, Any], type, Callable[[Any], bool]]] = [
    ({"type": "choice", "values": ["a", 2, None]}, object, lambda v: v in ["a", 2, None]),
    ({"type": "randint", "upper": 5}, int, lambda v: 0 <= v < 5),
    ({"type": "uniform", "min_value": -2, "max_value": 3}, float, lambda v: -2 <= v <= 3),
    (
        {"type": "quniform", "min_value": 0, "max_value": 10, "q": 2},
        int,
        lambda v: v % 2 == 0 and 0 <= v <= 10,
    ),
    (
        {"type": "quniform", "min_value": 0, "max_value": 1, "q": 0.25},
        float,
        lambda v: v in {0.0, 0.25, 0.5, 0.75, 1.0},
    ),
    (
        {"type": "loguniform", "min_value": -6, "max_value": -1},
        float,
        lambda v: -6 <= math.log(v) <= -1,
    ),
    (
        {"type": "qloguniform", "min_value": 1, "max_value": 5, "q": 2},
        int,
        lambda v: v % 2 == 0 and 2 <= v <= round(E**5 / 2) * 2,
    ),
    ({"type": "normal", "mu": 10, "sigma": 3}, float, math.isfinite),
    ({"type": "qnormal", "mu": 64, "sigma": 8, "q": 4}, int, lambda v: v % 4 == 0),
    ({"type": "lognormal", "mu": 0, "sigma": 1}, float, lambda v: v > 0),
    (
        {"type": "qlognormal", "mu": -2, "sigma": 0.5, "q": 0.05},
        float,
        lambda v: v >= 0 and multiple_of(v, 0.05),
    ),
]


@pytest.mark.parametrize("algorithm", [RANDOM, SOBOL], ids=["random", "sobol"])
@pytest.mark.parametrize(
    ("body", "kind", "inside"), SUPPORTS, ids=[str(body["type"]) for body, _, _ in SUPPORTS]
)
def test_samples_stay_in_the_support_with_the_right_type(
    algorithm: RandomSamplingAlgorithm,
    body: dict[str, Any],
    kind: type,
    inside: Callable[[Any], bool],
) -> None:
    sampler = make_sampler(algorithm, space(p=body), "maximize")
    values = [params["p"] for params in draws(sampler, 400)]
    assert all(inside(v) for v in values)
    if kind is not object:  # exactly int or float: not numpy scalars, not bool
        assert {type(v) for v in values} == {kind}


def test_randint_reaches_every_integer_below_upper_and_never_upper() -> None:
    sampler = make_sampler(RANDOM, space(n={"type": "randint", "upper": 4}), "maximize")
    assert {params["n"] for params in draws(sampler, 200)} == {0, 1, 2, 3}


def test_normal_and_lognormal_have_the_right_centre_and_spread() -> None:
    params = draws(
        make_sampler(
            RANDOM,
            space(
                a={"type": "normal", "mu": 10, "sigma": 3},
                b={"type": "lognormal", "mu": 1, "sigma": 0.5},
            ),
            "maximize",
        ),
        2000,
    )
    a = [p["a"] for p in params]
    logs = [math.log(p["b"]) for p in params]
    assert statistics.mean(a) == pytest.approx(10, abs=0.3)
    assert statistics.stdev(a) == pytest.approx(3, abs=0.3)
    assert statistics.mean(logs) == pytest.approx(1, abs=0.05)


def test_logbase_sets_the_base_of_the_log_distributions() -> None:
    algorithm = RandomSamplingAlgorithm(seed=1, logbase=10)
    sampler = make_sampler(
        algorithm, space(lr={"type": "loguniform", "min_value": -4, "max_value": -1}), "maximize"
    )
    values = [params["lr"] for params in draws(sampler, 300)]
    assert all(1e-4 <= v <= 1e-1 for v in values)
    assert min(values) < 1e-3 < max(values)  # it spans decades, not e-folds


def test_quantize_rounds_to_the_nearest_multiple_and_keeps_q_decimal() -> None:
    assert quantize(7.0, 2) == 8 and type(quantize(7.0, 2)) is int
    assert quantize(0.31, 0.1) == 0.3  # not 0.30000000000000004
    assert quantize(-0.26, 0.25) == -0.25
    assert type(quantize(3.0, 1.0)) is int  # integral q written as a float


def test_from_unit_maps_quantiles_through_each_inverse_cdf() -> None:
    (uniform,) = space(u={"type": "uniform", "min_value": 2, "max_value": 4}).values()
    (normal,) = space(n={"type": "normal", "mu": 5, "sigma": 2}).values()
    (choice,) = space(c={"type": "choice", "values": ["a", "b", "c", "d"]}).values()
    assert from_unit(uniform, 0.25) == 2.5
    assert from_unit(normal, 0.5) == pytest.approx(5)
    assert from_unit(normal, 0.0) > -math.inf  # a zero quantile is clipped, not infinite
    assert [from_unit(choice, u) for u in (0.0, 0.24, 0.25, 0.99)] == ["a", "a", "b", "d"]


MIXED: dict[str, dict[str, Any]] = {
    "kernel": {"type": "choice", "values": ["linear", "rbf"]},
    "lr": {"type": "loguniform", "min_value": -6, "max_value": -1},
    "units": {"type": "qnormal", "mu": 64, "sigma": 8, "q": 4},
}


@pytest.mark.parametrize("rule", ["random", "sobol"])
def test_a_seed_reproduces_the_sequence_and_another_seed_differs(rule: str) -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        algorithm = sampling_algorithm({"type": "random", "seed": seed, "rule": rule})
        return draws(make_sampler(algorithm, space(**MIXED), "maximize"), 20)

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_no_seed_gives_a_fresh_sequence_each_time() -> None:
    def run() -> list[dict[str, Any]]:
        return draws(make_sampler(RandomSamplingAlgorithm(), space(**MIXED), "maximize"), 5)

    assert run() != run()


def test_the_algorithms_seed_wins_over_the_keyword_seed() -> None:
    def run(algorithm: SamplingAlgorithm, seed: int | None) -> list[dict[str, Any]]:
        return draws(make_sampler(algorithm, space(**MIXED), "maximize", seed=seed), 5)

    assert run(RandomSamplingAlgorithm(), 3) == run(RandomSamplingAlgorithm(), 3)
    assert run(RandomSamplingAlgorithm(seed=7), 3) == run(RandomSamplingAlgorithm(seed=7), None)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_sobol_puts_its_first_8_points_one_in_each_eighth(seed: int) -> None:
    algorithm = RandomSamplingAlgorithm(seed=seed, rule="sobol")
    sampler = make_sampler(
        algorithm, space(x={"type": "uniform", "min_value": 0, "max_value": 1}), "maximize"
    )
    eighths = sorted(int(params["x"] * 8) for params in draws(sampler, 8))
    assert eighths == list(range(8))


def test_sobol_fills_a_4x4_grid_evenly_in_two_dimensions() -> None:
    unit = {"type": "uniform", "min_value": 0, "max_value": 1}
    sampler = make_sampler(SOBOL, space(x=unit, y=unit), "maximize")
    cells = {(int(p["x"] * 4), int(p["y"] * 4)) for p in draws(sampler, 16)}
    assert len(cells) == 16


def test_random_over_a_tiny_space_never_runs_out() -> None:
    sampler = make_sampler(RANDOM, space(c={"type": "choice", "values": [1]}), "maximize")
    assert all(sampler.suggest() == {"c": 1} for _ in range(50))


def test_grid_enumerates_the_product_once_in_order_then_stops() -> None:
    grid = space(
        a={"type": "choice", "values": [1, 2]},
        b={"type": "choice", "values": ["x", "y", "z"]},
        c={"type": "choice", "values": [{"nested": True}]},
    )
    sampler = make_sampler(GRID, grid, "minimize")
    seen = []
    while (params := sampler.suggest()) is not None:
        sampler.observe(params, 0.0)
        seen.append(params)
    assert [(p["a"], p["b"]) for p in seen] == [
        (1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z"),
    ]  # fmt: skip
    assert all(p["c"] == {"nested": True} for p in seen)
    assert len(seen) == grid_size(grid) == 6
    assert sampler.suggest() is None


def test_grid_refuses_a_non_choice_parameter_by_name() -> None:
    grid = space(
        a={"type": "choice", "values": [1]}, lr={"type": "uniform", "min_value": 0, "max_value": 1}
    )
    for attempt in (lambda: check_space(GRID, grid), lambda: grid_size(grid)):
        with pytest.raises(ValidationError) as caught:
            attempt()
        assert "search_space.lr" in caught.value.message
        assert "grid sampling needs choice" in caught.value.message
        assert caught.value.details == {"parameter": "lr", "type": "uniform"}


@pytest.mark.parametrize(
    "body",
    [
        {"type": "normal", "mu": 0, "sigma": 1},
        {"type": "loguniform", "min_value": -3, "max_value": 0},
        {"type": "randint", "upper": 3},
        {"type": "qlognormal", "mu": 0, "sigma": 1, "q": 1},
    ],
)
def test_bayesian_refuses_what_azure_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        make_sampler(BAYESIAN, space(p=body), "maximize")
    assert "search_space.p" in caught.value.message
    assert "only choice, uniform and quniform" in caught.value.message
    assert body["type"] in caught.value.message


@pytest.mark.parametrize(
    ("algorithm", "body"),
    [
        (RANDOM, {"type": "loguniform", "min_value": 0, "max_value": 800}),
        (
            RandomSamplingAlgorithm(logbase=10),
            {"type": "loguniform", "min_value": 0, "max_value": 400},
        ),
        (RANDOM, {"type": "lognormal", "mu": 690, "sigma": 2}),
    ],
)
def test_log_bounds_that_overflow_a_float_are_refused(
    algorithm: SamplingAlgorithm, body: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match=r"search_space\.p: .* overflow"):
        check_space(algorithm, space(p=body))


def test_an_empty_space_and_a_bad_goal_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least one parameter"):
        check_space(RANDOM, {})
    with pytest.raises(ValidationError, match="goal"):
        make_sampler(RANDOM, space(**MIXED), "biggest")  # type: ignore[arg-type]


UNIT_X: dict[str, dict[str, Any]] = {"x": {"type": "uniform", "min_value": 0, "max_value": 1}}


def parabola(params: dict[str, Any]) -> float:
    return -float((params["x"] - 0.3) ** 2)


def distances(algorithm: SamplingAlgorithm, seed: int) -> list[float]:
    sampler = make_sampler(algorithm, space(**UNIT_X), "maximize", seed=seed)
    out = []
    for params in iter(sampler.suggest, None):
        sampler.observe(params, parabola(params))
        out.append(abs(params["x"] - 0.3))
        if len(out) == 40:
            return out
    raise AssertionError("unreachable: these samplers never run out")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bayesian_concentrates_near_the_optimum(seed: int) -> None:
    bayesian = distances(BAYESIAN, seed)
    random = distances(RandomSamplingAlgorithm(), seed)
    assert min(bayesian) <= 0.02
    assert statistics.median(bayesian[20:]) < statistics.median(random[20:])


def test_bayesian_minimizes_when_the_goal_says_so() -> None:
    sampler = make_sampler(BAYESIAN, space(**UNIT_X), "minimize", seed=0)
    found = []
    for _ in range(40):
        params = sampler.suggest()
        assert params is not None
        sampler.observe(params, (params["x"] - 0.8) ** 2)
        found.append(params["x"])
    assert min(abs(x - 0.8) for x in found) <= 0.02
    assert statistics.median(found[20:]) == pytest.approx(0.8, abs=0.15)


def test_bayesian_takes_concurrent_asks_and_out_of_order_results() -> None:
    sampler = make_sampler(BAYESIAN, space(**UNIT_X), "maximize", seed=3)
    best = -math.inf
    for _round in range(10):
        batch = draws(sampler, 4)  # four trials in flight at once
        assert len({p["x"] for p in batch}) == 4
        for params in reversed(batch):
            sampler.observe(params, parabola(params))
            best = max(best, parabola(params))
    assert best > -(0.03**2)
    assert isinstance(sampler, BayesianSampler)
    states = [t.state.name for t in sampler._study.trials]
    assert states == ["COMPLETE"] * 40


def test_bayesian_marks_failed_and_unlogged_trials_failed() -> None:
    sampler = make_sampler(BAYESIAN, space(**UNIT_X), "maximize", seed=0)
    first, second, third = draws(sampler, 3)
    sampler.observe(second, None)
    sampler.observe(first, math.nan)
    sampler.observe(third, 1.0)
    assert isinstance(sampler, BayesianSampler)
    assert [t.state.name for t in sampler._study.trials] == ["FAIL", "FAIL", "COMPLETE"]
    assert sampler.suggest() is not None


def test_bayesian_samples_choice_and_quniform_with_azures_values() -> None:
    mixed = space(
        layer={"type": "choice", "values": [16, "wide", {"depth": 2}]},
        batch={"type": "quniform", "min_value": 16, "max_value": 128, "q": 16},
        drop={"type": "quniform", "min_value": 0, "max_value": 0.5, "q": 0.1},
        lr={"type": "uniform", "min_value": 0.01, "max_value": 0.1},
    )
    sampler = make_sampler(BAYESIAN, mixed, "maximize", seed=0)
    for params in draws(sampler, 25):
        sampler.observe(params, float(params["batch"]))
        assert params["layer"] in [16, "wide", {"depth": 2}]
        assert type(params["batch"]) is int and params["batch"] in range(16, 129, 16)
        assert type(params["drop"]) is float and params["drop"] in {0.0, 0.1, 0.2, 0.3, 0.4, 0.5}
        assert type(params["lr"]) is float and 0.01 <= params["lr"] <= 0.1


def test_bayesian_learns_from_results_it_did_not_suggest() -> None:
    # A controller that restarts replays its finished trials into a fresh sampler.
    sampler = make_sampler(BAYESIAN, space(**UNIT_X), "maximize", seed=0)
    for i in range(20):
        params = {"x": i / 20}
        sampler.observe(params, parabola(params))
    assert isinstance(sampler, BayesianSampler)
    assert len(sampler._study.trials) == 20
    with pytest.raises(ValidationError, match="do not fit the search space"):
        sampler.observe({"y": 0.5}, 1.0)


def test_observing_is_harmless_for_random_and_grid() -> None:
    for algorithm in (RANDOM, GRID):
        sampler = make_sampler(algorithm, space(c={"type": "choice", "values": [1, 2]}), "maximize")
        params = sampler.suggest()
        assert params is not None
        sampler.observe(params, None)
        sampler.observe({"c": 99}, 1.0)


def test_importing_the_samplers_does_not_import_optuna_or_scipy() -> None:
    code = (
        "import sys, orchard.sweep.sampling; "
        "print(sorted({'optuna', 'scipy'} & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_bayesian_matches_a_result_to_its_trial_despite_extra_keys() -> None:
    sampler = make_sampler(BAYESIAN, space(**UNIT_X), "maximize", seed=0)
    (params,) = draws(sampler, 1)
    sampler.observe({**params, "trial": "sweep_1_trial_0"}, 0.5)
    assert isinstance(sampler, BayesianSampler)
    assert [t.state.name for t in sampler._study.trials] == ["COMPLETE"]


def test_bayesian_over_a_used_up_space_keeps_suggesting_valid_points() -> None:
    # 6 points in all: once each has been tried the process has nothing new, so draws repeat.
    tiny = space(
        c={"type": "choice", "values": ["a", "b"]},
        n={"type": "quniform", "min_value": 0, "max_value": 2, "q": 1},
    )
    sampler = make_sampler(BAYESIAN, tiny, "maximize", seed=0)
    seen = set()
    for params in draws_observed(sampler, 30, lambda p: float(p["n"])):
        assert params["c"] in ("a", "b") and params["n"] in (0, 1, 2)
        seen.add((params["c"], params["n"]))
    assert len(seen) == 6


def test_bayesian_does_not_repeat_a_point_while_untried_ones_remain() -> None:
    grid = space(
        a={"type": "quniform", "min_value": 0, "max_value": 9, "q": 1},
        b={"type": "choice", "values": [0, 1, 2]},
    )
    sampler = make_sampler(BAYESIAN, grid, "maximize", seed=1)
    tried = draws_observed(sampler, 30, lambda p: -((p["a"] - 6) ** 2) - p["b"])
    modelled = [(p["a"], p["b"]) for p in tried[GP_STARTUP_TRIALS:]]
    earlier = {(p["a"], p["b"]) for p in tried[:GP_STARTUP_TRIALS]}
    assert len(set(modelled)) == len(modelled) and not earlier & set(modelled)
    assert (6, 0) in earlier | set(modelled)


def branin(params: dict[str, Any]) -> float:
    x1, x2 = params["x1"], params["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def test_bayesian_gets_within_one_percent_of_branins_minimum_in_80_trials() -> None:
    # Random sampling needs about 9,000 trials for this (bench/bench_sweep_quality.py).
    box = space(
        x1={"type": "uniform", "min_value": -5, "max_value": 10},
        x2={"type": "uniform", "min_value": 0, "max_value": 15},
    )
    sampler = make_sampler(BAYESIAN, box, "minimize", seed=0)
    values = [branin(p) for p in draws_observed(sampler, 80, branin)]
    assert min(values) <= 0.397887 * 1.01


def draws_observed(
    sampler: Sampler, n: int, objective: Callable[[dict[str, Any]], float]
) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        params = sampler.suggest()
        assert params is not None
        sampler.observe(params, objective(params))
        out.append(params)
    return out

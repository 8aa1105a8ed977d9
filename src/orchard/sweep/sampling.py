"""Samplers: the parameters each sweep trial runs with, following Azure ML's three algorithms.

- grid: every combination of the `choice` values, once each, in a fixed order.
- random: independent draws from each distribution, from a numpy Generator or (``rule:
  sobol``) a scrambled Sobol sequence mapped through each distribution's inverse CDF
  (`random_draws`).
- bayesian: a Gaussian process and expected improvement over choice, uniform and quniform
  (the only ones Azure allows), after a few random trials (`gaussian_process`); Optuna keeps
  the trials.

The controller calls ``suggest()`` for each trial it starts and ``observe()`` when one ends;
several may be in flight at once and they may finish in any order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from orchard.entities.search_space import (
    BayesianSamplingAlgorithm,
    Choice,
    Distribution,
    GridSamplingAlgorithm,
    QUniform,
    RandomSamplingAlgorithm,
    SamplingAlgorithm,
    Uniform,
    log_base,
)
from orchard.errors import ValidationError
from orchard.sweep.random_draws import from_unit, overflows, scale, unit_points

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial, Trial

    from orchard.sweep.gaussian_process import Axis

Goal = Literal["maximize", "minimize"]
Params = dict[str, Any]

BAYESIAN_TYPES = (Choice, Uniform, QUniform)
# Random trials come first, until the Gaussian process has something to learn from.
GP_STARTUP_TRIALS = 10


class Sampler(Protocol):
    def suggest(self) -> Params | None:
        """The next trial's parameters; None once the space is exhausted (grid only)."""
        ...

    def observe(self, params: Params, value: float | None) -> None:
        """A finished trial's final primary metric; None when it failed or never logged it."""
        ...


def make_sampler(
    algorithm: SamplingAlgorithm,
    space: Mapping[str, Distribution],
    goal: Goal,
    *,
    seed: int | None = None,
) -> Sampler:
    """The sampler for `algorithm` over `space`; raises ValidationError if they do not fit.

    `seed` seeds Bayesian sampling (Azure's takes none; tests and benchmarks want one) and
    random sampling when the algorithm names no seed of its own.
    """
    check_space(algorithm, space)
    if goal not in ("maximize", "minimize"):
        raise ValidationError(f"goal must be 'maximize' or 'minimize', not {goal!r}")
    if isinstance(algorithm, GridSamplingAlgorithm):
        return GridSampler(space)
    if isinstance(algorithm, BayesianSamplingAlgorithm):
        return BayesianSampler(space, goal, seed=seed)
    return RandomSampler(space, algorithm, seed=seed)


def check_space(algorithm: SamplingAlgorithm, space: Mapping[str, Distribution]) -> None:
    """Refuse a search space the algorithm cannot sample, naming the parameter."""
    if not space:
        raise ValidationError("search_space needs at least one parameter")
    base = log_base(algorithm.logbase if isinstance(algorithm, RandomSamplingAlgorithm) else None)
    for name, dist in space.items():
        if isinstance(algorithm, GridSamplingAlgorithm) and not isinstance(dist, Choice):
            raise ValidationError(
                f"search_space.{name}: grid sampling needs choice distributions, not {dist.type}",
                details={"parameter": name, "type": dist.type},
            )
        if isinstance(algorithm, BayesianSamplingAlgorithm) and not isinstance(
            dist, BAYESIAN_TYPES
        ):
            raise ValidationError(
                f"search_space.{name}: bayesian sampling supports only choice, uniform and "
                f"quniform, not {dist.type}",
                details={"parameter": name, "type": dist.type},
            )
        if overflows(dist, base):
            raise ValidationError(
                f"search_space.{name}: {dist.type} values are a power of the log base, and "
                "these bounds overflow a float (min_value/max_value and mu are exponents)",
                details={"parameter": name, "type": dist.type},
            )


def grid_size(space: Mapping[str, Distribution]) -> int:
    """How many trials a grid over `space` runs (raises ValidationError unless all choice)."""
    check_space(GridSamplingAlgorithm(), space)
    return math.prod(len(dist.values) for dist in space.values() if isinstance(dist, Choice))


class GridSampler:
    """Every combination once; the last parameter varies fastest, values in listed order."""

    def __init__(self, space: Mapping[str, Distribution]) -> None:
        self._names = list(space)
        columns = [dist.values for dist in space.values() if isinstance(dist, Choice)]
        self._combinations: Iterator[tuple[Any, ...]] = itertools.product(*columns)

    def suggest(self) -> Params | None:
        combination = next(self._combinations, None)
        return None if combination is None else dict(zip(self._names, combination, strict=True))

    def observe(self, params: Params, value: float | None) -> None:
        return None  # a grid's order does not depend on results


class RandomSampler:
    """Independent draws; the same seed gives the same sequence of suggestions."""

    def __init__(
        self,
        space: Mapping[str, Distribution],
        algorithm: RandomSamplingAlgorithm,
        *,
        seed: int | None = None,
    ) -> None:
        self._space = dict(space)
        self._base = log_base(algorithm.logbase)
        chosen_seed = algorithm.seed if algorithm.seed is not None else seed
        self._draw = unit_points(len(self._space), chosen_seed, algorithm.rule)

    def suggest(self) -> Params:
        units = self._draw()
        return {
            name: from_unit(dist, u, self._base)
            for (name, dist), u in zip(self._space.items(), units, strict=True)
        }

    def observe(self, params: Params, value: float | None) -> None:
        return None  # random sampling ignores results


class BayesianSampler:
    """Bayesian optimisation (`gaussian_process`) over the trials in an Optuna study.

    The first GP_STARTUP_TRIALS results come from independent random draws; after that each
    suggestion is the Gaussian process's point of largest expected improvement, with the
    trials still running counted as what the process predicts for them.

    Internally a choice is the index of its value and a quniform is its number of q-steps,
    so Optuna and the process only ever see plain numbers and Azure's rounding is exact.
    """

    def __init__(
        self, space: Mapping[str, Distribution], goal: Goal, *, seed: int | None = None
    ) -> None:
        # Imported here: it imports scipy, which is slow to import and only Bayesian needs.
        from orchard.sweep.gaussian_process import GaussianProcessSearch

        optuna = _optuna()
        self._space = dict(space)
        axes = [_axis(dist) for dist in self._space.values()]
        self._distributions = {
            name: _optuna_distribution(axis) for name, axis in zip(self._space, axes, strict=True)
        }
        self._search = GaussianProcessSearch(axes, seed=seed)
        self._sign = 1.0 if goal == "maximize" else -1.0
        # Optuna keeps the trials; its random sampler draws whatever the process does not.
        sampler = optuna.samplers.RandomSampler(seed=seed)
        self._study = optuna.create_study(direction=goal, sampler=sampler)
        self._pending: list[tuple[Params, Trial]] = []

    def suggest(self) -> Params:
        point = self._next_point()
        if point is not None:
            self._study.enqueue_trial(point)  # so the ask below takes it instead of drawing
        trial = self._study.ask(self._distributions)
        params = {
            name: _from_optuna(dist, trial.params[name]) for name, dist in self._space.items()
        }
        self._pending.append((params, trial))
        return dict(params)  # a copy, so a caller that edits it cannot break the matching

    def observe(self, params: Params, value: float | None) -> None:
        trial = self._take_pending(params)
        if value is None or not math.isfinite(value):
            if trial is not None:
                self._study.tell(trial, state=_optuna().trial.TrialState.FAIL)
        elif trial is not None:
            self._study.tell(trial, float(value))
        else:  # a trial from before a restart, say: learn from it all the same
            self._replay(params, float(value))

    def _next_point(self) -> dict[str, Any] | None:
        """The internal values of the next trial, or None for a random one."""
        state = _optuna().trial.TrialState
        finished = self._study.get_trials(deepcopy=False, states=(state.COMPLETE,))
        if len(finished) < GP_STARTUP_TRIALS:
            return None
        point = self._search.next_point(
            [self._internal(t) for t in finished],
            [self._sign * float(t.value) for t in finished],
            [self._internal(t) for _, t in self._pending],
        )
        return None if point is None else dict(zip(self._space, point, strict=True))

    def _internal(self, trial: FrozenTrial | Trial) -> list[float]:
        return [trial.params[name] for name in self._space]

    def _take_pending(self, params: Params) -> Trial | None:
        # Only the space's own names count: a caller may store extra keys beside them.
        wanted = {name: params.get(name) for name in self._space}
        for index, (suggested, trial) in enumerate(self._pending):
            if suggested == wanted:
                del self._pending[index]
                return trial
        return None

    def _replay(self, params: Params, value: float) -> None:
        optuna = _optuna()
        try:
            internal = {name: _to_optuna(d, params[name]) for name, d in self._space.items()}
            finished = optuna.trial.create_trial(
                params=internal, distributions=self._distributions, value=value
            )
        except (KeyError, ValueError) as exc:
            raise ValidationError(
                f"observed parameters {params!r} do not fit the search space: {exc}"
            ) from None
        self._study.add_trial(finished)


def _optuna() -> Any:
    # Imported on first use: optuna pulls in SQLAlchemy and takes a noticeable moment.
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _axis(dist: Distribution) -> Axis:
    if isinstance(dist, Choice):
        return "choice", 0, len(dist.values) - 1
    if isinstance(dist, QUniform):
        return "steps", round(dist.min_value / dist.q), round(dist.max_value / dist.q)
    if isinstance(dist, Uniform):
        return "number", dist.min_value, dist.max_value
    raise ValidationError(f"bayesian sampling does not support {dist.type}")


def _optuna_distribution(axis: Axis) -> Any:
    dists = _optuna().distributions
    kind, low, high = axis
    if kind == "choice":
        return dists.CategoricalDistribution(tuple(range(int(high) + 1)))
    if kind == "steps":
        return dists.IntDistribution(int(low), int(high))
    return dists.FloatDistribution(low, high)


def _from_optuna(dist: Distribution, raw: Any) -> Any:
    if isinstance(dist, Choice):
        return dist.values[int(raw)]
    if isinstance(dist, QUniform):
        return scale(int(raw), dist.q)
    return float(raw)


def _to_optuna(dist: Distribution, value: Any) -> Any:
    if isinstance(dist, Choice):
        return dist.values.index(value)  # ValueError when it is not one of the values
    if isinstance(dist, QUniform):
        return round(float(value) / dist.q)
    return float(value)

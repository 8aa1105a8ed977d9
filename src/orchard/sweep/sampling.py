"""Samplers: the parameters each sweep trial runs with, following Azure ML's three algorithms.

- grid: every combination of the `choice` values, once each, in a fixed order.
- random: independent draws from each distribution, from a numpy Generator or (``rule:
  sobol``) a scrambled Sobol sequence mapped through each distribution's inverse CDF.
- bayesian: Optuna's TPE over choice, uniform and quniform (the only ones Azure allows).

The controller calls ``suggest()`` for each trial it starts and ``observe()`` when one ends;
several may be in flight at once and they may finish in any order.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from orchard.entities.search_space import (
    LOG_SCALE,
    QUANTIZED,
    BayesianSamplingAlgorithm,
    Choice,
    Distribution,
    GridSamplingAlgorithm,
    LogUniform,
    QLogUniform,
    QUniform,
    Randint,
    RandomSamplingAlgorithm,
    SamplingAlgorithm,
    Uniform,
    log_base,
)
from orchard.errors import ValidationError

if TYPE_CHECKING:
    from optuna.trial import Trial

Goal = Literal["maximize", "minimize"]
Params = dict[str, Any]

BAYESIAN_TYPES = (Choice, Uniform, QUniform)
# math.exp overflows a float just past 709.78; stop short so quantising cannot overflow.
MAX_EXPONENT = 700.0
# A unit draw is clipped to [1e-12, 1 - 1e-12] before the normal's inverse CDF (which is
# infinite at 0 and 1); that reaches about 7.03 sigma, so 8 bounds every exponent we make.
UNIT_EPSILON = 1e-12
TAIL_SIGMAS = 8.0


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
        if isinstance(dist, LOG_SCALE) and _largest_exponent(dist) * abs(math.log(base)) > (
            MAX_EXPONENT
        ):
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
        width = len(self._space)
        self._draw = (
            _sobol_points(width, chosen_seed)
            if algorithm.rule == "sobol"
            else _uniform_points(width, chosen_seed)
        )

    def suggest(self) -> Params:
        units = self._draw()
        return {
            name: from_unit(dist, u, self._base)
            for (name, dist), u in zip(self._space.items(), units, strict=True)
        }

    def observe(self, params: Params, value: float | None) -> None:
        return None  # random sampling ignores results


def _uniform_points(width: int, seed: int | None) -> Callable[[], list[float]]:
    rng = np.random.default_rng(seed)
    return lambda: [float(u) for u in rng.random(width)]


def _sobol_points(width: int, seed: int | None) -> Callable[[], list[float]]:
    from scipy.stats import qmc  # scipy is slow to import; only sobol needs it

    try:
        engine = qmc.Sobol(width, scramble=True, rng=seed)
    except TypeError:  # scipy < 1.15 names the argument `seed`
        engine = qmc.Sobol(width, scramble=True, seed=seed)
    return lambda: [float(u) for u in engine.random(1)[0]]


def from_unit(dist: Distribution, u: float, base: float = math.e) -> Any:
    """The value of `dist` at quantile `u` in [0, 1): its inverse CDF, then Azure's q-rounding."""
    if isinstance(dist, Choice):
        return dist.values[min(int(u * len(dist.values)), len(dist.values) - 1)]
    if isinstance(dist, Randint):
        return min(int(u * dist.upper), dist.upper - 1)
    if isinstance(dist, Uniform | QUniform | LogUniform | QLogUniform):
        x = dist.min_value + u * (dist.max_value - dist.min_value)
    else:
        clipped = min(max(u, UNIT_EPSILON), 1.0 - UNIT_EPSILON)
        x = statistics.NormalDist(dist.mu, dist.sigma).inv_cdf(clipped)
    if isinstance(dist, LOG_SCALE):
        x = base**x
    return quantize(x, dist.q) if isinstance(dist, QUANTIZED) else x


def quantize(x: float, q: float) -> int | float:
    """round(x / q) * q, as Azure defines the q-distributions."""
    return scale(round(x / q), q)


def scale(steps: int, q: float) -> int | float:
    """`steps` multiples of q: an int when q is integral (scripts parse them with type=int)."""
    if float(q).is_integer():
        return steps * int(q)
    # 3 * 0.1 is 0.30000000000000004 in binary; 12 significant digits give back what q meant.
    return float(f"{steps * q:.12g}")


def _largest_exponent(dist: Distribution) -> float:
    if isinstance(dist, LogUniform | QLogUniform):
        return max(abs(dist.min_value), abs(dist.max_value))
    if isinstance(dist, LOG_SCALE):
        return abs(dist.mu) + TAIL_SIGMAS * dist.sigma
    return 0.0


class BayesianSampler:
    """Optuna's TPE through its ask-and-tell interface.

    Internally a choice is the index of its value and a quniform is its number of q-steps,
    so Optuna only ever sees plain numbers and Azure's rounding is exact.
    """

    def __init__(
        self, space: Mapping[str, Distribution], goal: Goal, *, seed: int | None = None
    ) -> None:
        optuna = _optuna()
        self._space = dict(space)
        self._distributions = {name: _optuna_distribution(d) for name, d in self._space.items()}
        # constant_liar: trials still running count as bad guesses, so concurrent asks spread.
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        self._study = optuna.create_study(direction=goal, sampler=sampler)
        self._pending: list[tuple[Params, Trial]] = []

    def suggest(self) -> Params:
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


def _optuna_distribution(dist: Distribution) -> Any:
    dists = _optuna().distributions
    if isinstance(dist, Choice):
        return dists.CategoricalDistribution(tuple(range(len(dist.values))))
    if isinstance(dist, QUniform):
        low, high = round(dist.min_value / dist.q), round(dist.max_value / dist.q)
        return dists.IntDistribution(low, high)
    if isinstance(dist, Uniform):
        return dists.FloatDistribution(dist.min_value, dist.max_value)
    raise ValidationError(f"bayesian sampling does not support {dist.type}")


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

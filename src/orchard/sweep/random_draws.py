"""Random draws from the search-space distributions: unit points, from a numpy Generator or a
scrambled Sobol sequence, mapped through each distribution's inverse CDF and Azure's
q-rounding; and the bound that keeps a log distribution's power of the base finite.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from orchard.entities.search_space import (
    LOG_SCALE,
    QUANTIZED,
    Choice,
    Distribution,
    LogUniform,
    QLogUniform,
    QUniform,
    Randint,
    Uniform,
)

# math.exp overflows a float just past 709.78; stop short so quantising cannot overflow.
MAX_EXPONENT = 700.0
# A unit draw is clipped to [1e-12, 1 - 1e-12] before the normal's inverse CDF (which is
# infinite at 0 and 1); that reaches about 7.03 sigma, so 8 bounds every exponent we make.
UNIT_EPSILON = 1e-12
TAIL_SIGMAS = 8.0


def unit_points(
    width: int, seed: int | None, rule: Literal["random", "sobol"]
) -> Callable[[], list[float]]:
    """Each call, the next point of [0, 1)^width; the same seed gives the same sequence."""
    if rule == "random":
        rng = np.random.default_rng(seed)
        return lambda: [float(u) for u in rng.random(width)]
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


def overflows(dist: Distribution, base: float) -> bool:
    """Whether a draw of `dist` can overflow a float: a log distribution's value is `base`
    to the power of what it draws, and those bounds are exponents."""
    if isinstance(dist, LogUniform | QLogUniform):
        exponent = max(abs(dist.min_value), abs(dist.max_value))
    elif isinstance(dist, LOG_SCALE):
        exponent = abs(dist.mu) + TAIL_SIGMAS * dist.sigma
    else:
        return False
    return exponent * abs(math.log(base)) > MAX_EXPONENT

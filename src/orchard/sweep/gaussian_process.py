"""Where Bayesian sampling tries next: a Gaussian process over the finished trials, and the
untried point of largest expected improvement over the best of them.

The process is Matern 5/2 with one length scale per parameter, fitted by maximum a posteriori
with Optuna GPSampler's priors. A trial still running counts as what the process predicts for
it ("kriging believer"), so concurrent suggestions spread out instead of repeating.

The search sees each parameter as one coordinate: a number scaled to [0, 1], a choice as its
index. Only "same choice or not" enters the kernel, and a quniform's coordinate stays on the
grid of its q-steps, so the process never models a value the sweep cannot run.

Sampling imports this module only for a Bayesian sweep: scipy is slow to import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from scipy import linalg, optimize, special
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

# What a parameter's internal value is: a choice's index, a quniform's number of q-steps or
# a uniform's value; the two numbers bound it, both included.
Axis = tuple[Literal["choice", "steps", "number"], float, float]

# Fitting costs the cube of the trials it sees: past this many it keeps the best half and
# the most recent half.
MAX_TRIALS = 500
# The least noise variance the fit may assume (values are standardised first); it keeps
# the kernel matrix well conditioned. Optuna's GPSampler uses the same floor.
MIN_NOISE = 1e-6
# Expected improvement has many local maxima: look at random points over the space and at
# points near the best trials so far, then climb from the most promising few.
RANDOM_CANDIDATES = 1024
NEAR_BEST = 5
NEAR_EACH = 64
NEAR_SCALES = (0.1, 0.02, 0.004)
LOCAL_STARTS = 3
ASCENT_ROUNDS = 10
SQRT5 = math.sqrt(5.0)


class GaussianProcessSearch:
    """Suggests points for one sweep; each fit starts from the last, so it stays quick."""

    def __init__(self, axes: Sequence[Axis], *, seed: int | None = None) -> None:
        self._box = _UnitBox(axes)
        self._rng = np.random.default_rng(seed)
        self._theta: np.ndarray | None = None

    def next_point(
        self,
        finished: Sequence[Sequence[float]],
        values: Sequence[float],
        running: Sequence[Sequence[float]],
    ) -> list[int | float] | None:
        """The internal values to try next, given the finished trials' internal values and
        results (larger is better) and the running trials'; None when every point of the
        space has been tried (a small space of choices and quniforms, used up)."""
        results = np.asarray(values, dtype=float)
        keep = keep_informative(results)
        observed = self._box.encode(np.asarray(finished, dtype=float))[keep]
        spread = float(np.std(results[keep]))
        targets = (results[keep] - results[keep].mean()) / (spread if spread > 0 else 1.0)
        # The matrices are small: BLAS threads cost more than they save (several times so
        # on a busy machine), and the sweep's own trials want the cores.
        with threadpool_limits(limits=1, user_api="blas"):
            self._theta = fit_kernel(observed, targets, self._box.categorical, self._theta)
            gp = GaussianProcess(observed, targets, self._box.categorical, self._theta)
            if len(running):
                gp = gp.believing(self._box.encode(np.asarray(running, dtype=float)))
            point = _maximize_expected_improvement(gp, self._box, self._rng)
        return None if point is None else self._box.decode(point)


def keep_informative(values: np.ndarray) -> np.ndarray:
    """Indices of at most MAX_TRIALS trials: all of them, or the best half of the earlier
    ones and the latest half (in that order)."""
    if len(values) <= MAX_TRIALS:
        return np.arange(len(values))
    half = MAX_TRIALS // 2
    best_earlier = np.argsort(-values[:-half], kind="stable")[: MAX_TRIALS - half]
    return np.concatenate([best_earlier, np.arange(len(values) - half, len(values))])


class _UnitBox:
    """The coordinates of the search, and the moves it makes in them."""

    def __init__(self, axes: Sequence[Axis]) -> None:
        kinds = np.array([kind for kind, _, _ in axes])
        self.low = np.array([float(low) for _, low, _ in axes])
        self.high = np.array([float(high) for _, _, high in axes])
        self.categorical = kinds == "choice"
        self.integer = kinds == "steps"
        self.continuous = kinds == "number"
        self.choices = np.where(self.categorical, self.high - self.low + 1.0, 0.0)
        # 0 where a quniform's bounds round to one step: there is no grid to move along.
        self.steps = np.where(self.integer, self.high - self.low, 0.0)

    def encode(self, internal: np.ndarray) -> np.ndarray:
        width = np.where(self.high > self.low, self.high - self.low, 1.0)
        return np.asarray(np.where(self.categorical, internal, (internal - self.low) / width))

    def decode(self, point: np.ndarray) -> list[int | float]:
        out: list[int | float] = []
        for i, x in enumerate(point.tolist()):
            if self.categorical[i]:
                out.append(int(x))
            elif self.integer[i]:
                out.append(int(self.low[i]) + round(x * self.steps[i]))
            else:
                value = self.low[i] + x * (self.high[i] - self.low[i])
                out.append(min(max(value, self.low[i]), self.high[i]))
        return out

    def snap(self, points: np.ndarray) -> np.ndarray:
        """Points moved onto the space: clipped, quniforms on their grid, choices whole."""
        unit = np.clip(points, 0.0, 1.0)
        steps = np.where(self.steps > 0, self.steps, 1.0)
        on_grid = np.where(self.steps > 0, np.round(unit * steps) / steps, 0.0)
        choices = np.clip(np.round(points), 0.0, self.choices - 1.0)
        return np.where(self.categorical, choices, np.where(self.integer, on_grid, unit))

    def random(self, rng: np.random.Generator, count: int) -> np.ndarray:
        unit = rng.random((count, len(self.low)))
        return self.snap(np.where(self.categorical, np.floor(unit * self.choices), unit))

    def near(self, rng: np.random.Generator, centres: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Gaussian steps of `sigma` (one per row) from `centres`. A choice has no distance to
        step along, so it is redrawn at random with probability `sigma` (at least a tenth)."""
        moved = centres + rng.normal(size=centres.shape) * sigma[:, None]
        redraw = rng.random(centres.shape) < np.maximum(sigma, 0.1)[:, None]
        fresh = np.floor(rng.random(centres.shape) * self.choices)
        return self.snap(np.where(self.categorical, np.where(redraw, fresh, centres), moved))

    def neighbours(self, point: np.ndarray) -> np.ndarray:
        """`point` moved one step along one quniform, or to another value of one choice:
        the moves a gradient cannot make."""
        out = []
        for i in np.flatnonzero(self.integer & (self.steps > 0)):
            for step in (-1.0, 1.0):
                moved = point.copy()
                moved[i] += step / self.steps[i]
                if 0.0 <= moved[i] <= 1.0:
                    out.append(moved)
        for i in np.flatnonzero(self.categorical):
            for choice in range(int(self.choices[i])):
                if choice != point[i]:
                    moved = point.copy()
                    moved[i] = float(choice)
                    out.append(moved)
        return np.array(out) if out else np.empty((0, len(point)))


def _squared_distances(a: np.ndarray, b: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """(len(a), len(b), dims): squared differences, and 0 or 1 (same or not) for a choice."""
    diff = a[:, None, :] - b[None, :, :]
    return np.asarray(np.where(categorical, (diff != 0).astype(float), diff * diff))


def _matern(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Matern 5/2 kernel at squared distance r2, and its derivative in r2."""
    r = np.sqrt(r2)
    decay = np.exp(-SQRT5 * r)
    return (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * decay, -5.0 / 6.0 * (1.0 + SQRT5 * r) * decay


def _kernel_parameters(theta: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Inverse squared length scales, signal variance, noise variance from log-space theta
    (log space keeps them positive without constraints)."""
    return np.exp(theta[:-2]), float(np.exp(theta[-2])), MIN_NOISE + float(np.exp(theta[-1]))


def fit_kernel(
    points: np.ndarray, targets: np.ndarray, categorical: np.ndarray, start: np.ndarray | None
) -> np.ndarray:
    """Kernel parameters (log space) of largest posterior density: the log marginal
    likelihood plus Optuna GPSampler's priors (on inverse squared length scales, signal and
    noise). The gradient is analytic: finite differences would cost a factorisation each."""
    count, dims = points.shape
    sq = _squared_distances(points, points, categorical)
    eye = np.eye(count)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        inv_sq, signal, noise = _kernel_parameters(theta)
        shape, slope = _matern(sq @ inv_sq)
        cov = signal * shape + noise * eye
        try:
            factor = linalg.cho_factor(cov, lower=True)
        except linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = linalg.cho_solve(factor, targets)
        inverse = linalg.cho_solve(factor, eye)
        log_likelihood = -0.5 * targets @ alpha - np.log(np.diag(factor[0])).sum()
        weights = np.outer(alpha, alpha) - inverse  # d(log likelihood)/d(cov), times 2
        grad = np.empty_like(theta)
        grad[:-2] = 0.5 * inv_sq * np.einsum("ij,ijk->k", weights * signal * slope, sq)
        grad[-2] = 0.5 * np.sum(weights * signal * shape)
        grad[-1] = 0.5 * (noise - MIN_NOISE) * np.trace(weights)
        prior = -(0.1 / inv_sq + 0.1 * inv_sq).sum()
        prior += math.log(signal) - signal + 0.1 * math.log(noise) - 30.0 * noise
        grad[:-2] += 0.1 / inv_sq - 0.1 * inv_sq
        grad[-2] += 1.0 - signal
        grad[-1] += (0.1 / noise - 30.0) * (noise - MIN_NOISE)
        return -(log_likelihood + prior), -grad

    if start is None or len(start) != dims + 2:
        start = np.zeros(dims + 2)  # length scales, signal and noise all 1
    bounds = [(-9.0, 9.0)] * dims + [(-9.0, 5.0), (-25.0, 2.0)]
    low, high = np.array(bounds).T
    found = optimize.minimize(
        loss,
        np.clip(start, low, high),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"gtol": 1e-2, "maxiter": 200},
    )
    return np.asarray(found.x, dtype=float)


class GaussianProcess:
    """The posterior of a zero-mean process with the fitted kernel, given (points, targets)."""

    def __init__(
        self, points: np.ndarray, targets: np.ndarray, categorical: np.ndarray, theta: np.ndarray
    ) -> None:
        self.points, self.targets = points, targets
        self.categorical, self.theta = categorical, theta
        self.inv_sq, self.signal, noise = _kernel_parameters(theta)
        shape, _ = _matern(_squared_distances(points, points, categorical) @ self.inv_sq)
        self._lower = linalg.cholesky(self.signal * shape + noise * np.eye(len(points)), lower=True)
        self._alpha = linalg.cho_solve((self._lower, True), targets)
        self.best = float(targets.max())

    def believing(self, running: np.ndarray) -> GaussianProcess:
        """This process with the running trials' points observed at its own predictions."""
        mean, _ = self.posterior(running)
        return GaussianProcess(
            np.vstack([self.points, running]),
            np.concatenate([self.targets, mean]),
            self.categorical,
            self.theta,
        )

    def posterior(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (of the function, noise left out) at each point."""
        shape, _ = _matern(_squared_distances(points, self.points, self.categorical) @ self.inv_sq)
        cross = self.signal * shape
        mean = cross @ self._alpha
        solved = linalg.solve_triangular(self._lower, cross.T, lower=True)
        variance = np.maximum(self.signal - np.sum(solved * solved, axis=0), 1e-12)
        return mean, variance

    def log_expected_improvement(self, points: np.ndarray) -> np.ndarray:
        """log E[max(f(x) - best, 0)] at each point: the logarithm, because far from the
        best the improvement itself underflows to 0 and leaves nothing to climb."""
        mean, variance = self.posterior(points)
        sigma = np.sqrt(variance)
        log_h, _, _ = _log_h((mean - self.best) / sigma)
        return np.asarray(log_h + np.log(sigma))

    def log_expected_improvement_and_gradient(
        self, point: np.ndarray, free: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The same at one point, and its gradient along the coordinates marked `free`
        (plain numbers, so the squared distance is differentiable there)."""
        sq = _squared_distances(point[None, :], self.points, self.categorical)[0]
        shape, slope = _matern(sq @ self.inv_sq)
        cross = self.signal * shape
        solved = linalg.solve_triangular(self._lower, cross, lower=True)
        weights = linalg.solve_triangular(self._lower, solved, lower=True, trans="T")
        # d cross / d x_j = signal * slope * 2 inv_sq_j (x_j - points_j)
        d_cross = (
            (self.signal * slope)[:, None]
            * 2.0
            * self.inv_sq[free]
            * (point[free] - self.points[:, free])
        )
        variance = self.signal - float(solved @ solved)
        d_variance = -2.0 * d_cross.T @ weights
        if variance < 1e-12:
            variance, d_variance = 1e-12, np.zeros_like(d_variance)
        sigma = math.sqrt(variance)
        z = (float(cross @ self._alpha) - self.best) / sigma
        log_h, cdf_over_h, pdf_over_h = (float(v[0]) for v in _log_h(np.array([z])))
        d_sigma = d_variance / (2.0 * sigma)
        gradient = (cdf_over_h * (d_cross.T @ self._alpha) + pdf_over_h * d_sigma) / sigma
        return log_h + math.log(sigma), np.asarray(gradient)


def _log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log h(z), Phi(z) / h(z) and phi(z) / h(z) for h(z) = z Phi(z) + phi(z): expected
    improvement is sigma h(z). Far below the best, h(z) = phi(z) (1 - t R(t)) with t = -z
    and R the Mills ratio, which keeps the logarithm finite where h(z) underflows."""
    near_z = np.maximum(z, -1.0)
    pdf = np.exp(-0.5 * near_z**2) / math.sqrt(2.0 * math.pi)
    cdf = special.ndtr(near_z)
    h = near_z * cdf + pdf
    t = np.maximum(-z, 1.0)
    mills = math.sqrt(math.pi / 2.0) * special.erfcx(t / math.sqrt(2.0))
    rest = np.maximum(1.0 - t * mills, 1e-300)
    far_log = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi) + np.log(rest)
    near = z > -1.0
    return (
        np.where(near, np.log(h), far_log),
        np.where(near, cdf / h, mills / rest),
        np.where(near, pdf / h, 1.0 / rest),
    )


def _maximize_expected_improvement(
    gp: GaussianProcess, box: _UnitBox, rng: np.random.Generator
) -> np.ndarray | None:
    """The untried point of the space with the largest expected improvement; None when
    every candidate has been tried."""
    taken = {tuple(p) for p in np.round(gp.points, 9)}

    def score(points: np.ndarray) -> np.ndarray:
        values = gp.log_expected_improvement(points)
        fresh = [tuple(p) not in taken for p in np.round(points, 9)]
        return np.where(fresh, values, -np.inf)

    best = gp.points[np.argsort(gp.targets)[-NEAR_BEST:]]
    centres = np.repeat(best, NEAR_EACH, axis=0)
    sigma = np.resize(np.array(NEAR_SCALES), len(centres))
    candidates = np.vstack([box.random(rng, RANDOM_CANDIDATES), box.near(rng, centres, sigma)])
    scores = score(candidates)
    winner: np.ndarray | None = None
    winning = -np.inf
    for index in np.argsort(scores)[::-1][:LOCAL_STARTS]:
        if not np.isfinite(scores[index]):
            break
        point, value = _ascend(gp, score, box, candidates[index], float(scores[index]))
        if value > winning:
            winner, winning = point, value
    return winner


def _ascend(
    gp: GaussianProcess,
    score: Callable[[np.ndarray], np.ndarray],
    box: _UnitBox,
    point: np.ndarray,
    value: float,
) -> tuple[np.ndarray, float]:
    """Local ascent from `point`: L-BFGS-B over the uniforms, then the best neighbouring step
    of each quniform and every other value of each choice, until neither improves."""
    free = box.continuous
    for _ in range(ASCENT_ROUNDS):
        improved = False
        if free.any():
            base = point.copy()

            def negative(x: np.ndarray, base: np.ndarray = base) -> tuple[float, np.ndarray]:
                base[free] = x
                log_ei, gradient = gp.log_expected_improvement_and_gradient(base, free)
                return -log_ei, -gradient

            found = optimize.minimize(
                negative,
                point[free],
                jac=True,
                method="L-BFGS-B",
                bounds=[(0.0, 1.0)] * int(free.sum()),
                options={"maxiter": 100},
            )
            moved = point.copy()
            moved[free] = found.x
            moved_value = float(score(moved[None, :])[0])  # -inf if it landed on a trial
            if moved_value > value + 1e-9:
                point, value, improved = moved, moved_value, True
        neighbours = box.neighbours(point)
        if len(neighbours):
            scores = score(neighbours)
            best = int(np.argmax(scores))
            if scores[best] > value + 1e-9:
                point, value, improved = neighbours[best], float(scores[best]), True
        if not improved:
            break
    return point, value

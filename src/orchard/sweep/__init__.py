"""Sweep jobs, as azure.ai.ml.sweep has them: the search-space distributions, sampling
algorithms, early-termination policies and the SweepJob itself, importable from here.

    from orchard.sweep import Choice, Uniform, BanditPolicy

The modules below hold the logic: `sampling` (the next trial's hyperparameters: grid,
random or Sobol, Bayesian), `random_draws` (a distribution's values from uniform draws),
`gaussian_process` (the model and expected-improvement search of Bayesian sampling) and
`termination` (which running trials a policy stops). The sweep's runner is in
`orchard.agent.sweep`.
"""

from orchard.entities.early_termination import (
    BanditPolicy,
    MedianStoppingPolicy,
    TruncationSelectionPolicy,
)
from orchard.entities.search_space import (
    BayesianSamplingAlgorithm,
    Choice,
    GridSamplingAlgorithm,
    LogNormal,
    LogUniform,
    Normal,
    QLogNormal,
    QLogUniform,
    QNormal,
    QUniform,
    Randint,
    RandomSamplingAlgorithm,
    Uniform,
)
from orchard.entities.sweep import Objective, SweepJob, SweepLimits

SweepJobLimits = SweepLimits  # azure.ai.ml's name

__all__ = [
    "BanditPolicy",
    "BayesianSamplingAlgorithm",
    "Choice",
    "GridSamplingAlgorithm",
    "LogNormal",
    "LogUniform",
    "MedianStoppingPolicy",
    "Normal",
    "Objective",
    "QLogNormal",
    "QLogUniform",
    "QNormal",
    "QUniform",
    "Randint",
    "RandomSamplingAlgorithm",
    "SweepJob",
    "SweepJobLimits",
    "SweepLimits",
    "TruncationSelectionPolicy",
    "Uniform",
]

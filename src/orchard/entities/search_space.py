"""Sweep search spaces and sampling algorithms, in Azure ML v2's YAML shape.

A search space maps each hyperparameter to a distribution, written in YAML as
``{type: uniform, min_value: 0.1, max_value: 1.0}``; the class names are the azure-ai-ml
SDK's (``azure.ai.ml.sweep``). The log distributions take *exponents*: ``loguniform(-6, -1)``
draws ``exp(uniform(-6, -1))``, as Azure documents. Sampling itself lives in
``orchard.sweep.sampling``; these are only the shapes and their range checks.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, field_validator, model_validator

from orchard.entities.base import Entity

# Finite numbers only: an `.inf` bound in YAML would make every sample meaningless.
Number = Annotated[float, Field(allow_inf_nan=False)]
Step = Annotated[int | float, Field(gt=0, allow_inf_nan=False)]
Sigma = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Bounded(Entity):
    """A distribution over [min_value, max_value] (exponents, for the log ones)."""

    min_value: Number
    max_value: Number

    @model_validator(mode="after")
    def _check_range(self) -> _Bounded:
        if not self.min_value < self.max_value:
            raise ValueError(
                f"max_value ({self.max_value}) must be greater than min_value ({self.min_value})"
            )
        return self


class Choice(Entity):
    type: Literal["choice"] = "choice"
    # Any YAML value; Azure also allows mappings here (nested spaces), kept as plain values.
    values: list[Any] = Field(min_length=1)

    def __init__(self, values: Any = None, **data: Any) -> None:
        # azure.ai.ml writes `Choice(["rbf", "linear"])` as often as `Choice(values=...)`.
        super().__init__(**({"values": values} if values is not None else {}), **data)

    @field_validator("values", mode="before")
    @classmethod
    def _range_to_list(cls, value: Any) -> Any:
        # The SDK accepts `Choice(values=range(...))`; YAML only ever gives a list.
        return list(value) if isinstance(value, range | tuple) else value


class Randint(Entity):
    """An integer in [0, upper)."""

    type: Literal["randint"] = "randint"
    upper: int = Field(ge=1)


class Uniform(_Bounded):
    type: Literal["uniform"] = "uniform"


class QUniform(_Bounded):
    """round(uniform(min_value, max_value) / q) * q."""

    type: Literal["quniform"] = "quniform"
    q: Step


class LogUniform(_Bounded):
    """exp(uniform(min_value, max_value)): min_value and max_value are exponents."""

    type: Literal["loguniform"] = "loguniform"


class QLogUniform(_Bounded):
    """round(exp(uniform(min_value, max_value)) / q) * q."""

    type: Literal["qloguniform"] = "qloguniform"
    q: Step


class Normal(Entity):
    type: Literal["normal"] = "normal"
    mu: Number
    sigma: Sigma


class QNormal(Entity):
    """round(normal(mu, sigma) / q) * q."""

    type: Literal["qnormal"] = "qnormal"
    mu: Number
    sigma: Sigma
    q: Step


class LogNormal(Entity):
    """exp(normal(mu, sigma))."""

    type: Literal["lognormal"] = "lognormal"
    mu: Number
    sigma: Sigma


class QLogNormal(Entity):
    """round(exp(normal(mu, sigma)) / q) * q."""

    type: Literal["qlognormal"] = "qlognormal"
    mu: Number
    sigma: Sigma
    q: Step


def _tagged(kind: str, tags: tuple[str, ...]) -> BeforeValidator:
    """Normalise the `type` tag before the discriminated union reads it."""

    def normalise(value: Any) -> Any:
        # Azure's schema lower-cases enum strings, so `type: Uniform` and `sampling_algorithm:
        # Random` load there; a bare name is shorthand for `{type: name}`.
        if isinstance(value, str):
            return {"type": value.strip().lower()}
        if isinstance(value, dict):
            if "type" not in value:
                raise ValueError(f"a {kind} needs a 'type': one of {', '.join(tags)}")
            if isinstance(value["type"], str):
                return {**value, "type": value["type"].strip().lower()}
        return value

    return BeforeValidator(normalise)


_Distributions = (
    Choice
    | Randint
    | Uniform
    | QUniform
    | LogUniform
    | QLogUniform
    | Normal
    | QNormal
    | LogNormal
    | QLogNormal
)
# An unknown `type` fails with pydantic's union_tag_invalid, which lists every allowed tag.
DISTRIBUTION_TYPES = tuple(cls.model_fields["type"].default for cls in _Distributions.__args__)
Distribution = Annotated[
    Annotated[_Distributions, Field(discriminator="type")],
    _tagged("distribution", DISTRIBUTION_TYPES),
]
SearchSpace = dict[str, Distribution]

QUANTIZED = (QUniform, QLogUniform, QNormal, QLogNormal)
LOG_SCALE = (LogUniform, QLogUniform, LogNormal, QLogNormal)


class RandomSamplingAlgorithm(Entity):
    type: Literal["random"] = "random"
    seed: int | None = None
    rule: Literal["random", "sobol"] = "random"
    # The base of the log distributions: a positive number, or "e" (the default).
    logbase: str | float | None = None

    @field_validator("rule", mode="before")
    @classmethod
    def _lower_rule(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("logbase")
    @classmethod
    def _check_logbase(cls, value: str | float | None) -> str | float | None:
        if value is not None:
            log_base(value)
        return value


class GridSamplingAlgorithm(Entity):
    type: Literal["grid"] = "grid"


class BayesianSamplingAlgorithm(Entity):
    type: Literal["bayesian"] = "bayesian"


SamplingAlgorithm = Annotated[
    Annotated[
        RandomSamplingAlgorithm | GridSamplingAlgorithm | BayesianSamplingAlgorithm,
        Field(discriminator="type"),
    ],
    _tagged("sampling algorithm", ("random", "grid", "bayesian")),
]
_SAMPLING_ALGORITHM: TypeAdapter[SamplingAlgorithm] = TypeAdapter(SamplingAlgorithm)


def sampling_algorithm(value: str | dict[str, Any] | SamplingAlgorithm) -> SamplingAlgorithm:
    """`random`, `{type: random, seed: 1, rule: sobol}` or an entity, as an entity.

    Raises pydantic's ValidationError, so it also works as a BeforeValidator (pydantic
    re-locates the errors under the field that called it).
    """
    return _SAMPLING_ALGORITHM.validate_python(value)


def log_base(value: str | float | None) -> float:
    """The numeric base `logbase` names; raises ValueError for anything but e or a number > 0."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "e"):
        return math.e
    try:
        base = float(value)
    except ValueError:
        raise ValueError(f"logbase must be a positive number or 'e', not {value!r}") from None
    if not (base > 0 and base != 1 and base < float("inf")):
        raise ValueError(f"logbase must be a positive number other than 1, not {value!r}")
    return base

"""Sweep search spaces and sampling algorithms, loaded from Azure ML's YAML shapes."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
import yaml
from pydantic import TypeAdapter

from orchard.entities.search_space import (
    DISTRIBUTION_TYPES,
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
    SearchSpace,
    Uniform,
    log_base,
    sampling_algorithm,
)

SPACE: TypeAdapter[SearchSpace] = TypeAdapter(SearchSpace)

AZURE_YAML = """
search_space:
  kernel: {type: choice, values: [linear, rbf, poly]}
  depth: {type: randint, upper: 10}
  lr: {type: uniform, min_value: 0.001, max_value: 0.1}
  batch: {type: quniform, min_value: 16, max_value: 128, q: 16}
  decay: {type: loguniform, min_value: -6, max_value: -1}
  width: {type: qloguniform, min_value: 1, max_value: 5, q: 2}
  momentum: {type: normal, mu: 0.9, sigma: 0.05}
  units: {type: qnormal, mu: 64, sigma: 8, q: 4}
  scale: {type: lognormal, mu: 0, sigma: 1}
  drop: {type: qlognormal, mu: -2, sigma: 0.5, q: 0.05}
"""


def errors_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(pydantic.ValidationError) as caught:
        SPACE.validate_python(body)
    return [dict(e) for e in caught.value.errors()]


def test_azure_yaml_loads_into_the_sdk_classes() -> None:
    space = SPACE.validate_python(yaml.safe_load(AZURE_YAML)["search_space"])
    assert {name: type(dist) for name, dist in space.items()} == {
        "kernel": Choice,
        "depth": Randint,
        "lr": Uniform,
        "batch": QUniform,
        "decay": LogUniform,
        "width": QLogUniform,
        "momentum": Normal,
        "units": QNormal,
        "scale": LogNormal,
        "drop": QLogNormal,
    }
    assert space["kernel"] == Choice(values=["linear", "rbf", "poly"])
    assert space["decay"] == LogUniform(min_value=-6, max_value=-1)
    assert space["drop"] == QLogNormal(mu=-2, sigma=0.5, q=0.05)


def test_every_distribution_round_trips_through_its_dump() -> None:
    space = SPACE.validate_python(yaml.safe_load(AZURE_YAML)["search_space"])
    dumped = SPACE.dump_python(space, mode="json")
    assert SPACE.validate_python(dumped) == space
    assert dumped["batch"] == {"type": "quniform", "min_value": 16.0, "max_value": 128.0, "q": 16}


def test_type_is_read_case_insensitively_as_azure_does() -> None:
    space = SPACE.validate_python({"lr": {"type": "Uniform", "min_value": 0, "max_value": 1}})
    assert isinstance(space["lr"], Uniform)


def test_an_unknown_type_names_every_allowed_type() -> None:
    (error,) = errors_of({"lr": {"type": "gaussian", "mu": 0, "sigma": 1}})
    assert error["loc"] == ("lr",)
    assert "'gaussian'" in error["msg"]
    for tag in DISTRIBUTION_TYPES:
        assert f"'{tag}'" in error["msg"]


def test_a_missing_type_names_the_allowed_types() -> None:
    (error,) = errors_of({"lr": {"min_value": 0, "max_value": 1}})
    assert "needs a 'type'" in error["msg"]
    assert "qlognormal" in error["msg"]


def test_a_misspelt_field_is_named_as_unknown_and_its_intended_one_as_missing() -> None:
    errors = errors_of({"lr": {"type": "uniform", "min_value": 0, "max_valu": 1}})
    assert {(e["loc"], e["type"]) for e in errors} == {
        (("lr", "uniform", "max_valu"), "extra_forbidden"),
        (("lr", "uniform", "max_value"), "missing"),
    }


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"type": "uniform", "min_value": 1, "max_value": 1}, None, "max_value"),
        ({"type": "loguniform", "min_value": -1, "max_value": -6}, None, "max_value"),
        ({"type": "quniform", "min_value": 0, "max_value": 9, "q": 0}, "q", "greater than 0"),
        ({"type": "qlognormal", "mu": 0, "sigma": 1, "q": -1}, "q", "greater than 0"),
        ({"type": "normal", "mu": 0, "sigma": 0}, "sigma", "greater than 0"),
        ({"type": "lognormal", "mu": 0, "sigma": -2}, "sigma", "greater than 0"),
        ({"type": "randint", "upper": 0}, "upper", "greater than or equal to 1"),
        ({"type": "choice", "values": []}, "values", "at least 1 item"),
        ({"type": "uniform", "min_value": float("-inf"), "max_value": 1}, "min_value", "finite"),
    ],
)
def test_bad_ranges_name_the_field(body: dict[str, Any], field: str | None, words: str) -> None:
    (error,) = errors_of({"p": body})
    assert error["loc"][:2] == ("p", body["type"])
    if field is not None:
        assert error["loc"][2:] == (field,)
    assert words in error["msg"]


def test_range_errors_say_which_bound_is_which() -> None:
    (error,) = errors_of({"p": {"type": "uniform", "min_value": 2, "max_value": 1}})
    assert "max_value (1.0) must be greater than min_value (2.0)" in error["msg"]


def test_an_integral_q_stays_an_int_and_a_fractional_one_a_float() -> None:
    space = SPACE.validate_python(
        {
            "a": {"type": "quniform", "min_value": 0, "max_value": 9, "q": 3},
            "b": {"type": "quniform", "min_value": 0, "max_value": 1, "q": 0.25},
        }
    )
    assert isinstance(space["a"], QUniform) and type(space["a"].q) is int
    assert isinstance(space["b"], QUniform) and type(space["b"].q) is float


def test_choice_accepts_any_values_and_an_sdk_range() -> None:
    assert Choice(values=range(3)).values == [0, 1, 2]
    nested = Choice(values=[{"space1": True}, None, 1.5, "x"])
    assert nested.values[0] == {"space1": True}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("random", RandomSamplingAlgorithm()),
        ("Random", RandomSamplingAlgorithm()),
        ("grid", GridSamplingAlgorithm()),
        ("bayesian", BayesianSamplingAlgorithm()),
        (
            {"type": "random", "seed": 1, "rule": "sobol"},
            RandomSamplingAlgorithm(seed=1, rule="sobol"),
        ),
        ({"type": "Random", "rule": "Sobol"}, RandomSamplingAlgorithm(rule="sobol")),
        ({"type": "random", "logbase": "e"}, RandomSamplingAlgorithm(logbase="e")),
        ({"type": "grid"}, GridSamplingAlgorithm()),
        (BayesianSamplingAlgorithm(), BayesianSamplingAlgorithm()),
    ],
)
def test_sampling_algorithm_reads_a_name_or_a_mapping(written: Any, expected: Any) -> None:
    assert sampling_algorithm(written) == expected


def test_random_defaults_match_the_sdk() -> None:
    algorithm = sampling_algorithm("random")
    assert isinstance(algorithm, RandomSamplingAlgorithm)
    assert (algorithm.seed, algorithm.rule, algorithm.logbase) == (None, "random", None)


@pytest.mark.parametrize(
    ("written", "loc", "words"),
    [
        ("hyperband", (), "'random', 'grid', 'bayesian'"),
        ({"seed": 1}, (), "needs a 'type'"),
        ({"type": "random", "rule": "halton"}, ("random", "rule"), "'random' or 'sobol'"),
        ({"type": "random", "seed": "abc"}, ("random", "seed"), "valid integer"),
        ({"type": "random", "logbase": -2}, ("random", "logbase"), "positive number"),
        ({"type": "random", "logbase": "ten"}, ("random", "logbase"), "positive number or 'e'"),
        ({"type": "grid", "seed": 1}, ("grid", "seed"), "Extra inputs"),
    ],
)
def test_bad_sampling_algorithms_are_named(written: Any, loc: tuple[str, ...], words: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        sampling_algorithm(written)
    (error,) = caught.value.errors()
    assert error["loc"] == loc
    assert words in error["msg"]


def test_sampling_algorithm_works_as_a_field_validator() -> None:
    # The sweep job entity calls it as a BeforeValidator; errors must land under its field.
    from typing import Annotated

    from pydantic import BaseModel, BeforeValidator

    from orchard.entities.search_space import SamplingAlgorithm

    class Holder(BaseModel):
        algorithm: Annotated[SamplingAlgorithm, BeforeValidator(sampling_algorithm)]

    assert Holder(algorithm="grid").algorithm == GridSamplingAlgorithm()
    with pytest.raises(pydantic.ValidationError) as caught:
        Holder(algorithm={"type": "random", "sed": 1})
    (error,) = caught.value.errors()
    assert (error["loc"], error["type"]) == (("algorithm", "random", "sed"), "extra_forbidden")


@pytest.mark.parametrize(
    ("written", "base"), [(None, 2.718281828459045), ("e", 2.718281828459045), (10, 10.0)]
)
def test_log_base(written: str | float | None, base: float) -> None:
    assert log_base(written) == pytest.approx(base)
    assert log_base("2") == 2.0
